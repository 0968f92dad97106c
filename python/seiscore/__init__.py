"""seiscore: continuous seismic waveforms to earthquake catalogs and noise correlations.

Pipeline (one module per stage)::

    waveforms ─► picking ─► association ─► location ─► catalog (QuakeML / CSV)
              └─► correlation ─► cross-correlation functions (xarray)

The compiled core (``seiscore._core``, C++ with OpenMP) does the heavy lifting; the optional
``seiscore._cuda`` extension runs the GPU twins. ``seiscore.build_info()`` says what this
installation has.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("seiscore")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"

from ._backend import build_info, cuda_available  # noqa: E402
from .exceptions import BackendUnavailable, ConfigError, InputError, SeiscoreError  # noqa: E402

__all__ = [
    "BackendUnavailable",
    "ConfigError",
    "InputError",
    "SeiscoreError",
    "__version__",
    "build_info",
    "cuda_available",
]
