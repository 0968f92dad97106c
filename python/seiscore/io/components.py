"""The component rule of :func:`seiscore.io.waveforms.to_waveforms`: which channel is Z, N
and E at a station, when the horizontals are rotated, and why a station is skipped."""

from __future__ import annotations

import numpy as np
from obspy import Trace

#: Numbered channels that stand in for a missing orientation letter.
_NUMBERED = {"E": "1", "N": "2", "Z": "3"}


def _trace_sources(tr: Trace) -> tuple[str, ...]:
    src = tr.stats.get("_source")
    if not src:
        return ()
    if isinstance(src, str):
        return (src,)
    return tuple(str(s) for s in src)


def _skip_reason(label, traces, missing) -> str:
    """Why a station group gives no waveform: damaged files, Galperin or pressure channels, or
    simply no such component."""
    channels = sorted({tr.stats.channel for tr in traces})
    has, what = ", ".join(channels), ", ".join(missing)
    damaged = sorted(
        {src for tr in traces if tr.stats.get("_damage") for src in _trace_sources(tr)}
    )
    if damaged:
        return (
            f"{label}: {', '.join(damaged)} is truncated or corrupt: no {what} component "
            f"left (channels read: {has}); skipped"
        )
    letters = {c[-1] for c in channels}
    if {"U", "V", "W"} <= letters:
        return (
            f"{label}: U/V/W (Galperin) components ({has}) are not supported: rotate them to "
            "Z/N/E first (e.g. obspy.signal.rotate.rotate2zne); skipped"
        )
    if all(len(c) == 3 and c[1] == "D" for c in channels):
        return (
            f"{label}: {has} are pressure channels (hydrophone or barometer), not "
            "seismometer components; skipped"
        )
    return f"{label}: no {what} component (channels: {has}); skipped"


def _choose_components(traces, components, label=None, messages=None) -> dict[str, list[Trace]]:
    """Traces per wanted component letter. The rule: ``Z`` is Z, else ``3``, else ``U`` (up)
    unless the station also has ``V`` and ``W`` (then U/V/W are Galperin components, refused);
    ``N``/``E`` are N/E, else ``2``/``1`` (rotated with orientations when given)."""
    by_letter: dict[str, list[Trace]] = {}
    for tr in traces:
        by_letter.setdefault(tr.stats.channel[-1], []).append(tr)
    galperin = {"U", "V", "W"} <= set(by_letter)
    chosen: dict[str, list[Trace]] = {}
    for c in components:
        if c in by_letter:
            chosen[c] = by_letter[c]
        elif c in _NUMBERED and _NUMBERED[c] not in components and _NUMBERED[c] in by_letter:
            chosen[c] = by_letter[_NUMBERED[c]]
        elif c == "Z" and "U" in by_letter and not galperin and "U" not in components:
            chosen[c] = by_letter["U"]
            if messages is not None:
                code = by_letter["U"][0].stats.channel
                messages.append(f"{label}: {code} taken as the vertical (U = up)")
    return chosen


def orientations_from_inventory(inventory) -> dict[str, float]:
    """``NET.STA.LOC.CHA`` → azimuth (degrees clockwise from north) of every channel with one
    (the last epoch wins), for :func:`to_waveforms`' ``orientations``."""
    out = {}
    for net in inventory:
        for sta in net:
            for ch in sta:
                if ch.azimuth is not None:
                    out[f"{net.code}.{sta.code}.{ch.location_code or ''}.{ch.code}"] = float(
                        ch.azimuth
                    )
    return out


def _angle(a: float, b: float) -> float:
    """Smallest difference of two azimuths, degrees in [0, 180]."""
    return abs((a - b + 180.0) % 360.0 - 180.0)


def _orient(data, components, chosen, sid, label, orientations, messages) -> None:
    """Rotate the E and N rows in place to geographic east and north when their channels'
    azimuths (from ``orientations``) are not 90° and 0°; say what was done or assumed."""
    if "E" not in chosen or "N" not in chosen or "E" not in components or "N" not in components:
        return
    codes = {c: chosen[c][0].stats.channel for c in ("E", "N")}
    az = {c: (orientations or {}).get(f"{sid}.{codes[c]}") for c in ("E", "N")}
    numbered = any(codes[c][-1] in "12" for c in codes)
    if az["E"] is None or az["N"] is None:
        if numbered:
            messages.append(
                f"{label}: {codes['E']}/{codes['N']} taken as E/N without rotation "
                "(no orientation metadata)"
            )
        return
    if _angle(az["E"], 90.0) < 1.0 and _angle(az["N"], 0.0) < 1.0:
        return
    if abs(_angle(az["E"], az["N"]) - 90.0) > 5.0:
        messages.append(
            f"{label}: {codes['E']} ({az['E']:g}°) and {codes['N']} ({az['N']:g}°) "
            "are not orthogonal; not rotated"
        )
        return
    ie, in_ = components.index("E"), components.index("N")
    ae, an = np.radians(az["E"]), np.radians(az["N"])
    x_e, x_n = data[ie].copy(), data[in_].copy()
    data[ie] = x_e * np.sin(ae) + x_n * np.sin(an)
    data[in_] = x_e * np.cos(ae) + x_n * np.cos(an)
    messages.append(
        f"{label}: {codes['E']} ({az['E']:g}°) and {codes['N']} ({az['N']:g}°) "
        "rotated to east and north"
    )
