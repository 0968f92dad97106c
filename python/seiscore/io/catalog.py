"""Picks and events to and from files: CSV tables and QuakeML (through ObsPy)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import obspy
from obspy.core.event import Catalog, Comment, CreationInfo, Event, Pick, WaveformStreamID

from ..containers import Picks
from ..exceptions import InputError

PICK_COLUMNS = ["network", "station", "location", "phase", "time", "probability", "amplitude", "snr"]


def write_picks_csv(picks: Picks, path) -> Path:
    """Write picks as CSV: one row per pick, ``time`` in ISO 8601 UTC with microseconds."""
    df = picks.to_dataframe()
    df["time"] = np.datetime_as_string(picks.time.astype("datetime64[us]"), unit="us", timezone="UTC")
    path = Path(path)
    df.to_csv(path, index=False, float_format="%.6g")
    return path


def read_picks_csv(path) -> Picks:
    """Read a picks CSV as written by :func:`write_picks_csv` (or by ``seiscore-pick``)."""
    import pandas as pd

    path = Path(path)
    try:
        text_columns = {"network": str, "station": str, "location": str, "phase": str}
        df = pd.read_csv(path, dtype=text_columns)
    except FileNotFoundError:
        raise InputError(f"picks file not found: {path}") from None
    except Exception as exc:
        raise InputError(f"{path}: cannot read as CSV ({exc})") from None
    missing = [c for c in ("network", "station", "phase", "time") if c not in df.columns]
    if missing:
        raise InputError(f"{path}: missing columns {missing} (expected {PICK_COLUMNS})")
    n = len(df)
    for name in ("network", "station", "location", "phase"):
        if name in df.columns:
            df[name] = df[name].fillna("")
    try:
        times = pd.to_datetime(df["time"], utc=True).dt.tz_localize(None).to_numpy("datetime64[ns]")
    except (ValueError, TypeError) as exc:
        raise InputError(f"{path}: unreadable time column ({exc})") from None

    def column(name, default, dtype):
        if name in df.columns:
            return df[name].to_numpy(dtype=dtype)
        return np.full(n, default, dtype=dtype)

    return Picks(
        network=df["network"].to_numpy(dtype=object),
        station=df["station"].to_numpy(dtype=object),
        location=column("location", "", object),
        phase=df["phase"].to_numpy(dtype=object),
        time=times,
        probability=column("probability", np.nan, np.float32),
        amplitude=column("amplitude", np.nan, np.float32),
        snr=column("snr", np.nan, np.float32),
    )


def picks_to_obspy(picks: Picks, channels: dict[str, str] | None = None, method: str = "seiscore") -> list[Pick]:
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
            Comment(text=f"probability={float(picks.probability[i]):.4f} snr={float(picks.snr[i]):.3g}")
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
