"""PhaseLink linkers in torch (*torch*): the networks, training on synthetic pick sequences, and
export to ONNX with a card.

A linker reads a sequence of picks ``x[batch, pick, 5]`` — rows ``(x, y, dt, phase, valid)``,
the first the start pick, padding rows zero (``seiscore.association.linker``) — and gives per
pick the logit of "belongs to the start pick's event". Two networks:

* :class:`StackedGRU` — PhaseLink's (Ross et al. 2019): a per-pick MLP, a stack of
  bidirectional GRUs, a linear output. Ours also gives every pick the start pick's features and
  their difference (the network need not carry the start pick through the recurrence), and is
  narrower by default (64 units), so that it trains on two CPU cores;
* :class:`PickTransformer` — a small pre-norm transformer encoder over the picks with the same
  per-pick inputs, padding masked out of the attention (its answers do not depend on how long a
  batch is padded).

:func:`fit_linker` trains either on sequences from a ``sample(n, first)`` callable (the C++
generator, :func:`seiscore.association.synthetic_sequences`): step ``s`` reads sequences
``s * batch_size ...``, so a resumed run sees what the uninterrupted run would have seen.
Binary cross-entropy over the picks (padding excluded), AdamW, a linear warm-up and a cosine
decay; a fixed validation set (sequences from index 2**40 on) scored every ``eval_every``
steps; the weights with the lowest validation loss are kept; a checkpoint every
``checkpoint_every`` steps. :func:`export_linker` writes the ONNX file (probabilities, dynamic
batch and length) and its card, and checks ONNX Runtime against torch on validation sequences.
"""

from __future__ import annotations

import copy
import json
import math
import os
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

__all__ = [
    "LinkerExport",
    "LinkerTrainConfig",
    "LinkerTrainResult",
    "PickTransformer",
    "StackedGRU",
    "build_linker",
    "export_linker",
    "fit_linker",
    "link_probabilities",
]

N_FEATURES = 5
VALIDATION_FIRST = 2**40  # validation sequences are drawn from here on (training from 0)
BUCKETS = 8  # batches of similar length made at once
ROWS_PER_SEQUENCE = 32.0  # loss normaliser: a typical sequence length
TOLERANCE = 1e-4


def _pick_inputs(x: torch.Tensor) -> torch.Tensor:
    """Per pick: its features, the start pick's and their difference, and the station distance
    to the start pick's station (16 values)."""
    x0 = x[:, :1, :].expand_as(x)
    d = x - x0
    dist = torch.sqrt(d[..., 0:1] * d[..., 0:1] + d[..., 1:2] * d[..., 1:2] + 1e-12)
    return torch.cat([x, x0, d, dist], dim=-1)


class StackedGRU(nn.Module):
    """PhaseLink's network: per-pick MLP → stacked bidirectional GRU → linear → logit."""

    def __init__(self, hidden: int = 64, layers: int = 2, width: int = 64, n_mlp: int = 3):
        super().__init__()
        mlp, size = [], 3 * N_FEATURES + 1
        for _ in range(n_mlp):
            mlp += [nn.Linear(size, width), nn.ReLU()]
            size = width
        self.mlp = nn.Sequential(*mlp)
        self.gru = nn.GRU(width, hidden, num_layers=layers, batch_first=True, bidirectional=True)
        self.out = nn.Linear(2 * hidden, 1)
        self.settings = {"architecture": "gru", "hidden": hidden, "layers": layers,
                         "width": width, "n_mlp": n_mlp}  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, _ = self.gru(self.mlp(_pick_inputs(x)))
        return self.out(h).squeeze(-1)


class _Block(nn.Module):
    """Pre-norm self-attention and feed-forward, padding keys masked by ``bias``."""

    def __init__(self, d: int, heads: int, ffn: int):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.norm2 = nn.LayerNorm(d)
        self.ff = nn.Sequential(nn.Linear(d, ffn), nn.ReLU(), nn.Linear(ffn, d))

    def forward(self, h: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        b, n, d = h.shape
        q, k, v = self.qkv(self.norm1(h)).reshape(b, n, 3, self.heads, d // self.heads).unbind(2)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        att = torch.softmax(q @ k.transpose(-1, -2) * (d // self.heads) ** -0.5 + bias, dim=-1)
        h = h + self.proj((att @ v).transpose(1, 2).reshape(b, n, d))
        return h + self.ff(self.norm2(h))


class PickTransformer(nn.Module):
    """Per-pick MLP → pre-norm transformer blocks (padding masked) → linear → logit."""

    def __init__(self, d: int = 64, heads: int = 4, layers: int = 3, ffn: int = 128):
        super().__init__()
        if d % heads:
            raise ValueError(f"d={d} must be a multiple of heads={heads}")
        self.embed = nn.Sequential(
            nn.Linear(3 * N_FEATURES + 1, d), nn.ReLU(), nn.Linear(d, d), nn.ReLU(), nn.Linear(d, d)
        )
        self.blocks = nn.ModuleList(_Block(d, heads, ffn) for _ in range(layers))
        self.norm = nn.LayerNorm(d)
        self.out = nn.Linear(d, 1)
        self.settings = {"architecture": "transformer", "d": d, "heads": heads,
                         "layers": layers, "ffn": ffn}  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bias = ((x[..., 4] - 1.0) * 1e4)[:, None, None, :]  # 0 for picks, -1e4 for padding
        h = self.embed(_pick_inputs(x))
        for block in self.blocks:
            h = block(h, bias)
        return self.out(self.norm(h)).squeeze(-1)


def build_linker(architecture: str = "transformer", **settings) -> nn.Module:
    """A new :class:`PickTransformer` (``"transformer"``) or :class:`StackedGRU` (``"gru"``)."""
    if architecture == "transformer":
        return PickTransformer(**settings)
    if architecture == "gru":
        return StackedGRU(**settings)
    raise ValueError(f"architecture: expected 'transformer' or 'gru', got {architecture!r}")


class _Probabilities(nn.Module):
    """What the ONNX file computes: link probabilities, zero on padding rows."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net(x)) * x[..., 4]


# ----------------------------------------------------------------------------------- training


@dataclass
class LinkerTrainConfig:
    """Settings of :func:`fit_linker`."""

    steps: int = 3000
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 100
    val_sequences: int = 1024
    eval_every: int = 250
    checkpoint_every: int = 250
    max_minutes: float | None = None
    seed: int = 0
    threads: int | None = None

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class LinkerTrainResult:
    """History (one row per evaluation: step, train loss since the last, validation loss,
    precision, recall), the step whose weights are kept and those weights, the validation
    sequences (``x``, ``y``), the wall time and the steps done."""

    history: list[dict]
    best_step: int
    best_state: dict
    validation: tuple
    seconds: float
    steps_done: int
    stopped_early: bool = False
    notes: list[str] = field(default_factory=list)


def _masked_loss(
    logits: torch.Tensor, y: torch.Tensor, valid: torch.Tensor, per: float
) -> torch.Tensor:
    """Binary cross-entropy summed over the picks (padding excluded), divided by ``per``: a
    constant, so that every pick weighs the same whatever the length of its batch."""
    loss = nn.functional.binary_cross_entropy_with_logits(logits, y, reduction="none")
    return (loss * valid).sum() / per


def _trim(x: np.ndarray, y: np.ndarray, length: np.ndarray):
    """The batch cut to its longest sequence."""
    k = max(1, int(length.max(initial=1)))
    return np.ascontiguousarray(x[:, :k]), np.ascontiguousarray(y[:, :k])


def link_probabilities(net: nn.Module, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Probabilities ``[n, k]`` of sequences ``x[n, k, 5]`` (evaluation mode; zero on padding).
    Sequences run in batches of similar length, each cut to its longest."""
    net.eval()
    wrapped = _Probabilities(net)
    length = (x[..., 4] > 0).sum(axis=1)
    order = np.argsort(length, kind="stable")
    out = np.zeros(x.shape[:2], np.float32)
    with torch.no_grad():
        for i in range(0, len(x), batch_size):
            sel = order[i : i + batch_size]
            k = max(1, int(length[sel].max()))
            out[sel, :k] = wrapped(torch.from_numpy(np.ascontiguousarray(x[sel, :k]))).numpy()
    return out


def validation_scores(net: nn.Module, x: np.ndarray, y: np.ndarray, batch_size: int = 256) -> dict:
    """Loss, and precision and recall of the links at probability 0.5 (the start pick itself
    left out) on the validation sequences."""
    p = link_probabilities(net, x, batch_size)
    valid = x[..., 4] > 0
    eps = 1e-7
    pc = np.clip(p, eps, 1 - eps)
    loss = float(-(y * np.log(pc) + (1 - y) * np.log(1 - pc))[valid].mean())
    rest = valid.copy()
    rest[:, 0] = False
    pred, true = (p >= 0.5) & rest, (y > 0.5) & rest
    tp = int((pred & true).sum())
    precision = tp / max(int(pred.sum()), 1)
    recall = tp / max(int(true.sum()), 1)
    return {"val_loss": loss, "precision": precision, "recall": recall}


def _lr_factor(step: int, config: LinkerTrainConfig) -> float:
    if step < config.warmup_steps:
        return (step + 1) / max(config.warmup_steps, 1)
    span = max(config.steps - config.warmup_steps, 1)
    return 0.05 + 0.95 * 0.5 * (
        1.0 + math.cos(math.pi * min(step - config.warmup_steps, span) / span)
    )


@dataclass
class _State:
    """What a checkpoint holds besides the model and optimiser."""

    step: int = 0
    history: list = field(default_factory=list)
    best_state: dict | None = None
    best_step: int = 0
    best_loss: float = math.inf
    seconds: float = 0.0
    losses: list = field(default_factory=list)
    context: dict = field(default_factory=dict)


def _evaluate(net, state: _State, val, t_run: float, say=None) -> None:
    scores = validation_scores(net, *val)
    row = {
        "step": state.step,
        "train_loss": float(np.mean(state.losses)) if state.losses else None,
        **scores,
        "seconds": state.seconds + t_run,
    }
    state.history.append(row)
    state.losses = []
    if scores["val_loss"] < state.best_loss:
        state.best_loss, state.best_step = scores["val_loss"], state.step
        state.best_state = copy.deepcopy(net.state_dict())
    if say is not None:
        tl = "-" if row["train_loss"] is None else f"{row['train_loss']:.4f}"
        say(
            f"step {state.step}: train loss {tl}, validation loss {scores['val_loss']:.4f}, "
            f"precision {scores['precision']:.3f}, recall {scores['recall']:.3f} "
            f"({row['seconds']:.0f} s)"
        )


def fit_linker(
    net: nn.Module,
    sample,
    config: LinkerTrainConfig,
    *,
    checkpoint_dir=None,
    resume=None,
    progress: bool = True,
    context: dict | None = None,
) -> LinkerTrainResult:
    """Train ``net`` in place on ``sample(n, first) -> (x, y, length)`` (see the module
    docstring); ``resume``: a checkpoint of an earlier run with the same settings and
    ``context`` (anything the caller wants checked on resume, e.g. a fingerprint of the data
    settings; kept in the checkpoint)."""
    from tqdm.auto import tqdm

    if config.threads:
        torch.set_num_threads(int(config.threads))
    torch.manual_seed(config.seed)
    x_val, y_val, len_val = sample(config.val_sequences, VALIDATION_FIRST)
    val = _trim(x_val, y_val, len_val)
    opt = torch.optim.AdamW(net.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    state = _State(context=dict(context or {}))
    if resume is not None:
        state = _load_checkpoint(resume, net, opt, state.context)
    t0 = time.perf_counter()
    buckets = _Buckets(sample, config.batch_size, config.seed)
    bar = tqdm(total=config.steps, initial=state.step, unit="step", disable=not progress)
    say = bar.write if progress else None
    if not state.history:
        _evaluate(net, state, val, 0.0, say)
    stopped = False
    while state.step < config.steps:
        if (
            config.max_minutes
            and state.seconds + time.perf_counter() - t0 > 60 * config.max_minutes
        ):
            stopped = True
            break
        _train_step(net, opt, buckets, state, config)
        bar.update(1)
        if state.losses:
            bar.set_postfix(loss=f"{np.mean(state.losses[-50:]):.4f}")
        due_eval = state.step % config.eval_every == 0 or state.step == config.steps
        if due_eval:
            _evaluate(net, state, val, time.perf_counter() - t0, say)
        if checkpoint_dir is not None and (
            state.step % config.checkpoint_every == 0 or state.step == config.steps
        ):
            _save_checkpoint(checkpoint_dir, net, opt, state, config, time.perf_counter() - t0)
    if state.history[-1]["step"] != state.step:
        _evaluate(net, state, val, time.perf_counter() - t0, say)
    bar.close()
    seconds = state.seconds + time.perf_counter() - t0
    if checkpoint_dir is not None:
        _save_checkpoint(checkpoint_dir, net, opt, state, config, time.perf_counter() - t0)
    notes = []
    if stopped:
        notes.append(
            f"stopped after {state.step} of {config.steps} steps: the time budget of "
            f"{config.max_minutes:g} minutes was spent"
        )
    return LinkerTrainResult(
        state.history, state.best_step, state.best_state or net.state_dict(), val, seconds,
        state.step, stopped, notes,
    )  # fmt: skip


class _Buckets:
    """Training batches of similar lengths: step ``s`` belongs to group ``s // BUCKETS``, whose
    ``BUCKETS * batch_size`` sequences (``sample(n, first)`` from ``group * BUCKETS *
    batch_size``) are sorted by length, cut into ``BUCKETS`` batches and served in an order
    drawn from ``(seed, group)``: less padding, and the same batches after a resume."""

    def __init__(self, sample, batch_size: int, seed: int):
        self.sample, self.batch_size, self.seed = sample, batch_size, seed
        self.group, self.batches = -1, []

    def batch(self, step: int):
        group, slot = divmod(step, BUCKETS)
        if group != self.group:
            n = BUCKETS * self.batch_size
            x, y, length = self.sample(n, group * n)
            order = np.argsort(length, kind="stable")
            cuts = [order[i : i + self.batch_size] for i in range(0, n, self.batch_size)]
            perm = np.random.default_rng([self.seed, group]).permutation(len(cuts))
            self.batches = [(x[cuts[i]], y[cuts[i]], length[cuts[i]]) for i in perm]
            self.group = group
        return _trim(*self.batches[slot])


def _train_step(net, opt, buckets: _Buckets, state: _State, config: LinkerTrainConfig) -> None:
    x, y = buckets.batch(state.step)
    for group in opt.param_groups:
        group["lr"] = config.lr * _lr_factor(state.step, config)
    net.train()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    loss = _masked_loss(net(xt), yt, xt[..., 4], config.batch_size * ROWS_PER_SEQUENCE)
    opt.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(net.parameters(), 1.0)
    opt.step()
    state.losses.append(float(loss.detach()))
    state.step += 1


def _save_checkpoint(folder, net, opt, state: _State, config, run_seconds: float) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path, tmp = folder / "last.pt", folder / "last.pt.tmp"
    torch.save(
        {
            "model": net.state_dict(),
            "optimizer": opt.state_dict(),
            "step": state.step,
            "history": state.history,
            "best_state": state.best_state,
            "best_step": state.best_step,
            "best_loss": state.best_loss,
            "seconds": state.seconds + run_seconds,
            "config": config.as_dict(),
            "settings": getattr(net, "settings", {}),
            "context": state.context,
        },
        tmp,
    )
    tmp.replace(path)
    return path


def _load_checkpoint(path, net, opt, context: dict) -> _State:
    ck = torch.load(path, map_location="cpu", weights_only=False)
    if ck.get("settings", {}) != getattr(net, "settings", {}):
        raise ValueError(
            f"{path}: the checkpoint is of a {ck.get('settings')} network, not {net.settings}"
        )
    if ck.get("context", {}) != context:
        raise ValueError(
            f"{path}: the checkpoint was trained with other settings ({ck.get('context')}, not "
            f"{context}); start afresh or resume with the settings it was made with"
        )
    net.load_state_dict(ck["model"])
    opt.load_state_dict(ck["optimizer"])
    return _State(
        step=int(ck["step"]),
        history=list(ck["history"]),
        best_state=ck["best_state"],
        best_step=int(ck["best_step"]),
        best_loss=float(ck["best_loss"]),
        seconds=float(ck["seconds"]),
        context=context,
    )


# ------------------------------------------------------------------------------------- export


@dataclass
class LinkerExport:
    onnx: Path
    card: Path
    max_abs_diff: float
    sequences_checked: int


def export_linker(
    net: nn.Module,
    output,
    card: dict,
    check_x: np.ndarray,
    *,
    input_name: str = "picks",
    output_name: str = "link_probability",
    tolerance: float = TOLERANCE,
) -> LinkerExport:
    """Write ``output`` (ONNX: ``input_name`` float32 ``[batch, picks, 5]`` →
    ``output_name`` ``[batch, picks]``) and its card (``output`` with ``.json``, with the
    measured ``onnx_max_abs_diff`` added to ``card["training"]``), after checking ONNX Runtime
    against torch on ``check_x`` (ValueError beyond ``tolerance``)."""
    import onnx
    import onnxruntime as ort

    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    net.eval()
    wrapped = _Probabilities(net).eval()
    tmp = output.with_name(output.name + ".tmp")
    example = torch.from_numpy(
        np.ascontiguousarray(check_x[:2, : max(2, min(8, check_x.shape[1]))])
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notes
        torch.onnx.export(
            wrapped, (example,), str(tmp), dynamo=False, opset_version=17,
            input_names=[input_name], output_names=[output_name],
            dynamic_axes={input_name: {0: "batch", 1: "picks"},
                          output_name: {0: "batch", 1: "picks"}},
        )  # fmt: skip
    model = onnx.load(str(tmp))
    model.producer_name = "seiscore training (seiscore train-associator)"
    model.doc_string = str(card.get("provenance", ""))
    onnx.checker.check_model(model, full_check=True)
    onnx.save_model(model, str(tmp))
    session = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
    ours = link_probabilities(net, check_x)
    theirs = ours
    if len(check_x):
        parts = range(0, len(check_x), 256)
        theirs = np.concatenate(
            [session.run(None, {input_name: check_x[i : i + 256]})[0] for i in parts]
        )
    diff = float(np.abs(ours - theirs).max(initial=0.0))
    if not diff <= tolerance:
        tmp.unlink(missing_ok=True)
        raise ValueError(f"{output}: ONNX and torch differ by {diff:.3g} (> {tolerance})")
    os.replace(tmp, output)
    card = dict(card)
    card["training"] = dict(card.get("training", {}), onnx_max_abs_diff=diff,
                            onnx_sequences_checked=len(check_x))  # fmt: skip
    card_path = output.with_suffix(".json")
    ctmp = card_path.with_name(card_path.name + ".tmp")
    ctmp.write_text(json.dumps(card, indent=2) + "\n")
    os.replace(ctmp, card_path)
    return LinkerExport(output, card_path, diff, len(check_x))
