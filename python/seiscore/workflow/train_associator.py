"""The training job behind ``seiscore train-associator``: a station file and a velocity model in,
a PhaseLink linker for that network out (ONNX file, its card, checkpoints).

Steps: read the stations (anything :func:`seiscore.io.stations.read_stations` reads) and the
velocity model (a file, or a homogeneous ``vp``/``vs``); make the network's linker setting
(:func:`seiscore.association.linker_network`: projection, travel-time tables, volume, feature
scales, window, pair filter) and its generator settings (:func:`seiscore.association.
generator_settings`, with any overrides); train the torch network on synthetic sequences from
the C++ generator (:func:`seiscore.training.phaselink.fit_linker`: progress bar, a checkpoint
every few hundred steps in ``<output>_checkpoints/``, resumable, optionally stopped by a time
budget); export ONNX + card and check them against torch on the validation sequences.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .. import association, traveltime
from ..exceptions import ConfigError, InputError
from ..io.stations import read_stations
from ..training import phaselink as tlink


@dataclass
class TrainAssociatorSettings:
    """What ``seiscore train-associator`` was asked; see :func:`run_train_associator_job`."""

    output: str
    stations: str
    model: str | None = None
    vp: float | None = None
    vs: float | None = None
    xlim: tuple | None = None
    ylim: tuple | None = None
    zlim: tuple = (0.0, 30.0)
    reference: tuple | None = None
    window_s: float | None = None
    max_picks: int = 256
    architecture: str = "transformer"
    steps: int = 6000
    batch_size: int = 64
    lr: float = 1e-3
    minutes: float | None = None
    val_sequences: int = 1024
    generator: dict = field(default_factory=dict)
    seed: int = 0
    threads: int | None = None
    resume: str | None = None
    name: str | None = None
    progress: bool = True


@dataclass
class TrainAssociatorResult:
    onnx: Path
    card: Path
    summary: dict
    notes: list[str] = field(default_factory=list)


def _velocity(s: TrainAssociatorSettings):
    if s.model is not None and (s.vp is not None or s.vs is not None):
        raise ConfigError("give either a model file (--model) or --vp and --vs, not both")
    if s.model is not None:
        if not Path(s.model).exists():
            raise InputError(f"velocity model file not found: {s.model}")
        return traveltime.VelocityModel.from_file(s.model)
    if s.vp is None or s.vs is None:
        raise ConfigError("a velocity model is required: --model FILE, or --vp and --vs")
    return traveltime.VelocityModel.homogeneous(float(s.vp), float(s.vs))


def _check(s: TrainAssociatorSettings) -> None:
    if not str(s.output).endswith(".onnx"):
        raise ConfigError(f"-o {s.output}: the linker file must end in .onnx")
    if s.steps < 1 or s.batch_size < 1 or not s.lr > 0 or s.val_sequences < 1:
        raise ConfigError("--steps, --batch-size and --val-sequences must be >= 1, --lr positive")
    if s.minutes is not None and not s.minutes > 0:
        raise ConfigError(f"--minutes must be positive, got {s.minutes}")
    if s.architecture not in ("transformer", "gru"):
        raise ConfigError(f"--architecture: transformer or gru, got {s.architecture!r}")
    if not 8 <= s.max_picks <= 4096:
        raise ConfigError(f"--max-picks must lie in [8, 4096], got {s.max_picks}")


def _resume_path(s: TrainAssociatorSettings, checkpoints: Path) -> Path | None:
    if s.resume is None:
        return None
    path = checkpoints / "last.pt" if s.resume == "auto" else Path(s.resume)
    if not path.is_file():
        raise InputError(f"--resume: no checkpoint at {path}")
    return path


def _fingerprint(card_network: dict, generator: dict, s: TrainAssociatorSettings) -> str:
    """What a checkpoint must have been trained on to be resumed (network, generator, model
    and optimisation settings, seed; ``steps`` may grow: a resumed run can train longer)."""
    what = {
        "network": card_network,
        "generator": generator,
        "architecture": s.architecture,
        "batch_size": s.batch_size,
        "lr": s.lr,
        "seed": s.seed,
        "val_sequences": s.val_sequences,
    }
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:16]


def run_train_associator_job(s: TrainAssociatorSettings) -> TrainAssociatorResult:
    """Train a linker for the stations and velocity model of ``s`` and write it (see the module
    docstring); returns the files and a summary (steps, time, validation scores, ONNX check)."""
    _check(s)
    t_start = time.perf_counter()
    notes: list[str] = []
    stations = read_stations(s.stations, messages=notes)
    network = association.linker_network(
        stations, _velocity(s), xlim=s.xlim, ylim=s.ylim, zlim=s.zlim, reference=s.reference,
        window_s=s.window_s, max_picks=s.max_picks, workers=s.threads,
    )  # fmt: skip
    generator = association.generator_settings(network, **s.generator)
    out = Path(s.output)
    checkpoints = out.with_name(out.stem + "_checkpoints")
    resume = _resume_path(s, checkpoints)
    fingerprint = _fingerprint(network.card(), generator, s)

    def sample(n, first):
        return association.synthetic_sequences(
            network, n, seed=s.seed, first=first, settings=generator, workers=s.threads
        )

    net = tlink.build_linker(s.architecture)
    config = tlink.LinkerTrainConfig(
        steps=s.steps, batch_size=s.batch_size, lr=s.lr, val_sequences=s.val_sequences,
        max_minutes=s.minutes, seed=s.seed, threads=s.threads,
    )  # fmt: skip
    try:
        result = tlink.fit_linker(
            net, sample, config, checkpoint_dir=checkpoints, resume=resume, progress=s.progress,
            context={"fingerprint": fingerprint},
        )
    except ValueError as exc:  # a checkpoint of other settings
        if resume is None:
            raise
        raise ConfigError(f"--resume {resume}: {exc}") from None  # fmt: skip
    notes.extend(result.notes)
    net.load_state_dict(result.best_state)
    best = next(h for h in result.history if h["step"] == result.best_step)
    training = {
        "steps": result.steps_done,
        "best_step": result.best_step,
        "seconds": round(result.seconds, 1),
        "config": config.as_dict(),
        "validation": {k: best[k] for k in ("val_loss", "precision", "recall")},
        "history": result.history,
        "fingerprint": fingerprint,
    }
    name = s.name or out.stem
    card = association.linker_card(
        network, name=name, generator=generator, model=dict(net.settings), training=training,
        provenance=f"seiscore train-associator: {len(stations)} stations from {s.stations}, "
        f"velocity model {network.model!r}; synthetic picks only (seed {s.seed})",
    )  # fmt: skip
    x_val, _ = result.validation
    exported = tlink.export_linker(net, out, card, x_val)
    summary = {
        "stations": len(stations),
        "window_s": network.features["window_s"],
        "max_picks": network.features["max_picks"],
        "architecture": s.architecture,
        "parameters": int(sum(p.numel() for p in net.parameters())),
        "steps": result.steps_done,
        "best_step": result.best_step,
        "train_seconds": result.seconds,
        "total_seconds": time.perf_counter() - t_start,
        "validation": training["validation"],
        "onnx_max_abs_diff": exported.max_abs_diff,
        "settings": {k: v for k, v in asdict(s).items() if k != "progress"},
    }
    return TrainAssociatorResult(exported.onnx, exported.card, summary, notes + network.notes)
