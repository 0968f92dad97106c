"""`seiscore train`: fine-tune a picker on labelled waveforms; ONNX model, card and report out."""

from __future__ import annotations

import argparse


def _add_train_arguments(p: argparse.ArgumentParser) -> None:
    # long function: one add_argument per option, a flat list that reads like --help
    data = p.add_argument_group("training data (--data, or --waveforms with --picks)")
    data.add_argument(
        "--data",
        help="a SeisBench data set (folder with metadata.csv and waveforms.hdf5) or a window "
        "store (.h5) written by an earlier run",
    )
    data.add_argument("--waveforms", nargs="+", help="waveform files or folders (miniSEED, SAC)")
    data.add_argument(
        "--picks",
        nargs="+",
        help="reference picks: seiscore picks CSV, QuakeML, QuakeMigrate .picks, NonLinLoc "
        "phase files, or folders of them",
    )
    data.add_argument(
        "--store", help="window store to write (or reuse if it exists; default <output>_windows.h5)"
    )
    data.add_argument(
        "--rate",
        default="data",
        help="training sampling rate: 'data' (the data's own, default), 'model' (the base "
        "model's) or Hz",
    )
    val = p.add_argument_group("validation split")
    val.add_argument("--val-stations", nargs="+", help="stations held out for validation")
    val.add_argument(
        "--val-fraction",
        type=float,
        default=0.2,
        help="else this fraction of the events (split by event; default 0.2)",
    )
    run = p.add_argument_group("model and training")
    run.add_argument(
        "--base", default="phasenet", help="model to fine-tune: phasenet (default) or an ONNX file"
    )
    run.add_argument("--epochs", type=int, default=10, help="epochs (default 10)")
    run.add_argument("--batch-size", type=int, default=16, help="windows per step (default 16)")
    run.add_argument("--lr", type=float, default=1e-4, help="Adam learning rate (default 1e-4)")
    run.add_argument(
        "--steps-per-epoch",
        type=int,
        help="batches per epoch (default: one pass over the segments)",
    )
    run.add_argument("--resume", help="checkpoint to continue from (<output>_checkpoints/last.pt)")
    run.add_argument(
        "--label-shape", default="gaussian", choices=("gaussian", "triangle"), help="phase labels"
    )
    run.add_argument(
        "--label-width",
        type=float,
        default=10.0,
        help="label sigma (Gaussian) or half-width (triangle), samples (default 10)",
    )
    run.add_argument(
        "--augment",
        help="'default', 'none', or key=value,... (shift, scale_prob, noise_prob, noise_level, "
        "gap_prob, drop_prob, ...)",
    )
    run.add_argument("--ignore-s", type=float, help="loss-free zone around unpicked arrivals, s")
    run.add_argument("--merge-s", type=float, help="picks of one station and phase closer: one")
    run.add_argument("--match-s", type=float, help="validation: a pick this close is a hit, s")
    run.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    run.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    run.add_argument("--name", help="model name in the card (default: the output's stem)")
    p.add_argument(
        "-o", "--output", required=True, help="ONNX model to write (the card beside it, .json)"
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_train)


def _cmd_train(args: argparse.Namespace) -> int:
    from ..exceptions import ConfigError

    try:
        import torch  # noqa: F401
    except ImportError:
        raise ConfigError("seiscore train needs PyTorch: pip install 'seiscore[train]'") from None
    from ..workflow.train import TrainSettings, run_train_job

    settings = TrainSettings(
        output=args.output,
        data=args.data,
        waveforms=args.waveforms,
        picks=args.picks,
        base=args.base,
        rate=args.rate,
        val_stations=args.val_stations,
        val_fraction=args.val_fraction,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        steps_per_epoch=args.steps_per_epoch,
        resume=args.resume,
        store=args.store,
        label_shape=args.label_shape,
        label_width=args.label_width,
        ignore_s=args.ignore_s,
        merge_s=args.merge_s,
        match_s=args.match_s,
        augment=args.augment,
        seed=args.seed,
        threads=args.threads,
        name=args.name,
        progress=not args.no_progress,
    )
    result = run_train_job(settings)
    for note in result.notes:
        print(f"note: {note}")
    s = result.summary
    print(
        f"model: {result.onnx} (card {result.card}); {s['sampling_rate']:g} Hz, "
        f"{s['rate_choice']}; thresholds {s['thresholds']}"
    )
    print(
        f"ONNX vs torch: max |diff| {s['onnx_max_abs_diff']:.2e}; report: "
        f"{result.report['markdown']}"
    )
    for model, phases in s["metrics"].items():
        for phase, m in phases.items():
            print(
                f"  {model:>22} {phase}: recall {_f(m['recall'])}, precision "
                f"{_f(m['precision'])}, median residual {_f(m['residual_median_s'], 4)} s"
            )
    return 0


def _f(value, digits: int = 3) -> str:
    return "-" if value is None or value != value else f"{value:.{digits}f}"
