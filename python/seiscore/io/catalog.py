"""Picks and events to and from files: CSV tables and QuakeML (through ObsPy).

The io layer: it takes and returns containers (:mod:`seiscore.containers`) and imports no stage.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import obspy
from obspy.core.event import (
    Catalog,
    Comment,
    CreationInfo,
    Event,
    Origin,
    OriginQuality,
    OriginUncertainty,
    Pick,
    QuantityError,
    ResourceIdentifier,
    WaveformStreamID,
)

from ..containers import Locations, Picks
from ..exceptions import InputError

PICK_COLUMNS = [
    "network",
    "station",
    "location",
    "phase",
    "time",
    "probability",
    "amplitude",
    "snr",
]


def write_picks_csv(picks: Picks, path) -> Path:
    """Write picks as CSV: one row per pick, ``time`` in ISO 8601 UTC with microseconds."""
    df = picks.to_dataframe()
    df["time"] = np.datetime_as_string(
        picks.time.astype("datetime64[us]"), unit="us", timezone="UTC"
    )
    path = Path(path)
    df.to_csv(path, index=False, float_format="%.6g")
    return path


# datetime64[ns] holds 1677-09-21 … 2262-04-11: the whole years inside that range are accepted.
FIRST_YEAR, LAST_YEAR = 1678, 2261


def read_picks_csv(path) -> Picks:
    """Read a picks CSV as written by :func:`write_picks_csv` (or by ``seiscore-pick``).

    ``time`` is ISO 8601 (UTC unless it carries an offset); the precision may vary by row
    (``2024-01-01T00:00:05`` next to ``2024-01-01T00:00:05.123456``). Raises
    :class:`~seiscore.InputError` naming the file and line for a time that is missing,
    unreadable or outside the years 1678–2261, and for a non-numeric ``probability``,
    ``amplitude`` or ``snr``.
    """
    import pandas as pd

    path = Path(path)
    try:
        text_columns = {"network": str, "station": str, "location": str, "phase": str, "time": str}
        df = pd.read_csv(path, dtype=text_columns, skip_blank_lines=False)
    except FileNotFoundError:
        raise InputError(f"picks file not found: {path}") from None
    except Exception as exc:
        raise InputError(f"{path}: cannot read as CSV ({exc})") from None
    missing = [c for c in ("network", "station", "phase", "time") if c not in df.columns]
    if missing:
        raise InputError(f"{path}: missing columns {missing} (expected {PICK_COLUMNS})")
    # line k + 2 of the file is row k (blank lines are kept, then dropped, to keep the count)
    lines = np.arange(len(df)) + 2
    filled = df.notna().any(axis=1).to_numpy()
    df, lines = df[filled].reset_index(drop=True), lines[filled]
    n = len(df)
    for name in ("network", "station", "location", "phase"):
        if name in df.columns:
            df[name] = df[name].fillna("")
    times = _parse_times(df["time"], path, lines)

    def column(name, default, dtype):
        if name not in df.columns:
            return np.full(n, default, dtype=dtype)
        values = pd.to_numeric(df[name], errors="coerce")
        bad = values.isna().to_numpy() & df[name].notna().to_numpy()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"{path}: line {lines[i]}: {name} {df[name].iloc[i]!r} is not a number"
            )
        return values.to_numpy(dtype=dtype)

    return Picks(
        network=df["network"].to_numpy(dtype=object),
        station=df["station"].to_numpy(dtype=object),
        location=_column_text(df, "location", n),
        phase=df["phase"].to_numpy(dtype=object),
        time=times,
        probability=column("probability", np.nan, np.float32),
        amplitude=column("amplitude", np.nan, np.float32),
        snr=column("snr", np.nan, np.float32),
    )


def _column_text(df, name: str, n: int) -> np.ndarray:
    """A text column as an object array ("" where the file has none)."""
    if name in df.columns:
        return df[name].to_numpy(dtype=object)
    return np.full(n, "", dtype=object)


def _parse_times(col, path: Path, lines: np.ndarray) -> np.ndarray:
    """ISO 8601 times (precision may vary by row) as UTC datetime64[ns]; InputError naming
    the file and line of the first time that is missing, unreadable or outside
    :data:`FIRST_YEAR`–:data:`LAST_YEAR`."""
    import pandas as pd

    text = col.fillna("").astype(str).str.strip()
    empty = (text == "").to_numpy()
    if empty.any():
        i = int(np.flatnonzero(empty)[0])
        raise InputError(f"{path}: line {lines[i]}: the pick has no time")
    parsed = pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce")
    bad = parsed.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"{path}: line {lines[i]}: time {text.iloc[i]!r} is not an ISO 8601 time "
            f"(e.g. 2024-01-01T00:00:05.123Z; {int(bad.sum())} such rows)"
        )
    years = parsed.dt.year.to_numpy()
    outside = (years < FIRST_YEAR) | (years > LAST_YEAR)
    if outside.any():
        i = int(np.flatnonzero(outside)[0])
        raise InputError(
            f"{path}: line {lines[i]}: time {text.iloc[i]!r} is outside the years "
            f"{FIRST_YEAR}–{LAST_YEAR} that seiscore handles "
            f"({int(outside.sum())} of {len(text)} rows)"
        )
    return parsed.dt.tz_localize(None).to_numpy().astype("datetime64[ns]")


def picks_to_obspy(
    picks: Picks, channels: dict[str, str] | None = None, method: str = "seiscore"
) -> list[Pick]:
    """ObsPy ``Pick`` objects; the probability is kept as a comment (QuakeML has no field)."""
    out = []
    channels = channels or {}
    for i in range(len(picks)):
        sid = f"{picks.network[i]}.{picks.station[i]}.{picks.location[i]}"
        p = Pick(
            time=obspy.UTCDateTime(ns=int(picks.time[i].astype("datetime64[ns]").astype(np.int64))),
            waveform_id=WaveformStreamID(
                network_code=picks.network[i],
                station_code=picks.station[i],
                location_code=picks.location[i] or None,
                channel_code=channels.get(sid),
            ),
            phase_hint=str(picks.phase[i]),
            evaluation_mode="automatic",
            method_id=f"smi:local/{method}",
            creation_info=CreationInfo(agency_id="seiscore"),
        )
        p.comments.append(
            Comment(
                text=f"probability={float(picks.probability[i]):.4f} snr={float(picks.snr[i]):.3g}"
            )
        )
        out.append(p)
    return out


def write_picks_quakeml(picks: Picks, path, channels: dict[str, str] | None = None) -> Path:
    """Write picks as QuakeML: one event without origin holding every pick."""
    event = Event(picks=picks_to_obspy(picks, channels))
    event.comments.append(Comment(text=f"{len(picks)} automatic picks by seiscore"))
    path = Path(path)
    Catalog(events=[event]).write(str(path), format="QUAKEML")
    return path


# ------------------------------------------------------------------------------- locations


def write_locations_csv(locs: Locations, path) -> Path:
    """Locations as CSV, times in ISO 8601 UTC with microseconds."""
    df = locs.to_dataframe()
    df["time"] = np.datetime_as_string(
        locs.time.astype("datetime64[us]"), unit="us", timezone="UTC"
    )
    path = Path(path)
    df.to_csv(path, index=False, float_format="%.6g")
    return path


def locations_to_catalog(locs: Locations, method: str = "seiscore-migration") -> Catalog:
    """An ObsPy Catalog: one Event with one Origin per location (depth in m below sea level,
    uncertainties from the Gaussian fit, coalescence in a comment)."""
    cat = Catalog()
    for i in range(len(locs)):
        origin = _location_origin(locs, i, method)
        ev = Event(
            resource_id=ResourceIdentifier(f"smi:local/event/{int(locs.event_id[i])}"),
            origins=[origin],
        )
        ev.preferred_origin_id = origin.resource_id
        cat.append(ev)
    return cat


def _location_origin(locs: Locations, i: int, method: str) -> Origin:
    """The Origin of location ``i``, with its uncertainties and the coalescence comment."""
    t = obspy.UTCDateTime(ns=int(locs.time[i].astype("datetime64[ns]").astype(np.int64)))
    herr = (
        float(np.nanmax([locs.err_x_km[i], locs.err_y_km[i]]))
        if np.isfinite(locs.err_x_km[i])
        else None
    )
    origin = Origin(
        time=t,
        time_errors=QuantityError(uncertainty=float(locs.err_time_s[i]))
        if np.isfinite(locs.err_time_s[i])
        else None,
        latitude=float(locs.latitude[i]),
        longitude=float(locs.longitude[i]),
        depth=float(locs.depth_km[i]) * 1000.0,
        depth_errors=QuantityError(uncertainty=float(locs.err_z_km[i]) * 1000.0)
        if np.isfinite(locs.err_z_km[i])
        else None,
        origin_uncertainty=OriginUncertainty(
            horizontal_uncertainty=herr * 1000.0, preferred_description="horizontal uncertainty"
        )
        if herr is not None
        else None,
        method_id=ResourceIdentifier(f"smi:local/{method}"),
        evaluation_mode="automatic",
        quality=OriginQuality(used_station_count=int(max(locs.n_p[i], locs.n_s[i]))),
        creation_info=CreationInfo(agency_id="seiscore"),
    )
    origin.comments.append(Comment(text=_coalescence_comment(locs, i)))
    return origin


def _coalescence_comment(locs: Locations, i: int) -> str:
    """Coalescence, normalised coalescence and both error estimates of location ``i``."""
    err = ",".join(f"{float(v[i]):.3g}" for v in (locs.err_x_km, locs.err_y_km, locs.err_z_km))
    cov = ",".join(f"{float(v[i]):.3g}" for v in (locs.cov_x_km, locs.cov_y_km, locs.cov_z_km))
    return (
        f"coalescence={float(locs.coherence[i]):.4g} "
        f"normalised={float(locs.coherence_norm[i]):.4g} "
        f"err_xyz_km={err} cov_xyz_km={cov}"
    )
