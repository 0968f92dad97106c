"""`seiscore` command line: magnitude."""

from __future__ import annotations

import argparse
import sys


def _add_magnitude_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("events", help="QuakeML, or seiscore's events.csv (picks.csv beside it is used)")
    p.add_argument(
        "--waveforms",
        nargs="+",
        required=True,
        metavar="PATH",
        help="waveform files or folders (raw counts), or an SDS root with --sds",
    )
    p.add_argument("--sds", action="store_true", help="--waveforms is an SDS archive root")
    p.add_argument(
        "--inventory",
        required=True,
        help="instrument responses: StationXML, full SEED or dataless SEED",
    )
    p.add_argument(
        "-o",
        "--output",
        required=True,
        help="QuakeML to write (an events CSV with magnitudes is written beside it)",
    )
    p.add_argument("--picks", help="picks CSV for an events.csv (default: picks.csv beside it)")
    p.add_argument("--model", help="velocity model to predict P/S where picks lack them")
    p.add_argument("--vp", type=float, help="homogeneous model instead of --model: P km/s")
    p.add_argument("--vs", type=float, help="homogeneous model instead of --model: S km/s")
    p.add_argument(
        "--law",
        default="hutton_boore_1987",
        help="hutton_boore_1987 (default), bakun_joyner_1984, or a -log A0 table file",
    )
    p.add_argument(
        "--distance",
        choices=["hypocentral", "epicentral"],
        default="hypocentral",
        help="distance in the attenuation law (default: hypocentral)",
    )
    p.add_argument(
        "--min-snr",
        type=float,
        default=3.0,
        help="least amplitude signal-to-noise ratio of a channel",
    )
    p.add_argument("--corrections", help="station corrections file: NET.STA.LOC value per line")
    p.add_argument(
        "--method",
        choices=["median", "trimmed_mean"],
        default="median",
        help="network ML from the station MLs (default: median)",
    )
    p.add_argument("--vertical", action="store_true", help="measure Z too (default: N and E)")
    p.add_argument(
        "--flat-gain",
        action="store_true",
        help="accept stations whose metadata have only a sensitivity (flat gain)",
    )
    p.set_defaults(func=_cmd_magnitude)


def _cmd_magnitude(args: argparse.Namespace) -> int:
    from .. import magnitude
    from ..workflow.magnitude import run_magnitude_job

    settings = magnitude.MagnitudeSettings(
        amplitudes=magnitude.AmplitudeSettings(
            components=("E", "N", "Z") if args.vertical else ("E", "N"),
            response="full_or_flat" if args.flat_gain else "full",
        ),
        law=args.law,
        distance=args.distance,
        min_snr=args.min_snr,
        corrections=args.corrections,
        method=args.method,
    )
    job = run_magnitude_job(
        args.events,
        args.waveforms,
        args.inventory,
        args.output,
        picks=args.picks,
        sds=args.sds,
        model=args.model,
        vp=args.vp,
        vs=args.vs,
        settings=settings,
    )
    for msg in job.messages:
        print(f"note: {msg}", file=sys.stderr)
    net = job.magnitudes.network
    print(
        f"{len(net)} of {len(job.catalog)} events with ML -> "
        f"{', '.join(str(p) for p in job.outputs)}"
    )
    for row in net.itertuples(index=False):
        print(
            f"  event {row.event_id}: ML {row.magnitude:.2f} ± {row.magnitude_uncertainty:.2f} "
            f"({row.n_magnitude_stations} stations)"
        )
    return 0
