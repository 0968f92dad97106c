"""Station lists of location programs: NonLinLoc ``GTSRCE`` lines, LOKI / MALMI
``header.hdr`` files, and Hypoinverse station files.

Each parser returns rows ``(network, station, location, latitude, longitude, elevation_m,
where, channel)`` for :func:`seiscore.io.stations.read_stations`; none of these formats has a
network code, so ``network`` is the caller's ``default_network``.

* NonLinLoc: ``GTSRCE label LATLON lat lon depth_km elev_km`` (also ``LATLONDM`` with degrees
  and decimal minutes, e.g. ``46 12.5N``); ``XYZ`` sources have no geographic position and are
  refused. Elevation = ``elev_km`` (the station's height above sea level).
* LOKI / MALMI ``header.hdr``: ``nx ny nz`` / ``x0 y0 z0`` / ``dx dy dz`` / ``lat0 lon0``, then
  one station per line, ``name lat lon elev_km`` (a name alone has no position: refused).
* Hypoinverse station format #2: ``STA NET [CHAN ...] dd mm.mmmm[N|S] ddd mm.mmmm[E|W] elev_m``
  (blank hemisphere letters mean N and W, as in Hypoinverse).
"""

from __future__ import annotations

import re

from ..exceptions import InputError

__all__ = ["looks_hypoinverse", "looks_loki_header", "parse_gtsrce", "parse_hypoinverse",
           "parse_loki_header"]  # fmt: skip

_HINV = re.compile(
    r"^\s*(?P<sta>[A-Za-z0-9_]{1,5})\s+(?P<net>[A-Za-z0-9]{1,2})\s+(?P<chan>[A-Za-z0-9]{1,3}\s+)?"
    r"(?P<latd>\d{1,2})\s+(?P<latm>\d{1,2}\.\d+)(?P<ns>[NSns ]?)\s*"
    r"(?P<lond>\d{1,3})\s+(?P<lonm>\d{1,2}\.\d+)(?P<ew>[EWew ]?)\s*(?P<elev>-?\d+(\.\d*)?)"
)


def _float(token: str, source: str, line: int, what: str) -> float:
    try:
        return float(token)
    except ValueError:
        raise InputError(f"{source}: line {line}: {what} {token!r} is not a number") from None


def _degrees_minutes(text: str, source: str, line: int, what: str) -> float:
    """``46 12.5N``-style tokens joined: degrees and decimal minutes with a hemisphere."""
    m = re.fullmatch(r"(-?\d+)\s+(\d+(?:\.\d*)?)([NSEWnsew]?)", text.strip())
    if not m:
        raise InputError(f"{source}: line {line}: {what} {text!r} is not 'degrees minutes[NSEW]'")
    value = abs(float(m.group(1))) + float(m.group(2)) / 60.0
    negative = m.group(1).startswith("-") or m.group(3).upper() in ("S", "W")
    return -value if negative else value


def parse_gtsrce(lines, source: str, network: str) -> list[tuple]:
    rows = []
    for k, ln in lines:
        parts = ln.split()
        if not parts or parts[0].upper() != "GTSRCE":
            continue
        if len(parts) < 7:
            raise InputError(
                f"{source}: line {k}: GTSRCE needs label, type, position, depth, "
                f"elevation; got {ln.strip()!r}"
            )
        label, kind = parts[1], parts[2].upper()
        if kind == "LATLON":
            lat = _float(parts[3], source, k, "latitude")
            lon = _float(parts[4], source, k, "longitude")
            elev_km = _float(parts[6], source, k, "elevation")
        elif kind == "LATLONDM" and len(parts) >= 9:
            lat = _degrees_minutes(f"{parts[3]} {parts[4]}", source, k, "latitude")
            lon = _degrees_minutes(f"{parts[5]} {parts[6]}", source, k, "longitude")
            elev_km = _float(parts[8], source, k, "elevation")
        else:
            raise InputError(
                f"{source}: line {k}: GTSRCE {label} is given as {kind}; only "
                "LATLON and LATLONDM positions are geographic"
            )
        rows.append((network, label, "", lat, lon, elev_km * 1000.0, f"line {k}", ""))
    if not rows:
        raise InputError(f"{source}: no GTSRCE line")
    return rows


def looks_loki_header(lines) -> bool:
    """Three integers, three numbers, three numbers, two numbers: a LOKI/MALMI header."""
    if len(lines) < 5:
        return False
    shape = [ln.split() for _, ln in lines[:4]]
    if [len(s) for s in shape] != [3, 3, 3, 2]:
        return False
    try:
        [int(v) for v in shape[0]]
        [float(v) for s in shape[1:] for v in s]
    except ValueError:
        return False
    return True


def parse_loki_header(lines, source: str, network: str) -> list[tuple]:
    rows = []
    for k, ln in lines[4:]:
        parts = ln.split()
        if len(parts) < 4:
            raise InputError(
                f"{source}: line {k}: station {parts[0]!r} has no coordinates "
                "(header.hdr lists names only here: give a station file)"
            )
        lat = _float(parts[1], source, k, "latitude")
        lon = _float(parts[2], source, k, "longitude")
        elev_km = _float(parts[3], source, k, "elevation")
        rows.append((network, parts[0], "", lat, lon, elev_km * 1000.0, f"line {k}", ""))
    return rows


def looks_hypoinverse(lines) -> bool:
    return all(_HINV.match(ln) for _, ln in lines)


def parse_hypoinverse(lines, source: str, network: str) -> list[tuple]:
    rows = []
    for k, ln in lines:
        m = _HINV.match(ln)
        if not m:
            raise InputError(f"{source}: line {k}: not a Hypoinverse station line: {ln.strip()!r}")
        lat = int(m["latd"]) + float(m["latm"]) / 60.0
        lon = int(m["lond"]) + float(m["lonm"]) / 60.0
        lat = -lat if m["ns"].upper() == "S" else lat
        lon = lon if m["ew"].upper() == "E" else -lon  # blank: west, as in Hypoinverse
        chan = (m["chan"] or "").strip()
        rows.append(
            (m["net"] or network, m["sta"], "", lat, lon, float(m["elev"]), f"line {k}", chan)
        )
    return rows
