"""The association job behind ``seiscore associate``: a picks CSV, a station file and a velocity
model in; an events CSV and the picks with their event ids out.

Two methods, one output: ``"grid"`` (:func:`seiscore.association.associate`, the default) and
``"phaselink"`` (:func:`seiscore.association.associate_phaselink` with a trained linker, an
``.onnx`` file with its card, as ``seiscore train-associator`` writes it), chosen by
:func:`seiscore.association.associate_by_method` (as ``seiscore run`` does)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import association, picking, traveltime
from ..association import Association
from ..io import catalog
from ..io.atomic import atomic_path
from ..io.stations import read_stations

EVENT_COLUMNS = [
    "event_id",
    "time",
    "latitude",
    "longitude",
    "depth_km",
    "x_km",
    "y_km",
    "n_p",
    "n_s",
    "rms_s",
]


@dataclass
class AssociateJobResult:
    association: Association
    outputs: list[Path] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)


def _iso(times: np.ndarray) -> np.ndarray:
    return np.datetime_as_string(
        np.asarray(times).astype("datetime64[us]"), unit="us", timezone="UTC"
    )


def write_events_csv(result: Association, path) -> Path:
    """Events as CSV (columns :data:`EVENT_COLUMNS`, time in ISO 8601 UTC, plus ``score`` and
    ``significance``;
    and, where the picks carry single-station DL magnitudes (``seiscore-pick --heads``), the
    network DL magnitude of :func:`seiscore.picking.network_magnitude`)."""
    df = result.events.to_dataframe()
    df["time"] = _iso(result.events.time)
    df["score"] = result.score
    df["significance"] = result.significance
    if np.isfinite(result.picks.magnitude_dl).any():
        dl = picking.network_magnitude(result.picks, result.event_id)
        df = df.merge(dl, on="event_id", how="left")
    path = Path(path)
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, float_format="%.6f")
    return path


def write_assigned_picks_csv(result: Association, path) -> Path:
    """The input picks with ``event_id`` (-1: not associated) and ``residual_s`` columns."""
    df = result.picks_dataframe()
    df["time"] = _iso(result.picks.time)
    path = Path(path)
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, float_format="%.6g")
    return path


def run_associate_job(
    picks,
    stations,
    output,
    *,
    model=None,
    vp: float | None = None,
    vs: float | None = None,
    picks_output=None,
    method: str = "grid",
    linker=None,
    **config,
) -> AssociateJobResult:
    """Read picks (CSV as ``seiscore-pick`` writes it) and stations (StationXML, CSV, REAL
    station.dat, … — anything :func:`seiscore.io.stations.read_stations` reads), associate, and
    write ``output`` (events CSV) and ``picks_output`` (default: ``<output stem>_picks.csv``).

    ``method``, ``linker`` and ``config`` go to
    :func:`seiscore.association.associate_by_method` (the linker is checked first, before the
    picks are read).
    """
    association.check_linker(method, linker)
    pick_table = catalog.read_picks_csv(picks)
    notes: list[str] = []
    station_table = read_stations(stations, messages=notes)
    velocity = traveltime.load_velocity_model(model, vp, vs)
    result = association.associate_by_method(
        pick_table, station_table, velocity, method=method, linker=linker, **config
    )
    out = Path(output)
    out.parent.mkdir(parents=True, exist_ok=True)
    job = AssociateJobResult(association=result)
    job.messages.extend(notes + list(result.notes))
    job.outputs.append(write_events_csv(result, out))
    picks_out = Path(picks_output) if picks_output else out.with_name(f"{out.stem}_picks.csv")
    job.outputs.append(write_assigned_picks_csv(result, picks_out))
    s = result.stats
    if s["n_unknown_station"]:
        job.messages.append(
            f"{s['n_unknown_station']} picks at stations not in {stations} were not associated"
        )
    if s["n_other_phase"]:
        job.messages.append(
            f"{s['n_other_phase']} picks with phases other than P/S were not associated"
        )
    return job
