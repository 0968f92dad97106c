"""Picker models: an ONNX file plus a model card (JSON beside it), run with ONNX Runtime.

A model card says how to feed the network and read its output:

``name``            model name
``contract``        ``"window"``: fixed-length windows ``[batch, channel, sample]`` (or
                    ``[batch, sample, channel]``) in, probabilities of the same length out
                    (PhaseNet, EQTransformer-style); ``"stream"``: a record ``[sample, channel]``
                    of any length in, ``prob[M, class]`` and ``time[M]`` (sample index of each
                    row) out (the DiTing / China Seismic Network pickers)
``sampling_rate``   Hz the model expects; input is resampled to it
``window_length``   samples per window (``window`` contract)
``input_name``, ``output_name`` (``window``); ``time_name`` too for ``stream``
``min_length``      shortest input the graph accepts (``stream``); shorter chunks are
                    zero-padded and the padded rows dropped
``input_layout``    ``"NCW"``, ``"NWC"`` (``window``) or ``"WC"`` (``stream``)
``channel_order``   e.g. ``["E", "N", "Z"]``
``normalisation``   ``"std"`` (per window and channel: subtract the mean, divide by the
                    standard deviation; zero stays zero), ``"peak"`` (divide by the largest
                    absolute value), ``"demean"``, or ``"none"`` (raw counts)
``labels``          output classes, e.g. ``["noise", "P", "S"]``; ``phases`` (optional) maps
                    the classes that are phases to phase names, default: every label but
                    ``noise``
``recommended``     per phase ``{"height": ..., "distance_s": ...}``
``missing_components``  ``"zeros"`` (a station with only Z is run with zero horizontals) or
                    ``"error"``
``licence``, ``provenance``, ``citation``: where the weights come from

Bundled models live in ``seiscore/data/models/<name>/<name>.onnx``; ``load_model("phasenet")``
finds them by name, ``load_model("/path/model.onnx")`` reads ``model.json`` beside it, and
``load_model(path, card=...)`` takes a card from elsewhere (a dict or a JSON path).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .exceptions import BackendUnavailable, InputError

__all__ = ["MODELS_DIR", "Model", "ModelCard", "available_models", "load_model"]

MODELS_DIR = Path(__file__).resolve().parent / "data" / "models"

_REQUIRED = ("name", "contract", "sampling_rate", "input_name", "channel_order", "labels")
_CONTRACTS = {"window": ("NCW", "NWC"), "stream": ("WC",)}
_NORMALISATIONS = ("std", "peak", "demean", "none")


@dataclass(frozen=True)
class ModelCard:
    """What a picker expects and returns; see the module docstring for each field."""

    name: str
    contract: str
    sampling_rate: float
    input_name: str
    channel_order: tuple[str, ...]
    labels: tuple[str, ...]
    output_name: str = "prob"
    time_name: str = "time"
    window_length: int = 0
    min_length: int = 0
    input_layout: str = "NCW"
    normalisation: str = "std"
    phases: dict[str, str] = field(default_factory=dict)
    recommended: dict[str, dict[str, float]] = field(default_factory=dict)
    missing_components: str = "zeros"
    licence: str = "unknown"
    provenance: str = ""
    citation: str = ""

    @classmethod
    def from_dict(cls, raw: dict[str, Any], source: str = "model card") -> ModelCard:
        missing = [k for k in _REQUIRED if k not in raw]
        if missing:
            raise InputError(f"{source}: missing keys {missing}")
        contract = raw["contract"]
        if contract not in _CONTRACTS:
            raise InputError(
                f"{source}: contract must be one of {list(_CONTRACTS)}, got {contract!r}"
            )
        layout = raw.get("input_layout", _CONTRACTS[contract][0])
        if layout not in _CONTRACTS[contract]:
            raise InputError(
                f"{source}: input_layout {layout!r} does not fit contract {contract!r}"
            )
        norm = raw.get("normalisation", "std")
        if norm not in _NORMALISATIONS:
            raise InputError(
                f"{source}: normalisation must be one of {_NORMALISATIONS}, got {norm!r}"
            )
        labels = tuple(str(v) for v in raw["labels"])
        phases = dict(raw.get("phases") or {lab: lab for lab in labels if lab.lower() != "noise"})
        unknown = [lab for lab in phases if lab not in labels]
        if unknown:
            raise InputError(f"{source}: phases {unknown} are not among the labels {list(labels)}")
        window = int(raw.get("window_length", 0))
        if contract == "window" and window <= 0:
            raise InputError(f"{source}: the window contract needs a positive window_length")
        rate = float(raw["sampling_rate"])
        if not rate > 0:
            raise InputError(f"{source}: sampling_rate must be positive, got {rate}")
        return cls(
            name=str(raw["name"]),
            contract=contract,
            sampling_rate=rate,
            input_name=str(raw["input_name"]),
            output_name=str(raw.get("output_name", "prob")),
            time_name=str(raw.get("time_name", "time")),
            channel_order=tuple(str(c) for c in raw["channel_order"]),
            labels=labels,
            window_length=window,
            min_length=int(raw.get("min_length", 0)),
            input_layout=layout,
            normalisation=norm,
            phases=phases,
            recommended=dict(raw.get("recommended") or {}),
            missing_components=str(raw.get("missing_components", "zeros")),
            licence=str(raw.get("licence", "unknown")),
            provenance=str(raw.get("provenance", "")),
            citation=str(raw.get("citation", "")),
        )

    @property
    def phase_labels(self) -> tuple[str, ...]:
        """Labels that are phases, in output order."""
        return tuple(lab for lab in self.labels if lab in self.phases)

    def threshold(self, phase: str, key: str, default: float) -> float:
        return float(self.recommended.get(phase, {}).get(key, default))


def available_models() -> list[str]:
    """Names of the models bundled with seiscore."""
    if not MODELS_DIR.is_dir():
        return []
    return sorted(p.name for p in MODELS_DIR.iterdir() if (p / f"{p.name}.onnx").exists())


def _read_card(card) -> tuple[dict[str, Any], str]:
    if isinstance(card, dict):
        return card, "model card"
    path = Path(card)
    try:
        return json.loads(path.read_text()), str(path)
    except FileNotFoundError:
        raise InputError(f"model card not found: {path}") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON ({exc})") from None


class Model:
    """An ONNX picker with its card, ready to run (see :func:`load_model`)."""

    def __init__(
        self, path: Path, card: ModelCard, device: str = "cpu", threads: int | None = None
    ):
        import onnxruntime as ort

        self.path = path
        self.card = card
        self.device = resolve_onnx_device(device)
        options = ort.SessionOptions()
        n_threads = int(threads) if threads else (os.cpu_count() or 1)
        if n_threads < 1:
            raise InputError(f"threads must be >= 1, got {threads}")
        # Small convolutions (PhaseNet has 8-128 channels) scale poorly inside one call, so on
        # the CPU each call runs on one thread and `concurrency` calls run side by side on
        # different batches (measured: 2.4 s vs 3.5 s per PhaseNet station-day on 2 cores).
        # On a GPU one stream of calls keeps the device busy.
        self.concurrency = n_threads if self.device == "cpu" else 1
        options.intra_op_num_threads = 1 if self.device == "cpu" else n_threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        providers = (
            ["CUDAExecutionProvider", "CPUExecutionProvider"]
            if self.device == "cuda"
            else ["CPUExecutionProvider"]
        )
        try:
            self.session = ort.InferenceSession(str(path), options, providers=providers)
        except Exception as exc:  # onnxruntime raises its own exception types
            raise InputError(f"{path}: cannot load ONNX model ({exc})") from None
        if self.device == "cuda" and self.session.get_providers()[0] != "CUDAExecutionProvider":
            raise BackendUnavailable(
                f"{path}: onnxruntime-gpu is installed but could not use a CUDA device "
                f"(providers in use: {self.session.get_providers()})"
            )
        names = {i.name for i in self.session.get_inputs()}
        if card.input_name not in names:
            raise InputError(
                f"{path}: card input_name {card.input_name!r} not in the graph {sorted(names)}"
            )
        outs = {o.name for o in self.session.get_outputs()}
        wanted = [card.output_name] + ([card.time_name] if card.contract == "stream" else [])
        for name in wanted:
            if name not in outs:
                raise InputError(f"{path}: card output {name!r} not in the graph {sorted(outs)}")
        self._outputs = wanted

    def __repr__(self) -> str:
        return f"Model({self.card.name!r}, contract={self.card.contract!r}, device={self.device!r})"

    def run(self, x: np.ndarray) -> list[np.ndarray]:
        """Run the graph on one input array (already laid out as the card says)."""
        return self.session.run(self._outputs, {self.card.input_name: x})


def resolve_onnx_device(device: str) -> str:
    """``cpu`` or ``cuda`` for ONNX Runtime; ``cuda`` needs onnxruntime-gpu and a GPU."""
    if device not in ("auto", "cpu", "cuda"):
        raise InputError(f"device: expected 'auto', 'cpu' or 'cuda', got {device!r}")
    if device == "cpu":
        return "cpu"
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        return "cuda"
    if device == "auto":
        return "cpu"
    raise BackendUnavailable(
        "device='cuda' needs onnxruntime-gpu and a CUDA GPU: pip install 'seiscore[gpu]' "
        f"(onnxruntime providers here: {ort.get_available_providers()})"
    )


def load_model(
    name_or_path: str | os.PathLike, *, card=None, device: str = "cpu", threads: int | None = None
) -> Model:
    """Load a bundled model by name, or an ONNX file with its card.

    Parameters
    ----------
    name_or_path : str or path
        A bundled model's name (see :func:`available_models`) or the path of an ``.onnx`` file.
    card : dict or path, optional
        The model card; default: the ``.json`` beside the ``.onnx`` file.
    device : ``"cpu"``, ``"cuda"`` or ``"auto"``
        ONNX Runtime execution provider; ``"cuda"`` raises ``BackendUnavailable`` without
        onnxruntime-gpu and a GPU.
    threads : int, optional
        CPU threads for inference (default: all cores): on the CPU, this many single-threaded
        ONNX Runtime calls run concurrently on different batches.
    """
    text = str(name_or_path)
    path = Path(text)
    if path.suffix.lower() != ".onnx":
        if text in available_models():
            path = MODELS_DIR / text / f"{text}.onnx"
        else:
            raise InputError(
                f"unknown model {text!r}: bundled models are {available_models()}, "
                "or give the path of an .onnx file"
            )
    if not path.exists():
        raise InputError(f"model file not found: {path}")
    if card is None:
        card = path.with_suffix(".json")
        if not card.exists():
            raise InputError(f"{path}: no model card; expected {card} (or pass card=...)")
    raw, source = _read_card(card)
    return Model(path, ModelCard.from_dict(raw, source), device=device, threads=threads)
