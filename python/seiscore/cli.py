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


def _add_pick_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("inputs", nargs="*", metavar="INPUT",
                   help="waveform files or folders (walked for .mseed/.sac/...), or an SDS root with --sds")
    p.add_argument("-o", "--output", help="picks CSV to write (default with --demo: demo_picks.csv)")
    p.add_argument("--demo", action="store_true",
                   help="pick the bundled demo records (12 real NCEDC windows) and compare with the analysts' picks")
    p.add_argument("--quakeml", help="also write the picks as QuakeML to this path")
    p.add_argument("--model", default="phasenet",
                   help="bundled model name or path of an .onnx file (default: phasenet)")
    p.add_argument("--card", help="model card JSON (default: the .json beside the .onnx)")
    p.add_argument("--sds", action="store_true", help="INPUT is an SDS archive root (needs --start/--end)")
    p.add_argument("--start", help="start time (UTC, ISO 8601)")
    p.add_argument("--end", help="end time (UTC, ISO 8601)")
    p.add_argument("--p-threshold", type=float, help="P probability threshold (default: model card)")
    p.add_argument("--s-threshold", type=float, help="S probability threshold (default: model card)")
    p.add_argument("--min-distance", type=float, help="seconds between picks of one phase (default: card)")
    p.add_argument("--method", choices=["peaks", "trigger"], default="peaks",
                   help="peaks with non-maximum suppression, or a hysteresis trigger")
    p.add_argument("--device", choices=["cpu", "cuda", "auto"], default="cpu")
    p.add_argument("--batch-size", type=int, default=64, help="windows per inference call")
    p.add_argument("--threads", type=int, help="ONNX Runtime threads (default: all cores)")
    p.add_argument("--plot", metavar="DIR", help="write a PNG per station-day into DIR")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_pick)


def _cmd_pick(args: argparse.Namespace) -> int:
    from .exceptions import ConfigError
    from .workflow.pick import DEMO_DIR, compare_with_manual, run_pick_job

    if args.demo:
        if args.inputs:
            raise ConfigError("--demo picks the bundled records; give no INPUT")
        args.inputs = [str(DEMO_DIR)]
        args.output = args.output or "demo_picks.csv"
    if not args.inputs:
        raise ConfigError("no INPUT given (files, folders, an SDS root with --sds, or --demo)")
    if not args.output:
        raise ConfigError("the output file is required: -o picks.csv")
    height = {}
    if args.p_threshold is not None:
        height["P"] = args.p_threshold
    if args.s_threshold is not None:
        height["S"] = args.s_threshold
    result = run_pick_job(
        args.inputs,
        args.output,
        model=args.model,
        card=args.card,
        sds=args.sds,
        starttime=args.start,
        endtime=args.end,
        height=height or None,
        distance_s=args.min_distance,
        method=args.method,
        batch_size=args.batch_size,
        device=args.device,
        threads=args.threads,
        plot_dir=args.plot,
        quakeml=args.quakeml,
        progress=not args.quiet,
    )
    for msg in result.messages:
        print(f"note: {msg}", file=sys.stderr)
    for err in result.errors:
        print(f"error: {err}", file=sys.stderr)
    n_p = int((result.picks.phase == "P").sum())
    n_s = int((result.picks.phase == "S").sum())
    print(f"{len(result.picks)} picks ({n_p} P, {n_s} S) from {result.station_days} station-days "
          f"-> {', '.join(str(p) for p in result.outputs[:2])}")
    if args.demo:
        cmp = compare_with_manual(result.picks, DEMO_DIR / "manual_picks.csv")
        print("\nautomatic vs analysts' picks (error in s; NaN: none within 0.5 s):")
        print(cmp.to_string(index=False, float_format=lambda v: f"{v:+.3f}"))
        for phase in ("P", "S"):
            sub = cmp[cmp.phase == phase]
            found = sub.error_s.notna()
            print(f"{phase}: {int(found.sum())}/{len(sub)} found, median |error| "
                  f"{sub.error_s[found].abs().median():.3f} s")
    return 1 if result.errors else 0


def pick_main(argv: list[str] | None = None) -> int:
    """Entry point of ``seiscore-pick``."""
    parser = argparse.ArgumentParser(
        prog="seiscore-pick", description="Pick P and S phases on continuous waveforms."
    )
    _add_pick_arguments(parser)
    return _dispatch(parser, argv)


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
    _add_pick_arguments(sub.add_parser("pick", help="pick P and S phases (same as seiscore-pick)"))
    return parser


def main(argv: list[str] | None = None) -> int:
    return _dispatch(build_parser(), argv)


def _dispatch(parser: argparse.ArgumentParser, argv: list[str] | None) -> int:
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args))
    except SeiscoreError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
