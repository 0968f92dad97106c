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

from ..containers import HEAD_COLUMNS, Locations, Picks
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
        polarity=_column_text(df, "polarity", n),
        **{c: column(c, np.nan, np.float32) for c in HEAD_COLUMNS[1:]},
    )


def _column_text(df, name: str, n: int) -> np.ndarray:
    """A text column as an object array ("" where the file has none)."""
    if name in df.columns:
        return df[name].fillna("").to_numpy(dtype=object)
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


#: The picks table's polarity (``seiscore.picking.apply_heads``) → QuakeML ``Pick.polarity``.
QUAKEML_POLARITY = {"up": "positive", "down": "negative", "undecidable": "undecidable"}


def picks_to_obspy(
    picks: Picks, channels: dict[str, str] | None = None, method: str = "seiscore"
) -> list[Pick]:
    """ObsPy ``Pick`` objects; the probability is kept as a comment (QuakeML has no field);
    a P polarity from the heads becomes the pick's ``polarity``."""
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
            polarity=QUAKEML_POLARITY.get(picks.polarity[i]),
        )
        if np.isfinite(picks.baz_deg[i]):
            p.backazimuth = float(picks.baz_deg[i])
        p.comments.append(
            Comment(
                text=f"probability={float(picks.probability[i]):.4f} snr={float(picks.snr[i]):.3g}"
                + _heads_comment(picks, i)
            )
        )
        out.append(p)
    return out


def _heads_comment(picks: Picks, i: int) -> str:
    """`` polarity_probability=... magnitude_dl=... distance_km=...`` for the head values a
    pick has (QuakeML has no field for them), else ``""``."""
    return "".join(
        f" {c}={float(getattr(picks, c)[i]):.4g}"
        for c in ("polarity_probability", "magnitude_dl", "distance_km")
        if np.isfinite(getattr(picks, c)[i])
    )


def add_network_magnitudes(cat: Catalog, table) -> Catalog:
    """Add each event's network DL magnitude (a table from
    ``seiscore.picking.network_magnitude``: ``event_id``, ``magnitude_dl``,
    ``magnitude_dl_type``, ``magnitude_dl_stations``, ``magnitude_dl_uncertainty``) to the
    events of ``cat`` whose resource id ends in ``/event/<event_id>``, as a ``Magnitude`` of
    its own type beside any other (it becomes the preferred one only where there is none)."""
    from obspy.core.event import Magnitude

    by_id = {str(ev.resource_id).rsplit("/event/", 1)[-1]: ev for ev in cat}
    for row in table.itertuples(index=False):
        ev = by_id.get(str(int(row.event_id)))
        if ev is None:
            continue
        mag = Magnitude(
            mag=float(row.magnitude_dl),
            magnitude_type=str(row.magnitude_dl_type),
            mag_errors=QuantityError(uncertainty=float(row.magnitude_dl_uncertainty)),
            station_count=int(row.magnitude_dl_stations),
            method_id=ResourceIdentifier("smi:local/seiscore-dl-median"),
            evaluation_mode="automatic",
            creation_info=CreationInfo(agency_id="seiscore"),
        )
        if ev.origins:
            mag.origin_id = (ev.preferred_origin() or ev.origins[0]).resource_id
        ev.magnitudes.append(mag)
        if ev.preferred_magnitude_id is None:
            ev.preferred_magnitude_id = mag.resource_id
    return cat


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


# ------------------------------------------------------------------------------- magnitudes


def _utc_ns(t) -> obspy.UTCDateTime:
    return obspy.UTCDateTime(ns=int(np.datetime64(t, "ns").astype(np.int64)))


def add_local_magnitudes(cat: Catalog, events_by_id: dict, magnitudes) -> Catalog:
    """Add local magnitudes to the events of ``cat``.

    ``events_by_id``: event_id → the ObsPy ``Event`` (of ``cat``) it belongs to;
    ``magnitudes``: a :class:`seiscore.magnitude.MagnitudeResult` (its ``amplitudes``,
    ``stations`` and ``network`` tables). Per event: one QuakeML ``Amplitude`` per channel
    (type ``AML``, zero-to-peak Wood-Anderson displacement in metres, period, SNR, window),
    one ``StationMagnitude`` per station (from its channels' amplitudes), and the network
    ``Magnitude`` (type ``ML``, uncertainty, station count, every station's contribution with
    weight 1, or 0 for an outlier), referring to the preferred origin. ML becomes the preferred
    magnitude."""
    from obspy.core.event import (
        Amplitude,
        Magnitude,
        StationMagnitude,
        StationMagnitudeContribution,
        TimeWindow,
    )

    origin_of = {eid: (ev.preferred_origin() or (ev.origins[0] if ev.origins else None))
                 for eid, ev in events_by_id.items()}  # fmt: skip
    amp_ids: dict = {}
    for row in magnitudes.amplitudes.itertuples(index=False):
        ev = events_by_id.get(row.event_id)
        if ev is None:
            continue
        t0, t1 = _utc_ns(row.window_start), _utc_ns(row.window_end)
        peak = _utc_ns(row.time)
        amp = Amplitude(
            generic_amplitude=float(row.amplitude_mm) / 1000.0,
            type="AML",
            category="point",
            unit="m",
            period=float(row.period_s) if np.isfinite(row.period_s) else None,
            snr=float(row.snr) if np.isfinite(row.snr) else None,
            time_window=TimeWindow(begin=peak - t0, end=t1 - peak, reference=peak),
            waveform_id=WaveformStreamID(
                row.network, row.station, row.location or None, row.channel
            ),  # fmt: skip
            magnitude_hint="ML",
            evaluation_mode="automatic",
            method_id=ResourceIdentifier(f"smi:local/seiscore-wood-anderson/{row.response}"),
            creation_info=CreationInfo(agency_id="seiscore"),
        )
        ev.amplitudes.append(amp)
        amp_ids.setdefault(
            (row.event_id, f"{row.network}.{row.station}.{row.location}"), []
        ).append(amp.resource_id)
    sta_ids: dict = {}
    for row in magnitudes.stations.itertuples(index=False):
        ev = events_by_id.get(row.event_id)
        if ev is None:
            continue
        net, sta, loc = row.station_id.split(".")
        ids = amp_ids.get((row.event_id, row.station_id), [])
        sm = StationMagnitude(
            mag=float(row.magnitude),
            station_magnitude_type="ML",
            amplitude_id=ids[0] if len(ids) == 1 else None,
            origin_id=origin_of[row.event_id].resource_id if origin_of[row.event_id] else None,
            waveform_id=WaveformStreamID(net, sta, loc or None),
            method_id=ResourceIdentifier("smi:local/seiscore-ml-station-mean"),
            creation_info=CreationInfo(agency_id="seiscore"),
        )
        if len(ids) > 1:
            sm.comments.append(Comment(text=f"mean of {row.n_channels} channels: {row.channels}"))
        ev.station_magnitudes.append(sm)
        sta_ids.setdefault(row.event_id, []).append((sm.resource_id, bool(row.used)))
    for row in magnitudes.network.itertuples(index=False):
        ev = events_by_id.get(row.event_id)
        if ev is None:
            continue
        origin = origin_of[row.event_id]
        mag = Magnitude(
            mag=float(row.magnitude),
            magnitude_type=str(row.magnitude_type),
            mag_errors=QuantityError(uncertainty=float(row.magnitude_uncertainty)),
            station_count=int(row.n_magnitude_stations),
            origin_id=origin.resource_id if origin else None,
            method_id=ResourceIdentifier(f"smi:local/seiscore-ml-{row.method}"),
            evaluation_mode="automatic",
            creation_info=CreationInfo(agency_id="seiscore"),
            station_magnitude_contributions=[
                StationMagnitudeContribution(station_magnitude_id=sid, weight=1.0 if used else 0.0)
                for sid, used in sta_ids.get(row.event_id, [])
            ],
        )
        ev.magnitudes.append(mag)
        ev.preferred_magnitude_id = mag.resource_id
    return cat
