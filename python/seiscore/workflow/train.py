"""The training job behind ``seiscore train``: labelled waveforms → a fine-tuned ONNX picker,
its model card, a report and checkpoints.

Steps: load the base model (:func:`seiscore.training.phasenet.load_base`); choose the training
rate (``"data"``: the data's own sampling rate, the model's window of samples then spans
``window / rate`` seconds; ``"model"``: resample to the base card's rate; or a number, Hz);
write the labelled segments into an HDF5 window store (from waveforms + reference picks, or a
SeisBench data set; an existing store is reused); split by event (``val_fraction`` of the events)
or by station (``val_stations``); train (:func:`seiscore.training.train.fit`); choose each
phase's threshold on the validation windows; export ONNX + card and check it against torch;
write the report (loss curves, validation picks of the fine-tuned and the base model).

Durations given in samples by default follow the training rate: at 500 Hz a label of 10 samples
is 0.02 s, as PhaseNet's 0.1 s at 100 Hz is 10 samples; the card's minimum distance between two
picks is scaled the same way.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..exceptions import ConfigError, InputError
from ..training import augment as taugment
from ..training import data as tdata
from ..training import evaluate, export, phasenet, picks, report, store, train

#: defaults in samples at the training rate (PhaseNet's values at 100 Hz)
MATCH_SAMPLES = 50
IGNORE_SAMPLES = 20
MERGE_SAMPLES = 10


@dataclass
class TrainJobResult:
    onnx: Path
    card: Path
    report: dict
    summary: dict
    notes: list[str] = field(default_factory=list)


@dataclass
class TrainSettings:
    """What ``seiscore train`` was asked; see :func:`run_train_job`."""

    output: str
    data: str | None = None
    waveforms: list | None = None
    picks: list | None = None
    base: str = "phasenet"
    rate: str = "data"
    val_stations: list | None = None
    val_fraction: float = 0.2
    epochs: int = 10
    batch_size: int = 16
    lr: float = 1e-4
    steps_per_epoch: int | None = None
    resume: str | None = None
    store: str | None = None
    label_shape: str = "gaussian"
    label_width: float = 10.0
    ignore_s: float | None = None
    merge_s: float | None = None
    match_s: float | None = None
    augment: str | None = None
    seed: int = 0
    threads: int | None = None
    name: str | None = None
    progress: bool = True


def _check(s: TrainSettings) -> None:
    if (s.data is None) == (s.waveforms is None):
        raise ConfigError("give --data (a SeisBench folder or a window store) or --waveforms")
    if s.waveforms is not None and not s.picks:
        raise ConfigError("--waveforms needs --picks (the reference picks)")
    if not str(s.output).endswith(".onnx"):
        raise ConfigError(f"-o {s.output}: the model file must end in .onnx")
    if s.epochs < 1 or s.batch_size < 1 or not s.lr > 0:
        raise ConfigError("--epochs and --batch-size must be >= 1 and --lr positive")
    if not 0.0 < s.val_fraction < 1.0 and not s.val_stations:
        raise ConfigError(f"--val-fraction must lie in (0, 1), got {s.val_fraction}")
    if s.label_shape not in ("gaussian", "triangle"):
        raise ConfigError(f"--label-shape must be gaussian or triangle, got {s.label_shape!r}")


def _training_rate(s: TrainSettings, card: dict) -> tuple[float, str]:
    if s.rate == "model":
        return float(card["sampling_rate"]), "model"
    if s.rate != "data":
        try:
            return float(s.rate), "given"
        except ValueError:
            raise ConfigError(f"--rate must be data, model or a number, got {s.rate!r}") from None
    if s.waveforms is not None:
        return tdata.data_sampling_rate(s.waveforms), "data"
    if s.data and Path(s.data).is_file():
        return store.WindowStore(s.data).sampling_rate, "data"
    return _seisbench_rate(Path(s.data)), "data"


def _seisbench_rate(folder: Path) -> float:
    import h5py
    import pandas as pd

    if not (folder / "waveforms.hdf5").is_file():
        raise InputError(f"--data {folder}: neither a window store nor a SeisBench folder")
    with h5py.File(folder / "waveforms.hdf5", "r") as h5:
        rate = tdata._format_value(h5, "sampling_rate")
    if rate is not None:
        return float(rate)
    meta = pd.read_csv(folder / "metadata.csv", nrows=10000, low_memory=False)
    if "trace_sampling_rate_hz" in meta:
        rates = meta["trace_sampling_rate_hz"].dropna().unique()
        if len(rates) == 1:
            return float(rates[0])
    raise ConfigError(f"--data {folder}: the traces have several sampling rates; give --rate")


def _build_store(s: TrainSettings, rate: float, card: dict, notes: list) -> store.WindowStore:
    out = Path(s.output)
    path = Path(s.store) if s.store else out.with_name(out.stem + "_windows.h5")
    if s.data and Path(s.data).is_file():
        path = Path(s.data)
    elif not (s.store and path.is_file()):
        order = "".join(card["channel_order"])
        window = int(card["window_length"])
        source = s.data or f"waveforms {s.waveforms} + picks {s.picks}"
        with store.WindowStoreWriter(
            path,
            sampling_rate=rate,
            channel_order=order,
            segment_length=2 * window,
            source=str(source),
        ) as writer:
            if s.data:
                rep = tdata.segments_from_seisbench(
                    s.data, writer, window=window, sampling_rate=rate, channel_order=order
                )
            else:
                ref = picks.read_reference_picks(s.picks)
                merge = s.merge_s if s.merge_s is not None else MERGE_SAMPLES / rate
                ref = picks.merge_duplicates(ref, merge)
                ignore = s.ignore_s if s.ignore_s is not None else IGNORE_SAMPLES / rate
                rep = tdata.segments_from_waveforms(
                    s.waveforms,
                    ref,
                    writer,
                    window=window,
                    sampling_rate=rate,
                    channel_order=order,
                    ignore_s=ignore,
                )
        notes += rep.notes
    ws = store.WindowStore(path)
    if abs(ws.sampling_rate - rate) > 1e-6 or ws.channel_order != "".join(card["channel_order"]):
        raise ConfigError(
            f"window store {path}: {ws.sampling_rate:g} Hz {ws.channel_order}, the training "
            f"needs {rate:g} Hz {''.join(card['channel_order'])} (delete it or give --store)"
        )
    if not len(ws):
        raise InputError(f"no labelled segment could be cut ({'; '.join(notes[:5])})")
    return ws


def split(ws: store.WindowStore, val_stations, val_fraction: float, seed: int):
    """(train, validation) segment indices: by station (``NET.STA.LOC`` or ``STA``), or a
    fraction of the events drawn with ``seed`` (never one event on both sides)."""
    if val_stations:
        wanted = {str(v) for v in val_stations}
        codes = np.array([s.split(".")[1] if s.count(".") >= 2 else s for s in ws.station])
        is_val = np.isin(ws.station, list(wanted)) | np.isin(codes, list(wanted))
        unknown = wanted - set(ws.station.tolist()) - set(codes.tolist())
        if unknown:
            raise ConfigError(f"--val-stations {sorted(unknown)}: no segment of these stations")
        events_val = set(ws.event[is_val].tolist())
        train_mask = ~is_val
        shared = events_val & set(ws.event[train_mask].tolist())
        note = (
            f"validation: stations {sorted(wanted)}; {len(shared)} of their events also "
            "have training segments at other stations"
        )
    else:
        events = np.array(sorted(set(ws.event.tolist())), dtype=object)
        rng = np.random.default_rng([seed, 7])
        n_val = max(1, int(round(val_fraction * len(events)))) if len(events) > 1 else 0
        val_events = set(rng.permutation(events)[:n_val].tolist())
        is_val = np.isin(ws.event, list(val_events))
        train_mask = ~is_val
        note = f"validation: {n_val} of {len(events)} events (seed {seed})"
    return np.flatnonzero(train_mask), np.flatnonzero(is_val), note


def run_train_job(settings: TrainSettings) -> TrainJobResult:
    """Run ``seiscore train`` (see the module docstring); raises ConfigError / InputError."""
    s = settings
    _check(s)
    t0 = time.perf_counter()
    notes: list[str] = []
    net, base_path, base_card = phasenet.load_base(s.base)
    rate, choice = _training_rate(s, base_card)
    ws = _build_store(s, rate, base_card, notes)
    train_idx, val_idx, split_note = split(ws, s.val_stations, s.val_fraction, s.seed)
    notes.append(split_note)
    if not len(train_idx):
        raise ConfigError("every segment is in the validation set: nothing left to train on")
    try:
        aug = taugment.parse_augment(s.augment)
    except ValueError as exc:
        raise ConfigError(f"--augment: {exc}") from None
    config = train.TrainConfig(
        epochs=s.epochs,
        batch_size=s.batch_size,
        lr=s.lr,
        steps_per_epoch=s.steps_per_epoch,
        label_shape=s.label_shape,
        label_width=s.label_width,
        ignore_s=s.ignore_s if s.ignore_s is not None else IGNORE_SAMPLES / rate,
        normalisation=base_card.get("normalisation", "std"),
        augment=aug,
        seed=s.seed,
        threads=s.threads,
    )
    out = Path(s.output)
    result = train.fit(
        net,
        ws,
        train_idx,
        val_idx,
        config,
        progress=s.progress,
        checkpoint_dir=out.with_name(out.stem + "_checkpoints"),
        resume=s.resume,
    )
    net.load_state_dict(result.best_state)
    stretch = float(base_card["sampling_rate"]) / rate
    metrics, thresholds = _validation_metrics(
        net, base_path, result.validation, base_card, rate, stretch, s
    )
    summary = _summary(
        s, ws, base_path, rate, choice, train_idx, val_idx, result, metrics, thresholds, config
    )
    card = export.fine_tuned_card(
        base_card,
        name=summary["name"],
        sampling_rate=rate,
        thresholds=thresholds,
        provenance=_provenance(summary),
        note=_note(summary),
        training=_card_training(summary),
    )
    for phase in card["recommended"].values():
        if "distance_s" in phase:
            phase["distance_s"] = round(float(phase["distance_s"]) * stretch, 6)
    exported = export.export_phasenet(net, base_path, out, card, result.validation.x)
    summary["onnx_max_abs_diff"] = exported.max_abs_diff
    summary["seconds"] = time.perf_counter() - t0
    folder = out.with_name(out.stem + "_report")
    paths = report.write_report(
        folder, _finite(summary), _finite(result.history), result.best_epoch
    )
    ws.close()
    return TrainJobResult(exported.onnx, exported.card, paths, summary, notes)


def _validation_metrics(net, base_path, val, base_card, rate, stretch, s):
    """Per model, per phase: metrics on the validation windows; and the chosen thresholds."""
    if not len(val.x):
        return {}, {}
    base_net = phasenet.phasenet_from_onnx(base_path)
    match = s.match_s if s.match_s is not None else MATCH_SAMPLES / rate
    ignore = s.ignore_s if s.ignore_s is not None else IGNORE_SAMPLES / rate
    labels = list(base_card["labels"])
    probs = {"fine-tuned": train.predict(net, val.x), "base": train.predict(base_net, val.x)}
    out: dict = {"fine-tuned": {}, "base": {}, "base, best threshold": {}}
    thresholds = {}
    for phase in ("P", "S"):
        row = labels.index(phase)
        rec = (base_card.get("recommended") or {}).get(phase, {})
        kw = dict(
            sampling_rate=rate,
            match_s=match,
            ignore_s=ignore,
            distance_s=float(rec.get("distance_s", 1.0)) * stretch,
        )
        args = (val.picks[phase], val.picks[f"{phase}_ignore"])
        best, table = evaluate.choose_threshold(probs["fine-tuned"][:, row], *args, **kw)
        thresholds[phase] = best
        out["fine-tuned"][phase] = _at(table, best)
        base_best, base_table = evaluate.choose_threshold(probs["base"][:, row], *args, **kw)
        out["base"][phase] = evaluate.phase_metrics(
            probs["base"][:, row], *args, threshold=float(rec.get("height", 0.3)), **kw
        ).as_dict()
        out["base, best threshold"][phase] = _at(base_table, base_best)
    return out, thresholds


def _at(table, threshold: float) -> dict:
    return next(m for m in table if abs(m.threshold - threshold) < 1e-9).as_dict()


def _summary(
    s, ws, base_path, rate, choice, train_idx, val_idx, result, metrics, thresholds, config
) -> dict:
    window = int(ws.segment_length // 2)
    return {
        "name": s.name or Path(s.output).stem,
        "base": s.base if s.base in phasenet.BASES else str(base_path),
        "data": ws.source,
        "store": str(ws.path),
        "store_contents": ws.describe(),
        "sampling_rate": rate,
        "rate_choice": {
            "data": "the data's own rate",
            "model": "resampled to the base model's rate",
            "given": "given with --rate",
        }[choice],
        "window": window,
        "window_s": window / rate,
        "epochs": s.epochs,
        "best_epoch": result.best_epoch,
        "train_segments": int(len(train_idx)),
        "val_segments": int(len(val_idx)),
        "train_stations": sorted(set(ws.station[train_idx].tolist())),
        "val_stations": sorted(set(ws.station[val_idx].tolist())),
        "thresholds": thresholds,
        "metrics": metrics,
        "config": config.as_dict(),
        "training_seconds": result.seconds,
    }


def _provenance(summary: dict) -> str:
    return (
        f"Fine-tuned by seiscore train from {summary['base']} on {summary['data']} "
        f"({summary['store_contents']}); {summary['epochs']} epochs, weights of epoch "
        f"{summary['best_epoch']} (lowest validation loss)."
    )


def _note(summary: dict) -> str:
    return (
        f"Trained at {summary['sampling_rate']:g} Hz ({summary['rate_choice']}): a window of "
        f"{summary['window']} samples spans {summary['window_s']:g} s. Thresholds chosen on "
        f"the validation windows (best F1). Check it on your own data before operational use."
    )


def _card_training(summary: dict) -> dict:
    keep = (
        "base",
        "data",
        "store_contents",
        "sampling_rate",
        "rate_choice",
        "window_s",
        "epochs",
        "best_epoch",
        "train_segments",
        "val_segments",
        "train_stations",
        "val_stations",
        "thresholds",
        "metrics",
    )
    out = {k: summary[k] for k in keep}
    out["label"] = {k: summary["config"][k] for k in ("label_shape", "label_width")}
    out["label"]["width_unit"] = "samples"
    return _finite(out)


def _finite(value):
    """NaN → None, so that the card is strict JSON."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
