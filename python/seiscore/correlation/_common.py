"""Small helpers shared by the correlation modules: times in nanoseconds, number checks, FFT
workers."""

from __future__ import annotations

import datetime as _dt
import math

import numpy as np

from ..exceptions import InputError

_NS = 1_000_000_000
_DAY_NS = 86_400 * _NS


def _to_ns(value, name: str) -> int:
    """UTCDateTime / numpy.datetime64 / datetime / ISO string → int nanoseconds since 1970 (UTC)."""
    if value is None:
        raise InputError(f"{name}: a time is required")
    ns = getattr(value, "ns", None)  # obspy.UTCDateTime
    if ns is not None:
        return int(ns)
    try:
        if isinstance(value, _dt.datetime):
            if value.tzinfo is not None:
                value = value.astimezone(_dt.timezone.utc).replace(tzinfo=None)
            return int(np.datetime64(value, "ns").astype(np.int64))
        if isinstance(value, (str, np.datetime64)):
            text = value.rstrip("Z") if isinstance(value, str) else value
            return int(np.datetime64(text, "ns").astype(np.int64))
    except (ValueError, TypeError) as exc:
        raise InputError(f"{name}: cannot read {value!r} as a UTC time ({exc})") from None
    raise InputError(
        f"{name}: expected a UTC time (UTCDateTime, datetime64, ISO string), got {value!r}"
    )


def _iso(ns: int) -> str:
    return str(np.datetime64(int(ns), "ns")) + "Z"


def _now_iso() -> str:
    """The current UTC time, as :func:`_iso` writes it."""
    now = _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None)
    return _iso(int(np.datetime64(now, "ns").astype(np.int64)))


def _positive(value, name: str, *, allow_zero: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name}: expected a number, got {value!r}") from None
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        kind = "non-negative" if allow_zero else "positive"
        raise InputError(f"{name}: expected a {kind} number, got {value!r}")
    return v


def _workers_for_fft(workers: int) -> int:
    return -1 if workers == 0 else workers
