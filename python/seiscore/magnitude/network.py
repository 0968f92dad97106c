"""Station and network local magnitudes from Wood-Anderson amplitudes.

* Channel ML = ``log10(amplitude_mm) + (-log A0)(r)`` with the chosen law and distance
  (hypocentral by default, or epicentral), for channels with ``snr >= min_snr``.
* Station ML = the mean of its channels' ML (both horizontals by default) plus the station's
  correction (a file ``NET.STA.LOC correction`` or a dict; 0 when absent).
* Network ML = the median (or a trimmed mean) of the station MLs after outlier rejection:
  stations more than ``outlier_mad`` scaled MADs (1.4826 MAD, at least 0.1) from the median
  are left out. Its uncertainty is the standard deviation of the stations used (0 for one
  station); ``n_stations`` counts them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..exceptions import InputError
from .laws import get_law

__all__ = ["network_magnitudes", "read_station_corrections", "station_magnitudes"]

STATION_COLUMNS = ["event_id", "station_id", "magnitude", "n_channels", "channels",
                   "distance_km", "correction", "used"]  # fmt: skip
NETWORK_COLUMNS = ["event_id", "magnitude", "magnitude_type", "magnitude_uncertainty",
                   "n_magnitude_stations", "method"]  # fmt: skip


def read_station_corrections(source) -> dict[str, float]:
    """Station corrections (magnitude units, added to the station ML) from a dict
    ``{"NET.STA.LOC": value}`` or a text/CSV file with lines ``NET.STA.LOC value``
    (``NET.STA`` means the empty location; ``#`` starts a comment)."""
    if source is None:
        return {}
    if isinstance(source, dict):
        return {_sid(k): float(v) for k, v in source.items()}
    path = Path(source)
    if not path.is_file():
        raise InputError(f"station corrections file not found: {path}")
    out = {}
    for n, line in enumerate(path.read_text().splitlines(), 1):
        line = line.split("#")[0].replace(",", " ").strip()
        if not line or line.lower().startswith(("station", "id ")):
            continue
        parts = line.split()
        try:
            out[_sid(parts[0])] = float(parts[1])
        except (ValueError, IndexError):
            raise InputError(f"{path}, line {n}: expected 'NET.STA.LOC correction'") from None
    return out


def _sid(text: str) -> str:
    parts = str(text).split(".")
    if len(parts) == 2:
        parts.append("")
    if len(parts) != 3:
        raise InputError(f"station correction: {text!r} is not NET.STA or NET.STA.LOC")
    return ".".join(parts)


def station_magnitudes(
    amplitudes: pd.DataFrame, *, law="hutton_boore_1987", distance: str = "hypocentral",
    min_snr: float = 3.0, corrections=None,
) -> tuple[pd.DataFrame, list[str]]:  # fmt: skip
    """Station MLs (see the module docstring) and notes about channels left out."""
    law = get_law(law)
    if distance not in ("hypocentral", "epicentral"):
        raise InputError(
            f"magnitude.distance: expected 'hypocentral' or 'epicentral', got {distance!r}"
        )
    corr = read_station_corrections(corrections)
    notes: list[str] = []
    if amplitudes.empty:
        return pd.DataFrame(columns=STATION_COLUMNS), notes
    a = amplitudes.copy()
    a["station_id"] = a.network + "." + a.station + "." + a.location
    r = a.distance_km if distance == "hypocentral" else a.epicentral_km
    with np.errstate(divide="ignore", invalid="ignore"):
        a["ml"] = np.log10(a.amplitude_mm.to_numpy()) + law.minus_log_a0(r.to_numpy())
    low = a.snr < min_snr
    for row in a[low].itertuples(index=False):
        notes.append(f"event {row.event_id}, {row.station_id}.{row.channel}: SNR {row.snr:.1f} "
                     f"below {min_snr:g}; not used")  # fmt: skip
    outside = ~low & ~np.isfinite(a.ml)
    for row in a[outside].itertuples(index=False):
        notes.append(f"event {row.event_id}, {row.station_id}.{row.channel}: distance "
                     f"{row.distance_km:.0f} km outside {law.name}'s range; not used")  # fmt: skip
    a = a[~low & ~outside]
    rows = []
    for (eid, sid), g in a.groupby(["event_id", "station_id"], sort=True):
        c = corr.get(sid, 0.0)
        rows.append((eid, sid, float(g.ml.mean()) + c, len(g), ",".join(sorted(g.channel)),
                     float(g.distance_km.iloc[0] if distance == "hypocentral"
                           else g.epicentral_km.iloc[0]), c, True))  # fmt: skip
    return pd.DataFrame(rows, columns=STATION_COLUMNS), notes


def _keep(values: np.ndarray, outlier_mad: float) -> np.ndarray:
    med = np.median(values)
    scale = max(1.4826 * np.median(np.abs(values - med)), 0.1)
    return np.abs(values - med) <= outlier_mad * scale


def network_magnitudes(
    station_mags: pd.DataFrame, *, method: str = "median", trim: float = 0.125,
    outlier_mad: float = 3.0, min_stations: int = 1, magnitude_type: str = "ML",
) -> tuple[pd.DataFrame, pd.DataFrame]:  # fmt: skip
    """(network MLs per event, the station table with ``used`` updated by the outlier test)."""
    if method not in ("median", "trimmed_mean"):
        raise InputError(f"magnitude.method: expected 'median' or 'trimmed_mean', got {method!r}")
    if not 0 <= trim < 0.5:
        raise InputError(f"magnitude.trim: expected a fraction in [0, 0.5), got {trim}")
    if not outlier_mad > 0:
        raise InputError(f"magnitude.outlier_mad: expected > 0, got {outlier_mad}")
    st = station_mags.copy()
    rows = []
    for eid, g in st.groupby("event_id", sort=True):
        values = g.magnitude.to_numpy(np.float64)
        keep = _keep(values, outlier_mad) if len(values) >= 3 else np.ones(len(values), bool)
        st.loc[g.index, "used"] = keep
        used = np.sort(values[keep])
        if len(used) < min_stations:
            continue
        if method == "median":
            value = float(np.median(used))
        else:
            cut = int(np.floor(trim * len(used)))
            value = float(used[cut : len(used) - cut].mean())
        sd = float(np.std(used, ddof=1)) if len(used) > 1 else 0.0
        rows.append((eid, value, magnitude_type, sd, len(used), method))
    return pd.DataFrame(rows, columns=NETWORK_COLUMNS), st
