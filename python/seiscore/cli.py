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


def _probability(text: str) -> float:
    """argparse type: a number in [0, 1] (argparse names the option in its error)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"a probability must lie in [0, 1], got {text}")
    return value


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
        "--max-distance", type=float, metavar="KM", help="only pairs at most this far apart"
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
    p.add_argument("--freqmin", type=float, metavar="HZ", help="band-pass low corner")
    p.add_argument("--freqmax", type=float, metavar="HZ", help="band-pass high corner")
    p.add_argument("--corners", type=int, default=4, help="Butterworth poles per side (default 4)")
    p.add_argument(
        "--taper", type=float, default=0.05, help="Hann taper fraction per end (default 0.05)"
    )
    p.add_argument("--temporal-norm", choices=["none", "onebit", "ram", "clip"], default="none")
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
    p.add_argument("--normalize", choices=["coefficient", "none"], default="coefficient")
    p.add_argument(
        "--stack", default="linear", help="linear, pws, robust, selective (comma-separated)"
    )
    p.add_argument("--pws-power", type=float, default=2.0)
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
    p.add_argument("--device", choices=["cpu", "cuda", "auto"], default="cpu")
    p.add_argument("--scheduler", help="Dask scheduler address, or 'local', to distribute the days")
    p.add_argument("--threads", type=int, help="threads per task (default: all cores)")
    p.add_argument(
        "--plot", metavar="PNG", help="draw the move-out gather (CCFs by distance) into this file"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_correlate)


def _cmd_correlate(args: argparse.Namespace) -> int:
    from .workflow.correlate import run_correlate_job

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


def _add_associate_arguments(p: argparse.ArgumentParser) -> None:
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
        "--picks-out", help="picks with event_id and residual_s (default: <output>_picks.csv)"
    )
    p.add_argument(
        "--xlim",
        type=float,
        nargs=2,
        metavar=("MIN", "MAX"),
        help="search x range, km (default: stations + 10%%)",
    )
    p.add_argument("--ylim", type=float, nargs=2, metavar=("MIN", "MAX"), help="search y range, km")
    p.add_argument(
        "--zlim",
        type=float,
        nargs=2,
        metavar=("MIN", "MAX"),
        default=(0.0, 40.0),
        help="search depth range, km below sea level (default: 0 40)",
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
    from .workflow.associate import run_associate_job

    job = run_associate_job(
        args.picks,
        args.stations,
        args.output,
        model=args.model,
        vp=args.vp,
        vs=args.vs,
        picks_output=args.picks_out,
        xlim=args.xlim,
        ylim=args.ylim,
        zlim=tuple(args.zlim),
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
        cell_km=args.cell,
        use_probability=args.use_probability,
        unknown_stations=args.unknown_stations,
        workers=args.threads,
    )
    for msg in job.messages:
        print(f"note: {msg}", file=sys.stderr)
    print(f"{job.association.summary()} -> {', '.join(str(p) for p in job.outputs)}")
    return 0


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
    p.set_defaults(func=_cmd_run)


def _cmd_run(args: argparse.Namespace) -> int:
    from .exceptions import ConfigError
    from .workflow import config as wcfg

    if args.print_config:
        print(wcfg.dumps(wcfg.load(args.config) if args.config else None), end="")
        return 0
    if not args.config:
        raise ConfigError("no CONFIG given (write one from: seiscore run --print-config)")
    from .workflow import pipeline

    client = None
    if args.scheduler:
        client = _dask_client(args.scheduler)
    try:
        result = pipeline.run(args.config, client=client)
    finally:
        if client is not None:
            client.close()
    for msg in result.messages:
        print(f"note: {msg}", file=sys.stderr)
    print(pipeline.format_summary(result.summary))
    print("-> " + ", ".join(str(p) for p in result.outputs))
    return 0


def _dask_client(address: str):
    """A ``dask.distributed.Client`` on ``address``, or ConfigError naming the option."""
    from .exceptions import ConfigError

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


def _add_demo_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "folder",
        nargs="?",
        default="seiscore_demo",
        help="folder to write into (default: seiscore_demo)",
    )
    p.add_argument("--events", type=int, default=6, help="number of synthetic events (default 6)")
    p.add_argument("--duration", type=float, default=180.0, help="record length, s (default 180)")
    p.add_argument("--seed", type=int, default=7)
    p.set_defaults(func=_cmd_demo)


def _cmd_demo(args: argparse.Namespace) -> int:
    from .workflow.demo import run_demo

    run_demo(args.folder, seed=args.seed, n_events=args.events, duration_s=args.duration)
    return 0


def pick_main(argv: list[str] | None = None) -> int:
    """Entry point of ``seiscore-pick``."""
    parser = argparse.ArgumentParser(
        prog="seiscore-pick", description="Pick P and S phases on continuous waveforms."
    )
    _add_pick_arguments(parser)
    return _dispatch(parser, argv)


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
    m = p.add_mutually_exclusive_group(required=True)
    m.add_argument(
        "--model", help="1-D velocity model: TauP .nd, CSV/text 'depth vp vs', VELEST .mod"
    )
    m.add_argument(
        "--homogeneous", nargs=2, type=float, metavar=("VP", "VS"), help="homogeneous model (km/s)"
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
        "--p-bandpass", nargs=3, type=float, metavar=("FMIN", "FMAX", "CORNERS"), default=(2, 16, 2)
    )
    p.add_argument(
        "--s-bandpass", nargs=3, type=float, metavar=("FMIN", "FMAX", "CORNERS"), default=(2, 16, 2)
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
        default=2.0,
        help="trigger threshold on the normalised coalescence",
    )
    p.add_argument("--min-separation", type=float, default=1.0, help="seconds between events")
    p.add_argument(
        "--marginal-window", type=float, default=0.5, help="seconds around the origin time"
    )
    p.add_argument("--start", help="first origin time to scan (UTC)")
    p.add_argument("--end", help="last origin time to scan (UTC)")
    p.add_argument("--device", choices=["cpu", "cuda", "auto"], default="cpu")
    p.add_argument(
        "--max-memory", type=float, help="refuse travel-time grids larger than this (GB)"
    )
    p.add_argument("--no-plots", action="store_true", help="no figure per event")
    p.add_argument("--workers", type=int, help="threads (default: all cores)")
    p.set_defaults(func=_cmd_locate)


def _cmd_locate(args: argparse.Namespace) -> int:
    from .workflow.locate import run_locate_job

    spacing = args.spacing[0] if len(args.spacing) == 1 else tuple(args.spacing)
    if len(args.spacing) not in (1, 3):
        from .exceptions import ConfigError

        raise ConfigError("--spacing takes one value or three (DX DY DZ)")
    g = args.grid
    result = run_locate_job(
        args.inputs,
        args.stations,
        args.output,
        model=args.model,
        homogeneous=args.homogeneous,
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
    for i in range(len(locs)):
        print(
            f"  {str(locs.time[i])[:23]}  lat {locs.latitude[i]:9.5f}  "
            f"lon {locs.longitude[i]:10.5f}  "
            f"depth {locs.depth_km[i]:7.3f} km  coalescence {locs.coherence_norm[i]:.3g}"
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
    _add_associate_arguments(
        sub.add_parser("associate", help="associate picks into events (search over space and time)")
    )
    _add_correlate_arguments(
        sub.add_parser("correlate", help="ambient-noise cross-correlation of every station pair")
    )
    _add_locate_arguments(
        sub.add_parser(
            "locate", help="detect and locate events by migration (same as seiscore-locate)"
        )
    )
    _add_run_arguments(
        sub.add_parser(
            "run",
            help="the whole pipeline from a TOML configuration: "
            "pick, associate, relocate, catalogue",
        )
    )
    _add_demo_arguments(
        sub.add_parser(
            "demo", help="synthetic scenario with known truth through the whole pipeline"
        )
    )
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
