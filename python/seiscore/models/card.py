"""The model card: how to feed a network and read its output (a JSON file beside the ONNX).

Fields (``*``: required):

``name`` *          model name
``contract`` *      ``"window"``: fixed-length windows ``[batch, channel, sample]`` (or
                    ``[batch, sample, channel]``) in, probability traces of the same length out
                    (PhaseNet, EQTransformer, SeisT); ``"stream"``: a record ``[sample, channel]``
                    of any length in, ``prob[M, class]`` and ``time[M]`` (sample index of each
                    row) out (the DiTing / China Seismic Network pickers); ``"single"``: one
                    fixed window cut around a P pick in, one row out per window: class
                    probabilities or values (P polarity, magnitude, back-azimuth, distance)
``sampling_rate`` * Hz the model expects; input is resampled to it
``window_length``   samples per window (``window`` and ``single``)
``input_name`` *, ``output_name`` (``window``, ``single``); ``time_name`` too for ``stream``
``min_length``      shortest input the graph accepts (``stream``); shorter chunks are
                    zero-padded and the padded rows dropped
``input_layout``    ``"NCW"``, ``"NWC"`` (``window``, ``single``), ``"WC"`` (``stream``) or
                    ``"W"`` (``single``: one window of one channel, no batch axis)
``channel_order`` * e.g. ``["E", "N", "Z"]``
``normalisation``   ``"std"`` (per window and channel: subtract the mean, divide by the
                    standard deviation; zero stays zero), ``"peak"`` (divide by the largest
                    absolute value), ``"demean"``, or ``"none"`` (raw counts)
``labels`` *        output rows in order: classes of a picker (e.g. ``["noise", "P", "S"]``,
                    SeisT's ``["detection", "P", "S"]``), the classes of a classifier
                    (``["up", "down"]``) or the names of the values of a regression
``phases``          which labels are phases, label → phase name; default every label but
                    ``noise`` for pickers, none for ``single`` models
``traces``          labels that are kept as probability traces beside the phases but never
                    picked (e.g. SeisT's ``["detection"]``)
``recommended``     per phase ``{"height": ..., "distance_s": ...}``
``missing_components``  ``"zeros"`` (a station with only Z is run with zero horizontals) or
                    ``"error"``
``licence``, ``provenance``, ``citation``: where the weights come from; ``note``: what the
                    authors say about using them
``precision``       arithmetic of the weights and activations: ``"float32"`` (default) or
                    ``"int8"`` (a quantised fast variant: faster, close to but not equal to the
                    float32 model's output)
``variant_of``      for a fast variant, the name of the model it was made from (e.g.
                    ``"phasenet"``); ``load_model(name, precision="int8")`` finds it by this
                    field

Single-value heads (``contract: "single"``) also say:

``task``            what the head estimates: ``"polarity"``, ``"magnitude"``,
                    ``"back_azimuth"`` or ``"distance"``
``output_kind``     ``"classes"`` (probabilities, one per label, summing to 1) or ``"values"``
``p_position``      sample of the window that holds the P pick: the window starts
                    ``p_position`` samples before it (zero-padded where the record ends)
``units``           per value label, its unit (``{"distance": "km"}``; ``""``: none)
``magnitude_type``  for a magnitude head, the type its values are written with (e.g. ``"Mdl"``)
``min_probability`` for a classifier, the class probability below which the answer is
                    "undecidable"
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..exceptions import InputError

__all__ = ["PRECISIONS", "ModelCard", "read_card"]

_REQUIRED = ("name", "contract", "sampling_rate", "input_name", "channel_order", "labels")
_CONTRACTS = {"window": ("NCW", "NWC"), "stream": ("WC",), "single": ("NCW", "NWC", "W")}
_NORMALISATIONS = ("std", "peak", "demean", "none")
_TASKS = ("polarity", "magnitude", "back_azimuth", "distance")
_OUTPUT_KINDS = ("probabilities", "classes", "values")
PRECISIONS = ("float32", "int8")


@dataclass(frozen=True)
class ModelCard:
    """What a model expects and returns; see the module docstring for each field."""

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
    traces: tuple[str, ...] = ()
    recommended: dict[str, dict[str, float]] = field(default_factory=dict)
    missing_components: str = "zeros"
    licence: str = "unknown"
    provenance: str = ""
    citation: str = ""
    note: str = ""
    task: str = ""
    output_kind: str = "probabilities"
    p_position: int = 0
    units: dict[str, str] = field(default_factory=dict)
    magnitude_type: str = ""
    min_probability: float = 0.5
    precision: str = "float32"
    variant_of: str = ""

    @classmethod
    def from_dict(cls, raw: dict[str, Any], source: str = "model card") -> ModelCard:
        missing = [k for k in _REQUIRED if k not in raw]
        if missing:
            raise InputError(f"{source}: missing keys {missing}")
        contract = _choice(raw["contract"], tuple(_CONTRACTS), "contract", source)
        layout = raw.get("input_layout", _CONTRACTS[contract][0])
        if layout not in _CONTRACTS[contract]:
            raise InputError(
                f"{source}: input_layout {layout!r} does not fit contract {contract!r}"
            )
        norm = _choice(raw.get("normalisation", "std"), _NORMALISATIONS, "normalisation", source)
        labels = tuple(str(v) for v in raw["labels"])
        phases, traces = _phases_and_traces(raw, labels, contract, source)
        window = int(raw.get("window_length", 0))
        if contract in ("window", "single") and window <= 0:
            raise InputError(f"{source}: the {contract} contract needs a positive window_length")
        rate = float(raw["sampling_rate"])
        if not rate > 0:
            raise InputError(f"{source}: sampling_rate must be positive, got {rate}")
        head = _head_fields(raw, labels, contract, window, source)
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
            traces=traces,
            recommended=dict(raw.get("recommended") or {}),
            missing_components=str(raw.get("missing_components", "zeros")),
            licence=str(raw.get("licence", "unknown")),
            provenance=str(raw.get("provenance", "")),
            citation=str(raw.get("citation", "")),
            note=str(raw.get("note", "")),
            precision=_choice(raw.get("precision", "float32"), PRECISIONS, "precision", source),
            variant_of=str(raw.get("variant_of", "")),
            **head,
        )

    @property
    def phase_labels(self) -> tuple[str, ...]:
        """Labels that are phases, in output order."""
        return tuple(lab for lab in self.labels if lab in self.phases)

    @property
    def trace_labels(self) -> tuple[str, ...]:
        """Labels returned as probability traces by ``annotate``: the phases (in output order),
        then the extra ``traces``."""
        return self.phase_labels + tuple(t for t in self.traces if t not in self.phases)

    def threshold(self, phase: str, key: str, default: float) -> float:
        return float(self.recommended.get(phase, {}).get(key, default))


def _choice(value, allowed: tuple[str, ...], key: str, source: str) -> str:
    if value not in allowed:
        raise InputError(f"{source}: {key} must be one of {list(allowed)}, got {value!r}")
    return value


def _phases_and_traces(raw, labels, contract: str, source: str):
    """The card's ``phases`` mapping and extra ``traces``, checked against its labels."""
    if "phases" in raw and raw["phases"] is not None:
        phases = dict(raw["phases"])
    elif contract == "single":
        phases = {}
    else:
        phases = {lab: lab for lab in labels if lab.lower() != "noise"}
        phases = {k: v for k, v in phases.items() if k not in (raw.get("traces") or ())}
    unknown = [lab for lab in phases if lab not in labels]
    if unknown:
        raise InputError(f"{source}: phases {unknown} are not among the labels {list(labels)}")
    traces = tuple(str(t) for t in raw.get("traces") or ())
    unknown = [t for t in traces if t not in labels]
    if unknown:
        raise InputError(f"{source}: traces {unknown} are not among the labels {list(labels)}")
    return phases, traces


def _head_fields(raw, labels, contract: str, window: int, source: str) -> dict[str, Any]:
    """The fields of a single-value head (defaults for pickers), checked."""
    default_kind = "classes" if contract == "single" else "probabilities"
    kind = _choice(raw.get("output_kind", default_kind), _OUTPUT_KINDS, "output_kind", source)
    out = {
        "task": str(raw.get("task", "")),
        "output_kind": kind,
        "p_position": int(raw.get("p_position", 0)),
        "units": {str(k): str(v) for k, v in (raw.get("units") or {}).items()},
        "magnitude_type": str(raw.get("magnitude_type", "")),
        "min_probability": float(raw.get("min_probability", 0.5)),
    }
    if contract != "single":
        return out
    _choice(out["task"], _TASKS, "task", source)
    if kind == "probabilities":
        raise InputError(f"{source}: a single-window head returns 'classes' or 'values'")
    if not 0 <= out["p_position"] < window:
        raise InputError(
            f"{source}: p_position must be a sample inside the window [0, {window}), "
            f"got {out['p_position']}"
        )
    if not 0.0 <= out["min_probability"] <= 1.0:
        raise InputError(f"{source}: min_probability must be in [0, 1]")
    if raw.get("input_layout") == "W" and len(raw["channel_order"]) != 1:
        raise InputError(f"{source}: input_layout 'W' takes one channel")
    return out


def read_card(card) -> tuple[dict[str, Any], str]:
    """A card's raw fields and where they came from: ``card`` is a dict or a JSON path."""
    if isinstance(card, dict):
        return card, "model card"
    path = Path(card)
    try:
        return json.loads(path.read_text()), str(path)
    except FileNotFoundError:
        raise InputError(f"model card not found: {path}") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON ({exc})") from None
