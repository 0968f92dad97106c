"""The training loop: batches from a window store, checkpoints, validation loss and picks.

Each step draws ``batch_size`` training segments (a new permutation every epoch), cuts a window
from each at a random place, augments it (:mod:`.augment`), normalises it as the model card
says and makes its labels (:mod:`.labels`); the loss is the cross-entropy between the soft
labels and the network's softmax over noise, P and S, averaged over the samples outside the
loss-free zones. Adam. Every random draw comes from a generator seeded by ``(seed, epoch,
step)``, so a run resumed from its checkpoint draws what the uninterrupted run would have drawn.

Validation windows are cut once, at places drawn from the seed, without augmentation; after
each epoch (and once before the first) their loss is recorded, and the weights of the epoch with
the lowest validation loss are kept (:attr:`TrainResult.best_state`). A checkpoint
(``last.pt``: model, optimiser, history, best weights) is written after every epoch.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 (the usual name)

from .augment import AugmentConfig, augment_window, cut_window
from .labels import loss_weights, normalise, phase_labels
from .store import PHASE_KEYS, WindowStore

__all__ = ["Batch", "TrainConfig", "TrainResult", "fit", "make_batch", "predict"]

#: validation windows kept in memory at most (a random, fixed subset beyond that)
MAX_VALIDATION_WINDOWS = 2048
#: a small validation set is cut several times (up to 8 windows per segment, each at its own
#: fixed place) so that its metrics do not hang on where one window happens to start
MIN_VALIDATION_WINDOWS = 64


@dataclass
class TrainConfig:
    """Settings of a training run (label width in samples, ``ignore_s`` in seconds)."""

    epochs: int = 10
    batch_size: int = 16
    lr: float = 1e-4
    weight_decay: float = 0.0
    steps_per_epoch: int | None = None  # None: one pass over the training segments
    label_shape: str = "gaussian"
    label_width: float = 10.0
    ignore_s: float = 0.2
    normalisation: str = "std"
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    seed: int = 0
    threads: int | None = None

    def as_dict(self) -> dict:
        out = asdict(self)
        out["augment"] = self.augment.as_dict()
        return out


@dataclass
class Batch:
    """Network input ``x[window, channel, sample]`` (normalised), target ``y[window, class,
    sample]``, loss weights ``w[window, sample]`` and the pick positions of each window
    (``picks[key][window, K]``, NaN-padded; keys ``P, S, P_ignore, S_ignore``)."""

    x: np.ndarray
    y: np.ndarray
    w: np.ndarray
    picks: dict[str, np.ndarray]


def make_batch(
    store: WindowStore,
    index,
    window: int,
    config: TrainConfig,
    rng: np.random.Generator,
    *,
    train: bool,
) -> Batch:
    """Windows of the segments ``index``: shifted and augmented when ``train``, else cut at
    places drawn from ``rng`` only."""
    index = np.asarray(index, np.int64)
    segments = store.waveforms(index)
    fs = store.sampling_rate
    aug = config.augment
    xs, ys, ws = [], [], []
    picks: dict[str, list] = {k: [] for k in PHASE_KEYS}
    for j, i in enumerate(index):
        start = cut_window(
            segments[j],
            store.valid[i],
            store.anchor[i],
            window,
            rng,
            guard=aug.guard,
            shift=aug.shift,
        )
        x = segments[j][:, start : start + window]
        here = {}
        for key in PHASE_KEYS:
            pos = store.picks[key][i]
            pos = pos[np.isfinite(pos)] - start
            here[key] = pos[(pos >= 0) & (pos < window)]
        if train:
            x, here = augment_window(x, here, aug, rng)
        xs.append(normalise(x, config.normalisation))
        ys.append(
            phase_labels(here["P"], here["S"], window, config.label_shape, config.label_width)
        )
        ignore = np.concatenate([here["P_ignore"], here["S_ignore"]])
        ws.append(loss_weights(ignore, window, config.ignore_s * fs))
        for key in PHASE_KEYS:
            picks[key].append(here[key])
    return Batch(np.stack(xs), np.stack(ys), np.stack(ws), {k: _pad(v) for k, v in picks.items()})


def _pad(rows: list[np.ndarray]) -> np.ndarray:
    k = max([len(r) for r in rows] + [1])
    out = np.full((len(rows), k), np.nan, np.float32)
    for i, r in enumerate(rows):
        out[i, : len(r)] = r
    return out


def _loss(net, x, y, w) -> torch.Tensor:
    logp = F.log_softmax(net(x), dim=1)
    per_sample = -(y * logp).sum(dim=1)
    return (per_sample * w).sum() / w.sum().clamp(min=1.0)


def predict(net, x: np.ndarray, batch_size: int = 16) -> np.ndarray:
    """Probabilities ``[window, class, sample]`` of normalised windows, in evaluation mode."""
    net.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            out.append(net.probabilities(torch.from_numpy(x[i : i + batch_size])).numpy())
    return np.concatenate(out) if out else np.zeros((0, 3, x.shape[-1]), np.float32)


def validation_loss(net, batch: Batch, batch_size: int = 16) -> float:
    net.eval()
    total, weight = 0.0, 0.0
    with torch.no_grad():
        for i in range(0, len(batch.x), batch_size):
            sl = slice(i, i + batch_size)
            w = torch.from_numpy(batch.w[sl])
            loss = _loss(net, torch.from_numpy(batch.x[sl]), torch.from_numpy(batch.y[sl]), w)
            total += float(loss) * float(w.sum())
            weight += float(w.sum())
    return total / weight if weight else float("nan")


@dataclass
class TrainResult:
    """History (one row per epoch, epoch 0 = before training), the epoch whose weights are
    kept (lowest validation loss) and those weights, and the validation windows."""

    history: list[dict]
    best_epoch: int
    best_state: dict
    validation: Batch
    seconds: float


def validation_windows(store, val_index, window: int, config: TrainConfig) -> Batch:
    """The fixed validation windows (at most :data:`MAX_VALIDATION_WINDOWS`; a segment gives
    several when there are fewer than :data:`MIN_VALIDATION_WINDOWS`)."""
    val_index = np.asarray(val_index, np.int64)
    rng = np.random.default_rng([config.seed, 2**20])
    if len(val_index):
        repeats = min(8, max(1, MIN_VALIDATION_WINDOWS // len(val_index)))
        val_index = np.repeat(val_index, repeats)
    if len(val_index) > MAX_VALIDATION_WINDOWS:
        val_index = np.sort(rng.choice(val_index, MAX_VALIDATION_WINDOWS, replace=False))
    return make_batch(store, val_index, window, config, rng, train=False)


def fit(
    net,
    store: WindowStore,
    train_index,
    val_index,
    config: TrainConfig,
    *,
    checkpoint_dir=None,
    resume=None,
    progress: bool = True,
) -> TrainResult:
    """Train ``net`` in place (see the module docstring); returns the :class:`TrainResult`.

    ``resume``: a checkpoint written by an earlier run with the same data and settings; the run
    continues after its last epoch up to ``config.epochs``.
    """
    # long function: the loop reads best as one piece (resume, epochs, validation, checkpoint)
    from tqdm.auto import tqdm

    if config.threads:
        torch.set_num_threads(int(config.threads))
    torch.manual_seed(config.seed)
    window = int(net.window)
    train_index = np.asarray(train_index, np.int64)
    if not len(train_index):
        raise ValueError("no training segments")
    opt = torch.optim.Adam(net.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    val = validation_windows(store, val_index, window, config)
    history: list[dict] = []
    best_state, best_epoch, best_loss, first = None, 0, math.inf, 0
    if resume is not None:
        ck = torch.load(resume, map_location="cpu", weights_only=False)
        net.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        history, first = ck["history"], int(ck["epoch"])
        best_state, best_epoch, best_loss = ck["best_state"], ck["best_epoch"], ck["best_loss"]
    elif len(val.x):
        best_loss = validation_loss(net, val)
        best_state, best_epoch = copy.deepcopy(net.state_dict()), 0
        history.append({"epoch": 0, "train_loss": None, "val_loss": best_loss, "seconds": 0.0})
    steps = config.steps_per_epoch or max(1, math.ceil(len(train_index) / config.batch_size))
    t_start = time.perf_counter() - sum(h["seconds"] for h in history)
    for epoch in range(first + 1, config.epochs + 1):
        t0 = time.perf_counter()
        net.train()
        order = np.random.default_rng([config.seed, epoch]).permutation(
            np.resize(train_index, steps * config.batch_size)
        )
        losses = []
        bar = tqdm(
            range(steps),
            desc=f"epoch {epoch}/{config.epochs}",
            unit="step",
            disable=not progress,
            leave=False,
        )
        for step in bar:
            rng = np.random.default_rng([config.seed, epoch, step])
            idx = order[step * config.batch_size : (step + 1) * config.batch_size]
            b = make_batch(store, idx, window, config, rng, train=True)
            opt.zero_grad()
            loss = _loss(net, torch.from_numpy(b.x), torch.from_numpy(b.y), torch.from_numpy(b.w))
            loss.backward()
            opt.step()
            losses.append(loss.item())
            bar.set_postfix(loss=f"{np.mean(losses):.4f}")
        val_loss = validation_loss(net, val) if len(val.x) else float("nan")
        row = {
            "epoch": epoch,
            "train_loss": float(np.mean(losses)),
            "val_loss": val_loss,
            "seconds": time.perf_counter() - t0,
        }
        history.append(row)
        if progress:
            print(
                f"epoch {epoch}/{config.epochs}: train loss {row['train_loss']:.4f}, "
                f"validation loss {val_loss:.4f} ({row['seconds']:.0f} s)",
                flush=True,
            )
        if not len(val.x) or val_loss < best_loss:
            best_state, best_epoch, best_loss = copy.deepcopy(net.state_dict()), epoch, val_loss
        if checkpoint_dir is not None:
            _save_checkpoint(
                checkpoint_dir, net, opt, epoch, history, best_state, best_epoch, best_loss, config
            )
    return TrainResult(
        history, best_epoch, best_state or net.state_dict(), val, time.perf_counter() - t_start
    )


def _save_checkpoint(
    folder, net, opt, epoch, history, best_state, best_epoch, best_loss, config
) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "last.pt"
    tmp = folder / "last.pt.tmp"
    torch.save(
        {
            "model": net.state_dict(),
            "optimizer": opt.state_dict(),
            "epoch": epoch,
            "history": history,
            "best_state": best_state,
            "best_epoch": best_epoch,
            "best_loss": best_loss,
            "config": config.as_dict(),
        },
        tmp,
    )
    tmp.replace(path)
    return path
