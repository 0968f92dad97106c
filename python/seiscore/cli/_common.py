"""`seiscore` command line: _common."""

from __future__ import annotations

import argparse
import sys

from ..exceptions import SeiscoreError


def _probability(text: str) -> float:
    """argparse type: a number in [0, 1] (argparse names the option in its error)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"a probability must lie in [0, 1], got {text}")
    return value


def _dask_client(address: str):
    """A ``dask.distributed.Client`` on ``address``, or ConfigError naming the option."""
    from ..exceptions import ConfigError

    try:
        from dask.distributed import Client
    except ImportError:
        raise ConfigError(
            "--scheduler: Dask is not installed (pip install 'seiscore[dask]')"
        ) from None
    try:
        return Client(address, timeout="20s")
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        raise ConfigError(
            f"--scheduler: cannot connect to the Dask scheduler at {address!r} "
            f"({type(exc).__name__}: {exc})"
        ) from None


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Help that shows every option's default (unless its help already says it, or it has
    none: flags and options that are "not set" by default)."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text or action.default in (None, False, argparse.SUPPRESS):
            return text
        if not action.option_strings:
            return text
        return f"{text} (default: %(default)s)"


def all_parsers(parser: argparse.ArgumentParser):
    """``parser`` and its subcommands' parsers, recursively."""
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from all_parsers(sub)


def _dispatch(parser: argparse.ArgumentParser, argv: list[str] | None) -> int:
    for p in all_parsers(parser):
        p.formatter_class = HelpFormatter
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args))
    except SeiscoreError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # a file system error no job turned into a message: still no traceback
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"{parser.prog}: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            f"{parser.prog}: interrupted (files already written are complete; a rerun of "
            "'seiscore run' continues from the finished station-days)",
            file=sys.stderr,
        )
        return 130
