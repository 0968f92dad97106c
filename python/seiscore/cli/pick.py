"""`seiscore` command line: pick."""

from __future__ import annotations

import argparse
import sys

from ._common import _dispatch, _probability


def _add_pick_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "inputs",
        nargs="*",
        metavar="INPUT",
        help="waveform files or folders (walked for .mseed/.sac/...), or an SDS root with --sds",
    )
    p.add_argument(
        "-o", "--output", help="picks CSV to write (default with --demo: demo_picks.csv)"
    )
    p.add_argument(
        "--demo",
        action="store_true",
        help="pick the bundled demo records (12 real NCEDC windows) and compare with the "
        "analysts' picks",
    )
    p.add_argument("--quakeml", help="also write the picks as QuakeML to this path")
    p.add_argument(
        "--model",
        default="phasenet",
        help="bundled model name or path of an .onnx file (default: phasenet)",
    )
    p.add_argument("--card", help="model card JSON (default: the .json beside the .onnx)")
    p.add_argument(
        "--sds", action="store_true", help="INPUT is an SDS archive root (needs --start/--end)"
    )
    p.add_argument("--start", help="start time (UTC, ISO 8601)")
    p.add_argument("--end", help="end time (UTC, ISO 8601)")
    p.add_argument(
        "--p-threshold", type=_probability, help="P probability threshold (default: model card)"
    )
    p.add_argument(
        "--s-threshold", type=_probability, help="S probability threshold (default: model card)"
    )
    p.add_argument(
        "--min-distance", type=float, help="seconds between picks of one phase (default: card)"
    )
    p.add_argument(
        "--method",
        choices=["peaks", "trigger"],
        default="peaks",
        help="peaks with non-maximum suppression, or a hysteresis trigger",
    )
    p.add_argument(
        "--heads",
        metavar="LIST",
        help="per P pick, SeisT estimates as columns of the picks table: any of polarity, "
        "magnitude, baz, distance (comma-separated), or all",
    )
    p.add_argument(
        "--device",
        choices=["cpu", "cuda", "auto"],
        default="cpu",
        help="ONNX Runtime provider (cuda needs onnxruntime-gpu)",
    )
    p.add_argument(
        "--batch-size",
        type=int,
        help="windows per inference call (default: 8 on the CPU, 256 on a GPU)",
    )
    p.add_argument(
        "--fast",
        action="store_true",
        help="run the model's INT8 variant (phasenet_int8, in ONNX Runtime): an experiment; "
        "about a quarter of its picks move by more than one sample and it is no faster than "
        "the default (see bench/RESULTS.md)",
    )
    p.add_argument(
        "--engine",
        choices=["auto", "native", "onnxruntime"],
        default="auto",
        help="who runs the model on the CPU: seiscore's C++ kernel for convolutional pickers "
        "such as PhaseNet (native), ONNX Runtime, or the first that can (auto); same result",
    )
    p.add_argument("--threads", type=int, help="inference threads (default: all cores)")
    p.add_argument("--plot", metavar="DIR", help="write a PNG per station-day into DIR")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_pick)


def _cmd_pick(args: argparse.Namespace) -> int:
    from ..exceptions import ConfigError
    from ..workflow.pick import DEMO_DIR, compare_with_manual, run_pick_job

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
        precision="int8" if args.fast else None,
        engine=args.engine,
        plot_dir=args.plot,
        quakeml=args.quakeml,
        progress=not args.quiet,
        heads=args.heads,
    )
    for msg in result.messages:
        print(f"note: {msg}", file=sys.stderr)
    for err in result.errors:
        print(f"error: {err}", file=sys.stderr)
    n_p = int((result.picks.phase == "P").sum())
    n_s = int((result.picks.phase == "S").sum())
    print(
        f"{len(result.picks)} picks ({n_p} P, {n_s} S) from {result.station_days} station-days "
        f"-> {', '.join(str(p) for p in result.outputs[:2])}"
    )
    if args.demo:
        cmp = compare_with_manual(result.picks, DEMO_DIR / "manual_picks.csv")
        print("\nautomatic vs analysts' picks (error in s; NaN: none within 0.5 s):")
        print(cmp.to_string(index=False, float_format=lambda v: f"{v:+.3f}"))
        for phase in ("P", "S"):
            sub = cmp[cmp.phase == phase]
            found = sub.error_s.notna()
            print(
                f"{phase}: {int(found.sum())}/{len(sub)} found, median |error| "
                f"{sub.error_s[found].abs().median():.3f} s"
            )
    return 1 if result.errors else 0


def pick_main(argv: list[str] | None = None) -> int:
    """Entry point of ``seiscore-pick``."""
    parser = argparse.ArgumentParser(
        prog="seiscore-pick", description="Pick P and S phases on continuous waveforms."
    )
    _add_pick_arguments(parser)
    return _dispatch(parser, argv)
