"""The ``seiscore`` command: thin argparse dispatch; the work happens in the library."""

from __future__ import annotations

import argparse
import json
import sys

from .exceptions import SeiscoreError


def _cmd_info(args: argparse.Namespace) -> int:
    from ._backend import build_info

    info = build_info()
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return 0
    print(f"seiscore {info['package_version']} (core {info['version']})")
    print(f"  python        {info['python']}, numpy {info['numpy']}")
    print(f"  compiler      {info['compiler']} ({info['build_type']})")
    omp = f"yes (OpenMP {info['openmp_version']})" if info["openmp"] else "no (std::thread)"
    print(f"  openmp        {omp}, {info['max_threads']} threads")
    if info["cuda_built"]:
        rt = info["cuda_runtime_version"]
        print(f"  cuda built    yes (runtime {rt // 1000}.{(rt % 1000) // 10})")
    else:
        print("  cuda built    no")
    if info["cuda_device_available"]:
        for d in info["cuda_devices"]:
            cc = ".".join(map(str, d["compute_capability"]))
            gib = d["total_memory"] / 2**30
            print(f"  cuda device   {d['index']}: {d['name']} (sm {cc}, {gib:.0f} GiB)")
    else:
        print("  cuda device   none available")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="seiscore",
        description="Continuous seismic data to earthquake catalogs and noise correlations.",
    )
    parser.add_argument("--version", action="version", version=f"seiscore {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("info", help="version, compiler, OpenMP and CUDA of this installation")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_cmd_info)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args))
    except SeiscoreError as exc:
        print(f"seiscore {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
