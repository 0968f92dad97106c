"""Station tables in: StationXML (ObsPy Inventory), CSV, REAL's ``station.dat``, plain text.

:func:`read_stations` returns a :class:`~seiscore.containers.Stations` table with one row per
``network.station.location`` (channels are de-duplicated: several channels, epochs or
components of one station/location give one row). :func:`project_stations` fills the local
``x_km``/``y_km`` columns with :func:`seiscore.geo.project`.

Accepted inputs
---------------
* an ``obspy.Inventory`` or a StationXML file (``.xml``, or any file starting with ``<``);
* a CSV (comma-separated, with a header) with columns ``network, station, location``
  (optional), ``latitude, longitude`` and ``elevation`` or ``elevation_m`` (metres) or
  ``elevation_km``; column names are case-insensitive and ``lat``/``lon``/``net``/``sta``/``loc``
  are accepted too;
* the same table whitespace-separated with the same header;
* QuakeMigrate station files (header ``Latitude,Longitude,Elevation,Name``; QuakeMigrate gives
  ``Elevation`` in **km**, so it is read as km);
* REAL's ``station.dat``: no header, whitespace-separated ``lon lat net sta chan elev_km``.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import obspy

from .. import geo
from ..containers import Stations
from ..exceptions import InputError

__all__ = ["project_stations", "read_stations"]

_ALIASES = {
    "network": ("network", "net", "networkcode", "network_code"),
    "station": ("station", "sta", "stationcode", "station_code", "name"),
    "location": ("location", "loc", "locationcode", "location_code"),
    "latitude": ("latitude", "lat"),
    "longitude": ("longitude", "lon", "long", "lng"),
    "elevation_m": ("elevation_m", "elevation", "elev", "elev_m", "altitude"),
    "elevation_km": ("elevation_km", "elev_km"),
}


def _empty_error(source: str) -> InputError:
    return InputError(f"{source}: no stations found (empty inventory or table)")


def _table(network, station, location, lat, lon, elev_m) -> Stations:
    n = len(network)
    return Stations(
        network=np.asarray(network, dtype=object),
        station=np.asarray(station, dtype=object),
        location=np.asarray(location, dtype=object),
        latitude=np.asarray(lat, dtype=np.float64),
        longitude=np.asarray(lon, dtype=np.float64),
        elevation_m=np.asarray(elev_m, dtype=np.float64),
        x_km=np.full(n, np.nan),
        y_km=np.full(n, np.nan),
    )


def _dedupe(rows: list[tuple], source: str) -> Stations:
    """One row per (network, station, location), first occurrence wins; sorted by id."""
    seen: dict[tuple[str, str, str], tuple] = {}
    for r in rows:
        key = (str(r[0]), str(r[1]), str(r[2]))
        seen.setdefault(key, r)
    if not seen:
        raise _empty_error(source)
    keys = sorted(seen)
    cols = list(zip(*(seen[k] for k in keys), strict=False))
    out = _table(
        [k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys], cols[3], cols[4], cols[5]
    )
    bad = ~(np.isfinite(out.latitude) & np.isfinite(out.longitude))
    if bad.any():
        ids = [out.ids[i] for i in np.flatnonzero(bad)[:5]]
        raise InputError(f"{source}: stations without coordinates: {ids}")
    out.elevation_m = np.where(np.isfinite(out.elevation_m), out.elevation_m, 0.0)
    return out


def _from_inventory(inv: obspy.Inventory, source: str) -> Stations:
    rows = []
    for net in inv:
        for sta in net:
            if len(sta.channels):
                for ch in sta:
                    lat = ch.latitude if ch.latitude is not None else sta.latitude
                    lon = ch.longitude if ch.longitude is not None else sta.longitude
                    elev = ch.elevation if ch.elevation is not None else sta.elevation
                    rows.append((net.code, sta.code, ch.location_code or "", lat, lon, elev))
            else:
                rows.append((net.code, sta.code, "", sta.latitude, sta.longitude, sta.elevation))
    return _dedupe(rows, source)


def _find(columns: dict[str, str], key: str) -> str | None:
    for alias in _ALIASES[key]:
        if alias in columns:
            return columns[alias]
    return None


def _from_dataframe(df, source: str) -> Stations:
    columns = {str(c).strip().lower(): c for c in df.columns}
    qm_format = "name" in columns and "station" not in columns and "sta" not in columns
    found = {k: _find(columns, k) for k in _ALIASES}
    if qm_format and found["elevation_km"] is None and found["elevation_m"] is not None:
        # QuakeMigrate station files give "Elevation" in km
        found["elevation_km"], found["elevation_m"] = found["elevation_m"], None
    missing = [k for k in ("station", "latitude", "longitude") if found[k] is None]
    if found["elevation_m"] is None and found["elevation_km"] is None:
        missing.append("elevation (or elevation_m / elevation_km)")
    if missing:
        raise InputError(
            f"{source}: missing columns {missing}; expected network, station, location (optional), "
            f"latitude, longitude, elevation_m (got {list(df.columns)})"
        )
    n = len(df)
    if n == 0:
        raise _empty_error(source)

    def text(key):
        col = found[key]
        if col is None:
            return [""] * n
        return ["" if v != v else str(v).strip() for v in df[col].tolist()]  # NaN -> ""

    def number(key):
        try:
            return df[found[key]].to_numpy(dtype=np.float64)
        except (ValueError, TypeError) as exc:
            raise InputError(f"{source}: column {found[key]!r} is not numeric ({exc})") from None

    elev = (
        number("elevation_m")
        if found["elevation_m"] is not None
        else number("elevation_km") * 1000.0
    )
    rows = list(
        zip(
            text("network"),
            text("station"),
            text("location"),
            number("latitude"),
            number("longitude"),
            elev,
            strict=False,
        )
    )
    return _dedupe(rows, source)


def _from_real(lines: list[str], source: str) -> Stations:
    rows = []
    for k, line in enumerate(lines, 1):
        parts = line.split()
        if not parts or parts[0].startswith("#"):
            continue
        if len(parts) < 6:
            raise InputError(
                f"{source}:{k}: expected 'lon lat net sta chan elev_km', got {line.strip()!r}"
            )
        try:
            lon, lat, elev_km = float(parts[0]), float(parts[1]), float(parts[5])
        except ValueError:
            raise InputError(
                f"{source}:{k}: expected 'lon lat net sta chan elev_km', got {line.strip()!r}"
            ) from None
        rows.append((parts[2], parts[3], "", lat, lon, elev_km * 1000.0))
    return _dedupe(rows, source)


def _looks_numeric(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def read_stations(path_or_inventory) -> Stations:
    """Read a station table (see the module docstring for the formats).

    Parameters
    ----------
    path_or_inventory : str, Path or obspy.Inventory

    Returns
    -------
    Stations
        One row per ``network.station.location``, sorted by id; ``elevation_m`` in metres above
        sea level (0 where the input has none); ``x_km``/``y_km`` are NaN until
        :func:`project_stations` fills them.

    Raises
    ------
    InputError
        File missing or unreadable, no stations, or required columns missing (the message
        names the file and the columns).
    """
    if isinstance(path_or_inventory, obspy.Inventory):
        return _from_inventory(path_or_inventory, "inventory")
    path = Path(path_or_inventory)
    source = str(path)
    if not path.is_file():
        raise InputError(f"station file not found: {path}")
    text = path.read_text(errors="replace")
    if not text.strip():
        raise _empty_error(source)
    if path.suffix.lower() == ".xml" or text.lstrip().startswith("<"):
        try:
            inv = obspy.read_inventory(source)
        except Exception as exc:  # ObsPy raises many types for malformed XML
            raise InputError(
                f"{source}: cannot read as StationXML ({type(exc).__name__}: {exc})"
            ) from None
        return _from_inventory(inv, source)

    import pandas as pd

    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise _empty_error(source)
    first = lines[0]
    if "," not in first:
        tokens = first.split()
        if len(tokens) >= 6 and _looks_numeric(tokens[0]) and _looks_numeric(tokens[1]):
            return _from_real(lines, source)
    sep = "," if "," in first else r"\s+"
    try:
        df = pd.read_csv(io.StringIO("\n".join(lines)), sep=sep, dtype=str, engine="python")
    except Exception as exc:
        raise InputError(f"{source}: cannot read as a station table ({exc})") from None
    for col in df.columns:
        df[col] = df[col].str.strip() if df[col].dtype == object else df[col]
    return _from_dataframe(df, source)


def project_stations(
    stations: Stations, ref_lat: float | None = None, ref_lon: float | None = None
):
    """Fill ``x_km``/``y_km`` with :func:`seiscore.geo.project` around a reference point.

    The default reference is the network centroid (mean latitude; circular mean of the
    longitudes, so networks across the antimeridian work). Returns ``(projected, (ref_lat,
    ref_lon))``; the input table is not modified.
    """
    if len(stations) == 0:
        raise InputError("project_stations: the station table is empty")
    lat = np.asarray(stations.latitude, dtype=np.float64)
    lon = np.asarray(stations.longitude, dtype=np.float64)
    if ref_lat is None or ref_lon is None:
        clat = float(np.mean(lat))
        lam = np.radians(lon)
        clon = float(np.degrees(np.arctan2(np.mean(np.sin(lam)), np.mean(np.cos(lam)))))
        ref_lat = clat if ref_lat is None else ref_lat
        ref_lon = clon if ref_lon is None else ref_lon
    ref_lat, ref_lon = float(ref_lat), float(ref_lon)
    if not (-90.0 <= ref_lat <= 90.0 and np.isfinite(ref_lon)):
        raise InputError(f"project_stations: invalid reference point ({ref_lat}, {ref_lon})")
    x, y = geo.project(lat, lon, ref_lat, ref_lon)
    out = Stations(
        network=stations.network.copy(),
        station=stations.station.copy(),
        location=stations.location.copy(),
        latitude=lat.copy(),
        longitude=lon.copy(),
        elevation_m=np.asarray(stations.elevation_m, dtype=np.float64).copy(),
        x_km=np.asarray(x, dtype=np.float64),
        y_km=np.asarray(y, dtype=np.float64),
    )
    return out, (ref_lat, ref_lon)
