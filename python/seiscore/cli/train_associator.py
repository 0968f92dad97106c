"""`seiscore train-associator`: train a PhaseLink linker for a station network on synthetic
picks; ONNX linker and its card out (use it with ``seiscore associate --method phaselink``)."""

from __future__ import annotations

import argparse


def _add_train_associator_arguments(p: argparse.ArgumentParser) -> None:
    # long function: one add_argument per option, a flat list that reads like --help
    net = p.add_argument_group("network and velocity model")
    net.add_argument(
        "--stations",
        required=True,
        help="station file: StationXML, CSV (network,station,latitude,longitude,elevation), "
        "REAL station.dat, ...",
    )
    net.add_argument("--model", help="1-D velocity model file (.nd, VELEST .mod, CSV depth,vp,vs)")
    net.add_argument("--vp", type=float, help="homogeneous model (no --model): P velocity, km/s")
    net.add_argument("--vs", type=float, help="homogeneous model (no --model): S velocity, km/s")
    net.add_argument(
        "--xlim",
        type=float,
        nargs=2,
        metavar=("MIN", "MAX"),
        help="event volume x range, km (default: stations + 10%%)",
    )
    net.add_argument("--ylim", type=float, nargs=2, metavar=("MIN", "MAX"), help="y range, km")
    net.add_argument(
        "--zlim",
        type=float,
        nargs=2,
        metavar=("MIN", "MAX"),
        default=(0.0, 30.0),
        help="event depths, km below sea level",
    )
    net.add_argument(
        "--reference",
        type=float,
        nargs=2,
        metavar=("LAT", "LON"),
        help="projection centre, degrees (default: the stations' mean)",
    )
    net.add_argument(
        "--window",
        type=float,
        help="sequence window, s (default: the S travel time across the network)",
    )
    net.add_argument(
        "--max-picks", type=int, default=256, help="picks per sequence at most (picks)"
    )
    gen = p.add_argument_group("synthetic picks")
    gen.add_argument(
        "--generator",
        help="generator settings key=value,... (rate_min, rate_max [events/s], noise_min_s, "
        "noise_max_s, drop_min, drop_max [fraction], false_rate_min, false_rate_max "
        "[per station and s], radius_min_km, radius_max_km, cluster_prob, model_error_max, ...)",
    )
    run = p.add_argument_group("network and training")
    run.add_argument(
        "--architecture",
        default="transformer",
        choices=("transformer", "gru"),
        help="linker network: a small transformer, or PhaseLink's stacked bidirectional GRU",
    )
    run.add_argument("--steps", type=int, default=6000, help="training steps (batches)")
    run.add_argument("--batch-size", type=int, default=64, help="sequences per batch")
    run.add_argument("--lr", type=float, default=1e-3, help="AdamW learning rate (a rate)")
    run.add_argument(
        "--minutes",
        type=float,
        help="stop after this many minutes of training (the best weights so far are kept)",
    )
    run.add_argument(
        "--val-sequences", type=int, default=1024, help="validation sequences (a number)"
    )
    run.add_argument(
        "--resume",
        nargs="?",
        const="auto",
        help="continue from a checkpoint (default: <output>_checkpoints/last.pt)",
    )
    run.add_argument("--seed", type=int, default=0, help="random seed (a seed)")
    run.add_argument("--threads", type=int, help="threads for torch and the generator")
    run.add_argument("--name", help="linker name in the card (default: the output's stem)")
    p.add_argument(
        "-o", "--output", required=True, help="ONNX linker to write (its card beside it, .json)"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_train_associator)


def _generator(text: str | None) -> dict:
    from ..exceptions import ConfigError

    if not text:
        return {}
    out = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        try:
            if not sep:
                raise ValueError
            out[key.strip()] = float(value)
        except ValueError:
            raise ConfigError(f"--generator: expected key=number pairs, got {item!r}") from None
    return out


def _cmd_train_associator(args: argparse.Namespace) -> int:
    from ..exceptions import ConfigError

    try:
        import torch  # noqa: F401
    except ImportError:
        raise ConfigError(
            "seiscore train-associator needs PyTorch: pip install 'seiscore[train]'"
        ) from None
    from ..workflow.train_associator import TrainAssociatorSettings, run_train_associator_job

    settings = TrainAssociatorSettings(
        output=args.output,
        stations=args.stations,
        model=args.model,
        vp=args.vp,
        vs=args.vs,
        xlim=tuple(args.xlim) if args.xlim else None,
        ylim=tuple(args.ylim) if args.ylim else None,
        zlim=tuple(args.zlim),
        reference=tuple(args.reference) if args.reference else None,
        window_s=args.window,
        max_picks=args.max_picks,
        architecture=args.architecture,
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        minutes=args.minutes,
        val_sequences=args.val_sequences,
        generator=_generator(args.generator),
        seed=args.seed,
        threads=args.threads,
        resume=args.resume,
        name=args.name,
        progress=not args.no_progress,
    )
    result = run_train_associator_job(settings)
    for note in result.notes:
        print(f"note: {note}")
    s = result.summary
    v = s["validation"]
    print(
        f"linker: {result.onnx} (card {result.card}); {s['stations']} stations, window "
        f"{s['window_s']:g} s, {s['architecture']} ({s['parameters']:,} parameters)"
    )
    print(
        f"{s['steps']} steps in {s['train_seconds']:.0f} s (best at step {s['best_step']}): "
        f"validation loss {v['val_loss']:.4f}, link precision {v['precision']:.3f}, recall "
        f"{v['recall']:.3f}; ONNX vs torch max |diff| {s['onnx_max_abs_diff']:.2e}"
    )
    return 0
