"""PhaseLink linkers: the network a linker is made for, the synthetic pick sequences it is
trained on, and the ONNX file with its card that runs it (ONNX Runtime).

A linker reads a *sequence*: a start pick and the picks after it within ``window_s`` (at most
``max_picks``), one row per pick, :data:`FEATURES` ``= (x, y, dt, phase, valid)``: the station's
position relative to the network centre in units of ``scale_km``, the time after the start pick
in units of ``window_s``, the phase (0 P, 1 S) and 1 (0 in the padding rows after the sequence).
It answers, per row, the probability that the pick belongs to the start pick's event. The
sequences and their features are made in C++ (``seiscore._core.association.phaselink_*``;
contract: ``cpp/seiscore/association/phaselink.hpp``), for training and at run time alike.

The card (JSON beside the ONNX file, :func:`read_linker_card`) records what the features mean
for this linker: the projection reference, the network centre and scale, the window, the
stations and the search volume it was trained for, the velocity model, the generator settings
and how it was trained (``seiscore train-associator`` writes it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import _core
from .._validate import check_workers
from ..containers import Stations
from ..exceptions import InputError
from .config import _search_volume, _SearchVolume
from .inputs import _station_xy
from .tables import _as_table, _check_reach, _kernel_tables

__all__ = [
    "FEATURES",
    "Linker",
    "LinkerNetwork",
    "generator_settings",
    "linker_card",
    "linker_network",
    "read_linker_card",
    "synthetic_sequences",
]

#: The columns of a sequence row.
FEATURES = ("x", "y", "dt", "phase", "valid")
#: Pair filter (sequences keep only the picks some source in the volume could have made with
#: the start pick): the bounds are widened by this margin (s; pick errors) and sampled on this
#: many nodes across the volume.
PAIR_MARGIN_S = 1.5
PAIR_GRID = 24
#: ``kind`` of a linker card.
CARD_KIND = "phaselink"
CARD_VERSION = 1
INPUT_NAME = "picks"
OUTPUT_NAME = "link_probability"

#: Generator settings, as ranges the generator draws from per sequence (see
#: ``cpp/seiscore/association/phaselink.hpp``); the network-dependent ones are set by
#: :func:`generator_settings`.
GENERATOR_DEFAULTS = {
    "rate_min": 1.0 / 3600.0,  # events per second
    "rate_max": 0.2,
    "cluster_prob": 0.3,
    "cluster_sigma_min_km": 2.0,
    "cluster_sigma_max_km": 20.0,
    "noise_min_s": 0.02,
    "noise_max_s": 0.3,
    "outlier_fraction": 0.02,
    "outlier_s": 1.5,
    "drop_min": 0.0,
    "drop_max": 0.5,
    "false_rate_min": 1e-4,  # per station and second
    "false_rate_max": 0.02,
    "model_error_max": 0.02,
}


@dataclass
class LinkerNetwork:
    """Stations, travel times, search volume and features of a linker.

    ``x_km, y_km``: station positions around ``reference`` (lat, lon); ``volume``: event
    limits (``x_min_km`` … ``z_max_km``, km; depths below sea level); ``features``:
    ``center_x_km, center_y_km, scale_km, window_s, max_picks``; ``times, axes,
    station_table``: the grid search's (depth, distance) P/S tables (one per station elevation
    group); ``surface_velocity``: P and S velocity at sea level (km/s); ``model``: the velocity
    model's name.
    """

    stations: Stations
    x_km: np.ndarray
    y_km: np.ndarray
    reference: tuple
    volume: dict
    features: dict
    times: np.ndarray
    axes: tuple
    station_table: np.ndarray
    surface_velocity: dict
    model: str
    search_volume: _SearchVolume
    diameter_km: float = 0.0
    pair_lo: np.ndarray | None = None
    pair_hi: np.ndarray | None = None
    notes: list = field(default_factory=list)

    def card(self) -> dict:
        """The network part of a linker card."""
        return {
            "reference": [float(self.reference[0]), float(self.reference[1])],
            "features": dict(self.features),
            "volume": dict(self.volume),
            "velocity_model": {"name": self.model, "surface_velocity": dict(self.surface_velocity)},
            "stations": [
                {"id": sid, "x_km": round(float(x), 4), "y_km": round(float(y), 4)}
                for sid, x, y in zip(self.stations.ids, self.x_km, self.y_km, strict=True)
            ],
        }

    def kernel_network(self) -> tuple:
        """``(x_km, y_km, times, axes, station_table)`` as the kernels take them."""
        return self.x_km, self.y_km, self.times, self.axes, self.station_table

    def pair_bounds(self) -> tuple:
        """``(pair_lo, pair_hi)``: the arrival-time difference bounds of the sequences' pair
        filter (None, None: no filter)."""
        return self.pair_lo, self.pair_hi


def _diameter(x: np.ndarray, y: np.ndarray) -> float:
    """The largest distance between two stations (km; by blocks, memory stays small)."""
    best = 0.0
    for i0 in range(0, len(x), 512):
        d = np.hypot(x[i0 : i0 + 512, None] - x[None, :], y[i0 : i0 + 512, None] - y[None, :])
        best = max(best, float(d.max(initial=0.0)))
    return best


def _default_window(times, axes, z0: float, diameter_km: float, vs: float) -> float:
    """The S travel time across the network (its diameter, from the top of the volume), in
    [5, 600] s: the span of an event's picks at the stations that see it."""
    d = np.array([max(diameter_km, 1.0)])
    t = _core.association.travel_time(times[0], axes, 1, d, np.array([max(z0, axes[0])]))
    t = float(t[0]) if np.isfinite(t[0]) else float(d[0] / vs)
    return float(np.clip(np.ceil(t), 5.0, 600.0))


def linker_network(
    stations: Stations,
    velocity_model,
    *,
    xlim=None,
    ylim=None,
    zlim=(0.0, 30.0),
    reference=None,
    window_s: float | None = None,
    max_picks: int = 256,
    features: dict | None = None,
    workers: int | None = None,
) -> LinkerNetwork:
    """The :class:`LinkerNetwork` of ``stations`` and ``velocity_model`` (a
    :class:`~seiscore.traveltime.VelocityModel`, a model file or a
    :class:`~seiscore.containers.TravelTimeTable` with P and S).

    ``xlim``/``ylim`` default to :func:`~seiscore.association.default_volume` of the stations;
    ``window_s`` to the S travel time across the network; ``features`` (a card's) fixes the
    centre, scale, window and sequence length instead of deriving them from these stations.
    Travel times are the grid search's: its tables, with the stations' elevation correction.
    """
    nworkers = check_workers(workers)
    sx, sy, reference = _station_xy(stations, reference)
    volume = _search_volume(sx, sy, xlim, ylim, zlim, None, None)
    need = volume.farthest_station_km(sx, sy)
    _check_reach(velocity_model, stations, sx, sy, need, None)
    table = _as_table(velocity_model, need, volume.z0, volume.z1, nworkers)
    kt = _kernel_tables(table, stations, volume, need, nworkers)
    sv = {str(k).upper(): float(v) for k, v in dict(table.surface_velocity).items()}
    diameter = _diameter(sx, sy)
    if features is None:
        x0, x1, y0, y1 = sx.min(), sx.max(), sy.min(), sy.max()
        if window_s is None:
            window_s = _default_window(kt.times, kt.axes, volume.z0, diameter, sv["S"])
        features = {
            "center_x_km": float(0.5 * (x0 + x1)),
            "center_y_km": float(0.5 * (y0 + y1)),
            "scale_km": float(max(0.5 * max(x1 - x0, y1 - y0), 1.0)),
            "window_s": float(window_s),
            "max_picks": int(max_picks),
            "pair_margin_s": PAIR_MARGIN_S,
            "pair_grid": PAIR_GRID,
        }
    vol = {
        "x_min_km": volume.x0,
        "x_max_km": volume.x1,
        "y_min_km": volume.y0,
        "y_max_km": volume.y1,
        "z_min_km": volume.z0,
        "z_max_km": volume.z1,
    }
    pair_lo = pair_hi = None
    if features.get("pair_grid"):
        try:
            pair_lo, pair_hi = _core.association.phaselink_pair_bounds(
                sx, sy, kt.times, tuple(kt.axes), kt.station_table, vol, int(features["pair_grid"]),
                float(features["pair_margin_s"]), min(1.0 / sv["S"], 2.0), nworkers,
            )  # fmt: skip
        except ValueError as exc:
            raise InputError(str(exc)) from None
    return LinkerNetwork(
        stations=stations,
        x_km=np.ascontiguousarray(sx, np.float64),
        y_km=np.ascontiguousarray(sy, np.float64),
        reference=tuple(reference),
        volume=vol,
        features=dict(features),
        times=kt.times,
        axes=tuple(kt.axes),
        station_table=kt.station_table,
        surface_velocity=sv,
        model=str(getattr(table, "model", "") or getattr(velocity_model, "name", "")),
        search_volume=volume,
        diameter_km=diameter,
        pair_lo=pair_lo,
        pair_hi=pair_hi,
    )


def generator_settings(network: LinkerNetwork, **overrides) -> dict:
    """The generator's settings for ``network``: :data:`GENERATOR_DEFAULTS`, the network's
    volume, detection distances from 10 km to 1.5 times the network's diameter (at least 50
    km), events before the window as long as the window; ``overrides`` replace any key."""
    settings = dict(GENERATOR_DEFAULTS)
    settings.update(network.volume)
    settings["radius_min_km"] = 10.0
    settings["radius_max_km"] = float(max(1.5 * network.diameter_km, 50.0))
    settings["span_before_s"] = float(network.features["window_s"])
    unknown = set(overrides) - set(settings)
    if unknown:
        raise InputError(f"generator settings: unknown keys {sorted(unknown)}")
    settings.update({k: float(v) for k, v in overrides.items()})
    return settings


def synthetic_sequences(
    network: LinkerNetwork,
    n: int,
    *,
    seed: int = 0,
    first: int = 0,
    settings: dict | None = None,
    workers: int | None = None,
):
    """``n`` synthetic training sequences ``(x[n, max_picks, 5], y[n, max_picks],
    length[n])`` for ``network`` (sequence ``i`` depends only on ``seed`` and ``first + i``)."""
    settings = generator_settings(network) if settings is None else settings
    try:
        return _core.association.phaselink_generate(
            *network.kernel_network(),
            network.features,
            *network.pair_bounds(),
            settings,
            int(seed),
            int(first),
            int(n),
            check_workers(workers),
        )
    except ValueError as exc:
        raise InputError(str(exc)) from None


# ----------------------------------------------------------------------------- the ONNX linker


def linker_card(
    network: LinkerNetwork,
    *,
    name: str,
    generator: dict,
    model: dict,
    training: dict,
    provenance: str = "",
) -> dict:
    """The card of a linker trained for ``network`` (what :func:`read_linker_card` reads):
    features and their meaning, the network (reference, centre, scale, window, volume,
    stations, velocity model), the generator settings, the network's architecture and how it
    was trained."""
    return {
        "kind": CARD_KIND,
        "card_version": CARD_VERSION,
        "name": name,
        "input_name": INPUT_NAME,
        "output_name": OUTPUT_NAME,
        "features": list(FEATURES),
        "output": "probability that each pick belongs to the start pick's event (0 on padding)",
        "network": network.card(),
        "generator": dict(generator),
        "model": dict(model),
        "training": dict(training),
        "provenance": provenance,
        "licence": "MIT (seiscore; trained on synthetic picks only)",
        "reference_method": "PhaseLink: Ross, Yue, Meier, Hauksson & Heaton (2019), JGR Solid "
        "Earth 124, 856-869, doi:10.1029/2019JB017450",
    }


def read_linker_card(path) -> dict:
    """The card of a linker: ``path`` (an ``.onnx`` file, its ``.json`` card beside it, or the
    card itself); InputError when it is missing or not a PhaseLink linker card."""
    path = Path(path)
    card_path = path if path.suffix == ".json" else path.with_suffix(".json")
    if not card_path.is_file():
        raise InputError(
            f"linker card not found: {card_path} (seiscore train-associator writes it beside "
            "the .onnx file)"
        )
    try:
        card = json.loads(card_path.read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"{card_path}: not a readable JSON card ({exc})") from None
    if not isinstance(card, dict) or card.get("kind") != CARD_KIND:
        raise InputError(f"{card_path}: not a PhaseLink linker card (kind {CARD_KIND!r})")
    network = card.get("network") or {}
    missing = [k for k in ("reference", "features", "volume") if k not in network]
    if missing or tuple(card.get("features", ())) != FEATURES:
        raise InputError(
            f"{card_path}: incomplete linker card (network {missing or 'ok'}, features "
            f"{card.get('features')} instead of {list(FEATURES)})"
        )
    return card


class Linker:
    """A trained linker: its ONNX Runtime session and card (:func:`read_linker_card`).

    ``Linker.load("linker.onnx")``; calling it on sequences ``x[n, k, 5]`` (float32) gives the
    link probabilities ``[n, k]``.
    """

    def __init__(self, path, card: dict, session):
        self.path = Path(path)
        self.card = card
        self.session = session

    @classmethod
    def load(cls, path, *, threads: int | None = None) -> Linker:
        import onnxruntime as ort

        path = Path(path)
        if not path.is_file():
            raise InputError(f"linker not found: {path}")
        card = read_linker_card(path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(threads or 0)
        options.inter_op_num_threads = 1
        try:
            session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # ONNX Runtime raises its own types
            raise InputError(f"{path}: ONNX Runtime cannot load it ({exc})") from None
        return cls(path, card, session)

    @property
    def features(self) -> dict:
        return dict(self.card["network"]["features"])

    @property
    def reference(self) -> tuple:
        return tuple(self.card["network"]["reference"])

    @property
    def volume(self) -> dict:
        return dict(self.card["network"]["volume"])

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, np.float32)
        out = self.session.run(None, {INPUT_NAME: x})[0]
        return np.asarray(out, np.float32).reshape(x.shape[0], x.shape[1])

    def network_for(
        self,
        stations: Stations,
        velocity_model,
        *,
        xlim=None,
        ylim=None,
        zlim=None,
        workers: int | None = None,
    ) -> LinkerNetwork:
        """The :class:`LinkerNetwork` of ``stations`` in this linker's frame: projected around
        its reference, with its features, and by default its volume. Stations the linker was
        not trained with, and another velocity model than its own, are noted."""
        vol = self.volume
        net = linker_network(
            stations,
            velocity_model,
            xlim=xlim if xlim is not None else (vol["x_min_km"], vol["x_max_km"]),
            ylim=ylim if ylim is not None else (vol["y_min_km"], vol["y_max_km"]),
            zlim=zlim if zlim is not None else (vol["z_min_km"], vol["z_max_km"]),
            reference=self.reference,
            features=self.features,
            workers=workers,
        )
        trained = {s["id"] for s in self.card["network"].get("stations", [])}
        new = [sid for sid in stations.ids if sid not in trained]
        if trained and new:
            more = f" and {len(new) - 5} more" if len(new) > 5 else ""
            net.notes.append(
                f"linker {self.path.name} was not trained with {len(new)} of these stations "
                f"({', '.join(new[:5])}{more}): their picks are linked by position alone"
            )
        model = (self.card["network"].get("velocity_model") or {}).get("name")
        if model and net.model and model != net.model:
            net.notes.append(
                f"linker {self.path.name} was trained with velocity model {model!r}, not "
                f"{net.model!r}"
            )
        return net
