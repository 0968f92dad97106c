"""The ``seiscore`` command line: thin argparse dispatch; the work happens in the library.

One module per command (``pick``, ``associate``, ``locate``, ``correlate``, ``run`` and
``demo``, ``magnitude``, ``info``), each holding its arguments and the call into its job in
:mod:`seiscore.workflow`; :mod:`.parser` assembles the ``seiscore`` umbrella command. Entry
points: :func:`main` (``seiscore``), :func:`pick_main` (``seiscore-pick``) and
:func:`locate_main` (``seiscore-locate``). Bad input or settings exit with 2, a run in which
some files or stations failed with 1, Ctrl-C with 130; no traceback reaches the terminal.
"""

from __future__ import annotations

from .locate import locate_main
from .parser import build_parser, main
from .pick import pick_main

__all__ = ["build_parser", "locate_main", "main", "pick_main"]
