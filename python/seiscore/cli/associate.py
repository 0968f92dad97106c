"""`seiscore` command line: associate."""

from __future__ import annotations

import argparse
import sys


def _add_associate_arguments(p: argparse.ArgumentParser) -> None:
    # long function: one add_argument per option, a flat list that reads like --help
    p.add_argument("picks", metavar="PICKS", help="picks CSV (as seiscore-pick writes it)")
    p.add_argument(
        "--stations",
        required=True,
        help="station file: StationXML, CSV (network,station,latitude,longitude,"
        "elevation), REAL station.dat",
    )
    p.add_argument("--model", help="1-D velocity model file (.nd, VELEST .mod, CSV depth,vp,vs)")
    p.add_argument("--vp", type=float, help="homogeneous model (no --model): P velocity, km/s")
    p.add_argument("--vs", type=float, help="homogeneous model (no --model): S velocity, km/s")
    p.add_argument("-o", "--output", required=True, help="events CSV to write")
    p.add_argument(
        "--method",
        choices=["grid", "phaselink"],
        default="grid",
        help="grid: the grid search (default); phaselink: a trained PhaseLink linker (--linker)",
    )
    p.add_argument(
        "--linker",
        metavar="ONNX",
        help="PhaseLink linker for --method phaselink (seiscore train-associator writes it, "
        "its .json card beside it)",
    )
    p.add_argument(
        "--picks-out", help="picks with event_id and residual_s (default: <output>_picks.csv)"
    )
    p.add_argument(
        "--xlim",
        type=float,
        nargs=2,
        metavar=("MIN", "MAX"),
        help="search x range, km (default: stations + 10%%; phaselink: the linker's)",
    )
    p.add_argument("--ylim", type=float, nargs=2, metavar=("MIN", "MAX"), help="search y range, km")
    p.add_argument(
        "--zlim",
        type=float,
        nargs=2,
        metavar=("MIN", "MAX"),
        help="search depth range, km below sea level (default: 0 40; phaselink: the linker's)",
    )
    p.add_argument(
        "--reference",
        type=float,
        nargs=2,
        metavar=("LAT", "LON"),
        help="projection centre (default: stations' mean)",
    )
    p.add_argument(
        "--tolerance", type=float, default=1.0, help="pick time tolerance, s (default: 1.0)"
    )
    p.add_argument(
        "--tolerance-fraction",
        type=float,
        default=0.0,
        help="plus this fraction of the travel time (default: 0)",
    )
    p.add_argument(
        "--max-distance", type=float, help="only stations within this distance of an event, km"
    )
    p.add_argument(
        "--min-pick-fraction",
        type=float,
        default=0.25,
        help="distance criterion: drop far picks beyond where fewer stations had picks "
        "(0: off; default 0.25)",
    )
    p.add_argument("--min-picks", type=int, default=8, help="picks per event (default: 8)")
    p.add_argument("--min-p", type=int, default=3, help="P picks per event (default: 3)")
    p.add_argument("--min-s", type=int, default=2, help="S picks per event (default: 2)")
    p.add_argument(
        "--min-p-and-s", type=int, default=2, help="stations with both P and S (default: 2)"
    )
    p.add_argument("--max-rms", type=float, help="largest RMS residual of an event, s")
    p.add_argument(
        "--min-significance",
        type=float,
        help="least -log10 chance probability of an event's picks (default: the package's; 0: off)",
    )
    p.add_argument(
        "--null-test",
        type=int,
        nargs="?",
        const=3,
        metavar="REPEATS",
        help="also associate station-shifted copies of the picks and report the false-event rate "
        "(default 3 repeats)",
    )
    p.add_argument(
        "--cell", type=float, help="coarse search cell, km (default: extent / 24, 3-20 km)"
    )
    p.add_argument(
        "--use-probability", action="store_true", help="weight picks by their probability"
    )
    p.add_argument(
        "--unknown-stations",
        choices=["raise", "skip"],
        default="raise",
        help="picks at stations missing from --stations: error (default) or leave unassociated",
    )
    p.add_argument("--threads", type=int, help="threads (default: all cores)")
    p.set_defaults(func=_cmd_associate)


def _cmd_associate(args: argparse.Namespace) -> int:
    from ..association import DEFAULT_ZLIM
    from ..exceptions import ConfigError
    from ..workflow.associate import run_associate_job

    if args.linker is not None and args.method != "phaselink":
        raise ConfigError("--linker is used only with --method phaselink")
    zlim = tuple(args.zlim) if args.zlim else (DEFAULT_ZLIM if args.method == "grid" else None)
    job = run_associate_job(
        args.picks,
        args.stations,
        args.output,
        model=args.model,
        vp=args.vp,
        vs=args.vs,
        picks_output=args.picks_out,
        method=args.method,
        linker=args.linker,
        xlim=args.xlim,
        ylim=args.ylim,
        zlim=zlim,
        reference=args.reference,
        tolerance_s=args.tolerance,
        tolerance_fraction=args.tolerance_fraction,
        max_distance_km=args.max_distance,
        min_pick_fraction=args.min_pick_fraction,
        min_picks=args.min_picks,
        min_p=args.min_p,
        min_s=args.min_s,
        min_p_and_s=args.min_p_and_s,
        max_rms_s=args.max_rms,
        min_significance=args.min_significance,
        null_test=args.null_test or False,
        cell_km=args.cell,
        use_probability=args.use_probability,
        unknown_stations=args.unknown_stations,
        workers=args.threads,
    )
    for msg in job.messages:
        print(f"note: {msg}", file=sys.stderr)
    print(f"{job.association.summary()} -> {', '.join(str(p) for p in job.outputs)}")
    return 0
