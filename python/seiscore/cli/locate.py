"""`seiscore` command line: locate."""

from __future__ import annotations

import argparse
import sys

from ._common import _dispatch


def _add_locate_arguments(p: argparse.ArgumentParser) -> None:
    # long function: one add_argument per option, a flat list that reads like --help
    p.add_argument(
        "inputs",
        nargs="*",
        metavar="INPUT",
        help="waveform files or folders (walked for .mseed/.sac/...)",
    )
    p.add_argument(
        "--onsets",
        help="saved onsets / probabilities (.npz from seiscore.location.Onsets.save) "
        "instead of waveforms",
    )
    p.add_argument(
        "--stations",
        required=True,
        help="StationXML, CSV, REAL station.dat or QuakeMigrate station file",
    )
    m = p.add_mutually_exclusive_group()
    m.add_argument(
        "--model", help="1-D velocity model: TauP .nd, CSV/text 'depth vp vs', VELEST .mod"
    )
    m.add_argument(
        "--homogeneous", nargs=2, type=float, metavar=("VP", "VS"), help="homogeneous model (km/s)"
    )
    m.add_argument(
        "--nll-grids",
        metavar="ROOT",
        help="3-D travel times from NonLinLoc time grids ROOT.P.<STA>.time.hdr/.buf (a file "
        "root or a folder); the grid is theirs unless --grid is given",
    )
    p.add_argument(
        "-o", "--output", required=True, help="output folder (events.csv, events.xml, figures/)"
    )
    p.add_argument(
        "--grid",
        nargs=4,
        type=float,
        metavar=("LAT_MIN", "LAT_MAX", "LON_MIN", "LON_MAX"),
        help="grid bounds (default: the stations' bounding box plus --margin)",
    )
    p.add_argument(
        "--depth",
        nargs=2,
        type=float,
        default=(0.0, 20.0),
        metavar=("TOP", "BOTTOM"),
        help="grid depths, km below sea level (default 0 20)",
    )
    p.add_argument(
        "--spacing",
        nargs="+",
        type=float,
        default=[1.0],
        metavar="KM",
        help="node spacing: DX or DX DY DZ",
    )
    p.add_argument(
        "--margin", type=float, default=5.0, help="km around the stations when --grid is not given"
    )
    p.add_argument(
        "--station-margin",
        type=float,
        help="error for stations farther than this outside the grid "
        "(km; default half its diagonal)",
    )
    p.add_argument(
        "--max-distance",
        type=float,
        help="largest station-node distance of the travel-time table (km)",
    )
    p.add_argument(
        "--tt-file",
        help="travel-time grid cache (.npz): loaded when it exists and fits, else written",
    )
    p.add_argument(
        "--onset",
        choices=["stalta", "phasenet"],
        default="stalta",
        help="STA/LTA onsets (QuakeMigrate's recipe) or PhaseNet probabilities",
    )
    p.add_argument(
        "--sampling-rate", type=float, help="onset sampling rate (Hz, default: the data's)"
    )
    p.add_argument(
        "--p-bandpass",
        nargs=3,
        type=float,
        metavar=("FMIN", "FMAX", "CORNERS"),
        default=(2, 16, 2),
        help="P onset band-pass: low and high corners (Hz) and poles",
    )
    p.add_argument(
        "--s-bandpass",
        nargs=3,
        type=float,
        metavar=("FMIN", "FMAX", "CORNERS"),
        default=(2, 16, 2),
        help="S onset band-pass: low and high corners (Hz) and poles",
    )
    p.add_argument(
        "--p-window",
        nargs=2,
        type=float,
        metavar=("STA", "LTA"),
        default=(0.2, 1.0),
        help="seconds",
    )
    p.add_argument(
        "--s-window",
        nargs=2,
        type=float,
        metavar=("STA", "LTA"),
        default=(0.2, 1.0),
        help="seconds",
    )
    p.add_argument(
        "--position",
        choices=["classic", "centred"],
        default="centred",
        help="STA/LTA window position",
    )
    p.add_argument(
        "--threshold",
        type=float,
        help="detection threshold (default 6 for --statistic background: that many "
        "station-phases' worth of onsets lined up above the background; see the README)",
    )
    p.add_argument(
        "--statistic",
        choices=["background", "normalised", "raw"],
        default="background",
        help="detect on the rise above the running background (default), QuakeMigrate's "
        "normalised coalescence, or the raw maximum coalescence",
    )
    p.add_argument(
        "--background",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="window of the running background (median/MAD) of the statistic (default 300)",
    )
    p.add_argument(
        "--keep-edge",
        action="store_true",
        help="also report events whose coalescence maximum lies on the grid's boundary "
        "(flagged on_edge; by default they are left out: events outside the grid)",
    )
    p.add_argument(
        "--chunk",
        type=float,
        metavar="SECONDS",
        help="scan in chunks of this many seconds of origin time (default: all at once)",
    )
    p.add_argument(
        "--min-separation", type=float, default=1.0, help="seconds between events (default 1)"
    )
    p.add_argument(
        "--marginal-window", type=float, default=0.5, help="seconds around the origin time"
    )
    p.add_argument("--start", help="first origin time to scan (UTC)")
    p.add_argument("--end", help="last origin time to scan (UTC)")
    p.add_argument(
        "--device",
        choices=["cpu", "cuda", "auto"],
        default="cpu",
        help="where the migration runs (cuda: the GPU twin)",
    )
    p.add_argument(
        "--max-memory", type=float, help="refuse travel-time grids larger than this (GB)"
    )
    p.add_argument("--no-plots", action="store_true", help="no figure per event")
    p.add_argument("--workers", type=int, help="threads (default: all cores)")
    p.set_defaults(func=_cmd_locate)


def _cmd_locate(args: argparse.Namespace) -> int:
    from ..workflow.locate import run_locate_job

    spacing = args.spacing[0] if len(args.spacing) == 1 else tuple(args.spacing)
    if len(args.spacing) not in (1, 3):
        from ..exceptions import ConfigError

        raise ConfigError("--spacing takes one value or three (DX DY DZ)")
    g = args.grid
    result = run_locate_job(
        args.inputs,
        args.stations,
        args.output,
        model=args.model,
        homogeneous=args.homogeneous,
        nll_grids=args.nll_grids,
        grid_bounds=(g[0], g[1], g[2], g[3]) if g else None,
        depth_km=tuple(args.depth),
        spacing_km=spacing,
        margin_km=args.margin,
        station_margin_km=args.station_margin,
        max_distance_km=args.max_distance,
        onsets_file=args.onsets,
        onset=args.onset,
        sampling_rate=args.sampling_rate,
        bandpass={"P": tuple(args.p_bandpass), "S": tuple(args.s_bandpass)},
        windows={"P": tuple(args.p_window), "S": tuple(args.s_window)},
        position=args.position,
        threshold=args.threshold,
        statistic=args.statistic,
        background_s=args.background,
        keep_edge=args.keep_edge,
        chunk_s=args.chunk,
        min_separation_s=args.min_separation,
        marginal_window_s=args.marginal_window,
        starttime=args.start,
        endtime=args.end,
        tt_file=args.tt_file,
        device=args.device,
        max_memory_gb=args.max_memory,
        plots=not args.no_plots,
        workers=args.workers,
    )
    for msg in result.messages:
        print(f"note: {msg}", file=sys.stderr)
    locs = result.locations
    print(
        f"{len(locs)} event(s) on a {'x'.join(map(str, result.grid.shape))} grid "
        f"-> {result.outputs[0].parent}"
    )
    stat = result.triggers.statistic if result.triggers is not None else None
    for i in range(len(locs)):
        z = f"  statistic {stat[i]:.3g}" if stat is not None and len(stat) == len(locs) else ""
        print(
            f"  {str(locs.time[i])[:23]}  lat {locs.latitude[i]:9.5f}  "
            f"lon {locs.longitude[i]:10.5f}  "
            f"depth {locs.depth_km[i]:7.3f} km  coalescence {locs.coherence_norm[i]:.3g}{z}"
        )
    return 0


def locate_main(argv: list[str] | None = None) -> int:
    """Entry point of ``seiscore-locate``."""
    parser = argparse.ArgumentParser(
        prog="seiscore-locate",
        description="Detect and locate events by migrating onsets over a 3-D grid (coalescence).",
    )
    _add_locate_arguments(parser)
    return _dispatch(parser, argv)
