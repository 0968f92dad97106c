"""`seiscore` command line: run."""

from __future__ import annotations

import argparse
import sys

from ._common import _dask_client


def _add_run_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "config", nargs="?", metavar="CONFIG", help="TOML configuration (see --print-config)"
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDR",
        help="Dask scheduler address (tcp://...) for the picking tasks",
    )
    p.add_argument(
        "--print-config", action="store_true", help="print every setting with its default, as TOML"
    )
    p.add_argument(
        "--null-test",
        action="store_true",
        help="always run the association null test (default: association.null_test, 'auto')",
    )
    p.add_argument(
        "--plot-events",
        action="store_true",
        help="also draw a record section per event into OUTPUT/events/ (output.plot_events)",
    )
    p.set_defaults(func=_cmd_run)


def _cmd_run(args: argparse.Namespace) -> int:
    from ..exceptions import ConfigError
    from ..workflow import config as wcfg

    if args.print_config:
        print(wcfg.dumps(wcfg.load(args.config) if args.config else None), end="")
        return 0
    if not args.config:
        raise ConfigError("no CONFIG given (write one from: seiscore run --print-config)")
    from ..workflow import pipeline

    client = None
    if args.scheduler:
        client = _dask_client(args.scheduler)
    config = args.config
    if args.null_test or args.plot_events:  # the file's settings (paths resolved), unset keys
        loaded = wcfg.load(args.config)  # left out, plus the options given here
        config = {s: {k: v for k, v in t.items() if v is not None} for s, t in loaded.items()}
        if args.null_test:
            config["association"]["null_test"] = True
        if args.plot_events:
            config["output"]["plot_events"] = True
    try:
        result = pipeline.run(config, client=client)
    finally:
        if client is not None:
            client.close()
    for msg in result.messages:
        print(f"note: {msg}", file=sys.stderr)
    print(pipeline.format_summary(result.summary))
    print("-> " + ", ".join(str(p) for p in result.outputs))
    return 0


def _add_demo_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "folder",
        nargs="?",
        default="seiscore_demo",
        help="folder to write into (default: seiscore_demo)",
    )
    p.add_argument("--events", type=int, default=6, help="number of synthetic events (default 6)")
    p.add_argument("--duration", type=float, default=180.0, help="record length, s (default 180)")
    p.add_argument("--seed", type=int, default=7, help="random seed of the scenario")
    p.set_defaults(func=_cmd_demo)


def _cmd_demo(args: argparse.Namespace) -> int:
    from ..workflow.demo import run_demo

    run_demo(args.folder, seed=args.seed, n_events=args.events, duration_s=args.duration)
    return 0
