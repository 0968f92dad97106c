"""`seiscore` command line: correlate."""

from __future__ import annotations

import argparse
import sys


def _add_correlate_arguments(p: argparse.ArgumentParser) -> None:
    # long function: one add_argument per option, a flat list that reads like --help
    p.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="waveform files or folders (walked for .mseed/.sac/...)",
    )
    p.add_argument(
        "-o", "--output", required=True, help="NetCDF (.nc) or Zarr (.zarr) file to write"
    )
    p.add_argument(
        "--stations",
        action="append",
        metavar="FILE",
        help="station file for coordinates (StationXML, CSV, ...); repeat for several",
    )
    p.add_argument(
        "--start", help="start of the window grid (UTC, ISO 8601; default: first sample)"
    )
    p.add_argument("--end", help="end time (UTC, ISO 8601; default: last sample)")
    p.add_argument("--band", help="channel band to use where a station has several (e.g. HH)")
    p.add_argument(
        "--components",
        default="ZZ",
        help="ZZ (default), all (9 ENZ), RTZ, or a list such as ZZ,RR,TT",
    )
    p.add_argument(
        "--pairs", default="all", help="all (default), all+auto, auto, or SOURCE:RECEIVER,... ids"
    )
    p.add_argument(
        "--max-distance", type=float, metavar="KM", help="only pairs at most this far apart (km)"
    )
    p.add_argument(
        "--window", type=float, default=3600.0, metavar="S", help="window length (s, default 3600)"
    )
    p.add_argument("--overlap", type=float, default=0.0, help="window overlap fraction (default 0)")
    p.add_argument(
        "--sampling-rate",
        type=float,
        metavar="HZ",
        help="decimate to this rate (default: the files')",
    )
    p.add_argument("--freqmin", type=float, metavar="HZ", help="band-pass low corner (Hz)")
    p.add_argument("--freqmax", type=float, metavar="HZ", help="band-pass high corner (Hz)")
    p.add_argument("--corners", type=int, default=4, help="Butterworth poles per side (default 4)")
    p.add_argument(
        "--taper", type=float, default=0.05, help="Hann taper fraction per end (default 0.05)"
    )
    p.add_argument(
        "--temporal-norm",
        choices=["none", "onebit", "ram", "clip"],
        default="none",
        help="temporal normalisation: none, one-bit, running absolute mean or clipping",
    )
    p.add_argument("--ram-window", type=float, metavar="S", help="running-absolute-mean window (s)")
    p.add_argument(
        "--whiten", action="store_true", help="spectral whitening over the band-pass band"
    )
    p.add_argument(
        "--whiten-smooth",
        type=float,
        default=0.0,
        metavar="HZ",
        help="amplitude smoothing for whitening (Hz; 0: phase only)",
    )
    p.add_argument(
        "--max-lag",
        type=float,
        default=100.0,
        metavar="S",
        help="largest lag kept (s, default 100)",
    )
    p.add_argument(
        "--normalize",
        choices=["coefficient", "none"],
        default="coefficient",
        help="coefficient: each window's CCF divided by sqrt(E_a E_b); none: raw sums",
    )
    p.add_argument(
        "--stack", default="linear", help="linear, pws, robust, selective (comma-separated)"
    )
    p.add_argument(
        "--pws-power",
        type=float,
        default=2.0,
        help="phase-weighted stack: power of the phase coherence",
    )
    p.add_argument("--no-substacks", action="store_true", help="do not keep one stack per day")
    p.add_argument("--keep-windows", action="store_true", help="also keep every window's CCF")
    p.add_argument(
        "--max-over-std",
        type=float,
        default=20.0,
        help="skip windows with a sample beyond this many standard deviations (0: off)",
    )
    p.add_argument(
        "--max-flat",
        type=float,
        default=2.0,
        metavar="S",
        help="skip windows with a flat run this long (s; 0: off)",
    )
    p.add_argument(
        "--device",
        choices=["cpu", "cuda", "auto"],
        default="cpu",
        help="where whitening and cross-spectra run (cuda: the GPU twin)",
    )
    p.add_argument("--scheduler", help="Dask scheduler address, or 'local', to distribute the days")
    p.add_argument("--threads", type=int, help="threads per task (default: all cores)")
    p.add_argument(
        "--plot", metavar="PNG", help="draw the move-out gather (CCFs by distance) into this file"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_correlate)


def _cmd_correlate(args: argparse.Namespace) -> int:
    from ..workflow.correlate import run_correlate_job

    pairs = args.pairs if args.pairs in ("all", "all+auto", "auto") else args.pairs.split(",")
    result = run_correlate_job(
        args.inputs,
        args.output,
        stations=args.stations,
        starttime=args.start,
        endtime=args.end,
        band=args.band,
        sampling_rate=args.sampling_rate,
        plot=args.plot,
        scheduler=args.scheduler,
        progress=not args.quiet,
        pairs=pairs,
        max_distance_km=args.max_distance,
        components=args.components,
        window_s=args.window,
        overlap=args.overlap,
        freqmin=args.freqmin,
        freqmax=args.freqmax,
        corners=args.corners,
        taper=args.taper,
        temporal_norm=args.temporal_norm,
        ram_window_s=args.ram_window,
        whiten=args.whiten,
        whiten_smooth_hz=args.whiten_smooth,
        max_lag_s=args.max_lag,
        normalize=args.normalize,
        stack=tuple(args.stack.split(",")),
        pws_power=args.pws_power,
        substacks=not args.no_substacks,
        keep_windows=args.keep_windows,
        max_over_std=args.max_over_std or None,
        max_flat_s=args.max_flat or None,
        device=args.device,
        workers=args.threads,
    )
    for msg in result.messages:
        print(f"note: {msg}", file=sys.stderr)
    for err in result.errors:
        print(f"error: {err}", file=sys.stderr)
    ds = result.dataset
    print(
        f"{ds.sizes['pair']} pairs x {ds.sizes['component']} components, "
        f"{int(ds.n_windows.sum())} pair-windows "
        f"stacked -> {', '.join(str(p) for p in result.outputs)}"
    )
    return 1 if result.errors else 0
