"""Station tables in: StationXML (ObsPy Inventory), CSV, REAL's ``station.dat``, plain text.

:func:`read_stations` returns a :class:`~seiscore.containers.Stations` table with one row per
``network.station.location`` (channels are de-duplicated: several channels, epochs or
components of one station/location give one row). :func:`project_stations` fills the local
``x_km``/``y_km`` columns with :func:`seiscore.geo.project`.

Accepted inputs
---------------
* an ``obspy.Inventory`` or a StationXML file (``.xml``, or any file starting with ``<``);
* a full SEED volume or a dataless SEED (recognised by content: station coordinates and
  responses come from its control headers; :func:`read_inventory` returns them with the
  responses, for magnitudes);
* a CSV (comma-separated, with a header) with columns ``network, station, location``
  (optional), ``latitude, longitude`` and ``elevation`` or ``elevation_m`` (metres) or
  ``elevation_km``; column names are case-insensitive and ``lat``/``lon``/``net``/``sta``/``loc``
  are accepted too;
* the same table whitespace-separated with the same header;
* QuakeMigrate station files (header ``Latitude,Longitude,Elevation,Name``; QuakeMigrate gives
  ``Elevation`` in **km**, so it is read as km);
* REAL's ``station.dat``: no header, whitespace-separated ``lon lat net sta chan elev_km``;
* NonLinLoc ``GTSRCE`` lines (in a control file), LOKI / MALMI ``header.hdr`` station lists,
  and Hypoinverse station files (:mod:`seiscore.io.station_formats`).

Checks: latitudes lie in [-90, 90] and longitudes in [-180, 360] degrees (StationXML: its
schema's [-180, 180]); a station listed twice must be listed at the same position (channels and
epochs of an inventory within 100 m). Errors name the file, the line (or channel) and the
station.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import obspy

from .. import geo
from ..containers import Stations, coordinate_problem
from ..exceptions import InputError
from . import station_formats as formats

__all__ = ["is_seed", "project_stations", "read_inventory", "read_stations"]

_ALIASES = {
    "network": ("network", "net", "networkcode", "network_code"),
    "station": ("station", "sta", "stationcode", "station_code", "name"),
    "location": ("location", "loc", "locationcode", "location_code"),
    "channel": ("channel", "chan", "cha", "channelcode", "channel_code"),
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


# Channels or epochs of one NET.STA.LOC in an inventory may differ this little in position
# (re-surveys, sensors of one vault) and are merged; more is an error.
_INVENTORY_TOLERANCE_KM = 0.1


def _position(row) -> str:
    return f"({row[3]:g}, {row[4]:g}, {row[5]:g} m)"


def _check_row(row, source: str) -> None:
    """InputError naming the file, the line (or channel) and the station of a row whose
    coordinates are out of range."""
    problem = coordinate_problem(float(row[3]), float(row[4]))
    if problem is not None:
        raise InputError(
            f"{source}: {row[6]}: station {row[0]}.{row[1]}.{row[2]}: {problem}; check the "
            "coordinates"
        )


def _same_position(a, b, tolerance_km: float) -> bool:
    if tolerance_km == 0.0:
        return all((x == y) or (x != x and y != y) for x, y in zip(a[3:6], b[3:6], strict=False))
    horizontal = float(geo.distance_km(a[3], a[4], b[3], b[4]))
    dz = abs(float(a[5]) - float(b[5])) / 1000.0 if np.isfinite([a[5], b[5]]).all() else 0.0
    return horizontal <= tolerance_km and dz <= tolerance_km


def _dedupe(
    rows: list[tuple], source: str, messages: list | None = None, tolerance_km: float = 0.0
) -> Stations:
    """One row per (network, station, location), sorted by id. Rows are ``(network, station,
    location, latitude, longitude, elevation_m, where, channel)`` (``where``: "line 12" or a
    channel). Repeats at the same position (within ``tolerance_km``) are merged (a note in
    ``messages`` when a line-based file repeats a row, not for one line per channel); repeats
    elsewhere are an InputError naming both."""
    seen: dict[tuple[str, str, str], tuple] = {}
    repeats: dict[tuple[str, str, str], list[str]] = {}
    for r in rows:
        _check_row(r, source)
        key = (str(r[0]), str(r[1]), str(r[2]))
        first = seen.setdefault(key, r)
        if first is r:
            continue
        if not _same_position(first, r, tolerance_km):
            raise InputError(
                f"{source}: station {'.'.join(key)} is given twice with different coordinates: "
                f"{first[6]} {_position(first)} and {r[6]} {_position(r)}; keep the right one"
            )
        if r[7] == first[7]:  # the same channel (or none) again: a repeated row
            repeats.setdefault(key, [first[6]]).append(r[6])
    if not seen:
        raise _empty_error(source)
    if messages is not None and tolerance_km == 0.0:
        for key, where in repeats.items():
            messages.append(
                f"{source}: station {'.'.join(key)} is listed {len(where)} times with the same "
                f"coordinates ({', '.join(where)}); merged"
            )
    keys = sorted(seen)
    cols = list(zip(*(seen[k] for k in keys), strict=False))
    out = _table(
        [k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys], cols[3], cols[4], cols[5]
    )
    bad = ~(np.isfinite(out.latitude) & np.isfinite(out.longitude))
    if bad.any():
        where = [f"{out.ids[i]} ({seen[keys[i]][6]})" for i in np.flatnonzero(bad)[:5]]
        raise InputError(f"{source}: stations without coordinates: {', '.join(where)}")
    out.elevation_m = np.where(np.isfinite(out.elevation_m), out.elevation_m, 0.0)
    return out


def _from_inventory(inv: obspy.Inventory, source: str) -> Stations:
    rows = []
    for net in inv:
        for sta in net:
            since = f" from {sta.start_date.date}" if sta.start_date is not None else ""
            if len(sta.channels):
                for ch in sta:
                    lat = ch.latitude if ch.latitude is not None else sta.latitude
                    lon = ch.longitude if ch.longitude is not None else sta.longitude
                    elev = ch.elevation if ch.elevation is not None else sta.elevation
                    loc = ch.location_code or ""
                    on = f" from {ch.start_date.date}" if ch.start_date is not None else since
                    where = f"channel {net.code}.{sta.code}.{loc}.{ch.code}{on}"
                    rows.append((net.code, sta.code, loc, *_floats(lat, lon, elev), where, ch.code))
            else:
                where = f"station {net.code}.{sta.code}{since}"
                rows.append(
                    (
                        net.code,
                        sta.code,
                        "",
                        *_floats(sta.latitude, sta.longitude, sta.elevation),
                        where,
                        "",
                    )
                )
    return _dedupe(rows, source, tolerance_km=_INVENTORY_TOLERANCE_KM)


def _floats(*values) -> tuple[float, ...]:
    return tuple(float("nan") if v is None else float(v) for v in values)


def _find(columns: dict[str, str], key: str) -> str | None:
    for alias in _ALIASES[key]:
        if alias in columns:
            return columns[alias]
    return None


def _columns_of(df, source: str) -> dict:
    """The column of ``df`` holding each field of :data:`_ALIASES` (None: absent); InputError
    for required columns that are missing."""
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
    return found


def _from_dataframe(df, source: str, line_numbers, messages=None) -> Stations:
    """Rows of a station table; ``line_numbers[i]`` is the file line of row ``i``."""
    found = _columns_of(df, source)
    n = len(df)
    if n == 0:
        raise _empty_error(source)

    def text(key):
        col = found[key]
        if col is None:
            return [""] * n
        return ["" if v != v else str(v).strip() for v in df[col].tolist()]  # NaN -> ""

    def number(key):
        values = df[found[key]].tolist()
        out = np.full(n, np.nan)
        for i, v in enumerate(values):
            if v != v or v is None or str(v).strip() == "":
                continue
            try:
                out[i] = float(v)
            except (TypeError, ValueError):
                raise InputError(
                    f"{source}: line {line_numbers[i]}: column {found[key]!r}: {v!r} is not a "
                    "number"
                ) from None
        return out

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
            [f"line {k}" for k in line_numbers],
            text("channel"),
            strict=False,
        )
    )
    return _dedupe(rows, source, messages)


def _from_real(lines: list[tuple[int, str]], source: str, messages=None) -> Stations:
    """REAL's station.dat; ``lines`` are (line number, text) without blank and comment lines."""
    rows = []
    for k, line in lines:
        parts = line.split()
        try:
            if len(parts) < 6:
                raise ValueError
            lon, lat, elev_km = float(parts[0]), float(parts[1]), float(parts[5])
        except ValueError:
            raise InputError(
                f"{source}: line {k}: expected 'lon lat net sta chan elev_km', got {line.strip()!r}"
            ) from None
        rows.append((parts[2], parts[3], "", lat, lon, elev_km * 1000.0, f"line {k}", parts[4]))
    return _dedupe(rows, source, messages)


def _looks_numeric(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def read_stations(
    path_or_inventory, messages: list | None = None, *, default_network: str = ""
) -> Stations:
    """Read a station table (see the module docstring for the formats).

    Parameters
    ----------
    path_or_inventory : str, Path or obspy.Inventory
    messages : list, optional
        Notes about what was merged (a station listed twice at the same position) are
        appended here.
    default_network : str
        Network code for formats that have none (NonLinLoc ``GTSRCE``, LOKI ``header.hdr``).

    Returns
    -------
    Stations
        One row per ``network.station.location``, sorted by id; ``elevation_m`` in metres above
        sea level (0 where the input has none); ``x_km``/``y_km`` are NaN until
        :func:`project_stations` fills them.

    Raises
    ------
    InputError
        File missing or unreadable, no stations, required columns missing (the message names
        the file and the columns), a value that is not a number, a latitude outside [-90, 90]
        or a longitude outside [-180, 360] degrees, or one station listed twice at different
        positions (the message names the file, the line or channel, and the station; channels
        and epochs of an inventory may differ by up to 100 m).
    """
    if isinstance(path_or_inventory, obspy.Inventory):
        return _from_inventory(path_or_inventory, "inventory")
    path = Path(path_or_inventory)
    source = str(path)
    if not path.is_file():
        raise InputError(f"station file not found: {path}")
    if is_seed(path):
        return _from_inventory(read_inventory(path), source)
    text = path.read_text(errors="replace")
    if not text.strip():
        raise _empty_error(source)
    if path.suffix.lower() == ".xml" or text.lstrip().startswith("<"):
        try:
            inv = obspy.read_inventory(source)
        except Exception as exc:  # ObsPy raises many types for malformed XML
            message = _bad_xml_coordinate(path) or (
                f"{source}: cannot read as StationXML ({type(exc).__name__}: {exc})"
            )
            raise InputError(message) from None
        return _from_inventory(inv, source)
    return _from_text(text, source, messages, default_network)


def is_seed(path) -> bool:
    """True when ``path`` is a SEED volume (full SEED with data, or dataless): its first
    record starts with a six-digit sequence number and a volume (``V``) or station (``S``)
    control header."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError:
        return False
    return len(head) == 8 and head[:6].isdigit() and head[6:7] in (b"V", b"S") and head[7:8] == b" "


def read_inventory(path_or_inventory) -> obspy.Inventory:
    """Station metadata with instrument responses, as an ObsPy Inventory, from StationXML, a
    full SEED volume or a dataless SEED (RESP files too: whatever ObsPy reads); an Inventory
    is returned as is. Raises InputError naming the file when it cannot be read or holds no
    channel."""
    if isinstance(path_or_inventory, obspy.Inventory):
        return path_or_inventory
    path = Path(path_or_inventory)
    if not path.is_file():
        raise InputError(f"inventory file not found: {path}")
    fmt = "SEED" if is_seed(path) else None
    try:
        inv = (
            obspy.read_inventory(str(path), format=fmt) if fmt else obspy.read_inventory(str(path))
        )
    except Exception as exc:  # noqa: BLE001 - ObsPy raises many types for malformed metadata
        what = "SEED volume" if fmt else "station metadata (StationXML, SEED, RESP)"
        raise InputError(f"{path}: cannot read as {what} ({type(exc).__name__}: {exc})") from None
    if not inv.get_contents()["channels"]:
        raise InputError(f"{path}: no channel in this inventory")
    return inv


# StationXML's schema bounds (ObsPy refuses values outside them without naming the station)
_XML_BOUNDS = {"Latitude": (-90.0, 90.0), "Longitude": (-180.0, 180.0)}


def _bad_xml_coordinate(path: Path) -> str | None:
    """A message naming the line and station of the first Latitude/Longitude outside the
    StationXML bounds in ``path``; None when there is none (or the XML does not parse)."""
    from lxml import etree  # ObsPy's XML parser

    try:
        root = etree.parse(str(path)).getroot()
    except (etree.XMLSyntaxError, OSError):
        return None
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue  # comments, processing instructions
        name = etree.QName(el).localname
        if name not in _XML_BOUNDS:
            continue
        try:
            value = float((el.text or "").strip())
        except ValueError:
            continue
        lo, hi = _XML_BOUNDS[name]
        if lo <= value <= hi:
            continue
        codes = {}
        for anc in el.iterancestors():
            codes.setdefault(etree.QName(anc).localname, anc)
        net = codes.get("Network")
        sta = codes.get("Station")
        cha = codes.get("Channel")
        sid = f"{net.get('code', '') if net is not None else ''}." + (
            f"{sta.get('code', '')}" if sta is not None else ""
        )
        if cha is not None:
            sid += f".{cha.get('locationCode', '')}.{cha.get('code', '')}"
        return (
            f"{path}: line {el.sourceline}: station {sid}: {name.lower()} {value:g} is outside "
            f"[{lo:g}, {hi:g}] degrees; check the coordinates"
        )
    return None


def _from_text(text: str, source: str, messages, network: str = "") -> Stations:
    """A CSV, whitespace or REAL station table, or a location program's station list
    (:mod:`.station_formats`); blank and ``#`` lines are skipped."""
    import pandas as pd

    lines = [
        (k, ln)
        for k, ln in enumerate(text.splitlines(), 1)
        if ln.strip() and not ln.lstrip().startswith("#")
    ]
    if not lines:
        raise _empty_error(source)
    first = lines[0][1]
    if any(ln.split()[0].upper() == "GTSRCE" for _, ln in lines):
        return _dedupe(formats.parse_gtsrce(lines, source, network), source, messages)
    if formats.looks_loki_header(lines):
        return _dedupe(formats.parse_loki_header(lines, source, network), source, messages)
    if formats.looks_hypoinverse(lines):
        return _dedupe(formats.parse_hypoinverse(lines, source, network), source, messages)
    if "," not in first:
        tokens = first.split()
        if len(tokens) >= 6 and _looks_numeric(tokens[0]) and _looks_numeric(tokens[1]):
            return _from_real(lines, source, messages)
    sep = "," if "," in first else r"\s+"
    try:
        df = pd.read_csv(
            io.StringIO("\n".join(ln for _, ln in lines)), sep=sep, dtype=str, engine="python"
        )
    except Exception as exc:
        raise InputError(f"{source}: cannot read as a station table ({exc})") from None
    if len(df) != len(lines) - 1:  # quoted line breaks: line numbers are approximate
        numbers = [lines[0][0] + 1 + i for i in range(len(df))]
    else:
        numbers = [k for k, _ in lines[1:]]
    for col in df.columns:
        df[col] = df[col].str.strip() if df[col].dtype == object else df[col]
    return _from_dataframe(df, source, numbers, messages)


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
