"""Attenuation laws for local magnitude: ``ML = log10(A) + (-log10 A0)(r)``.

``A`` is the zero-to-peak amplitude in millimetres on a standard Wood-Anderson seismograph (see
:mod:`seiscore.magnitude.wood_anderson`), ``r`` the distance in km (hypocentral by default).
Each law is an object with ``minus_log_a0(r_km) -> ndarray`` (NaN outside its distance range)
and a ``name``.

* :class:`HuttonBoore1987` (southern California; the IASPEI standard form):
  ``-log A0 = 1.110 log10(r / 100) + 0.00189 (r - 100) + 3.0``, equivalently
  ``ML = log10(A_nm) + 1.11 log10(r) + 0.00189 r - 2.09`` with ``A_nm`` the Wood-Anderson
  amplitude divided by its gain of 2080, in nm.
* :class:`BakunJoyner1984` (central California), as in ObsPy's ``estimate_magnitude``:
  ``-log A0 = log10(r / 100) + 0.00301 (r - 100) + 3.0``.
* :class:`LogA0Table`: a user ``-log A0`` table against distance (SeisComP style), linearly
  interpolated.
* :class:`Coefficients`: user coefficients of ``-log A0 = a log10(r) + b r + c``.

All give ``-log A0(100 km) = 3`` (Richter's anchor: ML 3 is 1 mm at 100 km) except user laws.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..exceptions import InputError

__all__ = ["LAWS", "BakunJoyner1984", "Coefficients", "HuttonBoore1987", "LogA0Table", "get_law"]


def _distance(r_km) -> np.ndarray:
    r = np.asarray(r_km, dtype=np.float64)
    return np.where(r > 0, r, np.nan)


@dataclass(frozen=True)
class Coefficients:
    """``-log A0 = a log10(r) + b r + c`` for ``min_km <= r <= max_km`` (NaN elsewhere)."""

    a: float
    b: float
    c: float
    min_km: float = 0.0
    max_km: float = 1000.0
    name: str = "coefficients"

    def minus_log_a0(self, r_km) -> np.ndarray:
        r = _distance(r_km)
        out = self.a * np.log10(r) + self.b * r + self.c
        return np.where((r >= self.min_km) & (r <= self.max_km), out, np.nan)


def HuttonBoore1987(max_km: float = 700.0) -> Coefficients:  # noqa: N802 (a law's name)
    """Hutton & Boore (1987), BSSA 77(6), 2074-2094; valid to about 700 km."""
    return Coefficients(1.110, 0.00189, 3.0 - 1.110 * 2.0 - 0.00189 * 100.0, 0.0, max_km,
                        "Hutton & Boore (1987)")  # fmt: skip


def BakunJoyner1984(max_km: float = 400.0) -> Coefficients:  # noqa: N802 (a law's name)
    """Bakun & Joyner (1984), BSSA 74(5), 1827-1843; valid to about 400 km."""
    return Coefficients(1.0, 0.00301, 3.0 - 2.0 - 0.00301 * 100.0, 0.0, max_km,
                        "Bakun & Joyner (1984)")  # fmt: skip


@dataclass(frozen=True)
class LogA0Table:
    """A ``-log A0`` table: ``distance_km`` (increasing) against ``value``, linearly
    interpolated; NaN outside the table."""

    distance_km: tuple
    value: tuple
    name: str = "-log A0 table"

    def __post_init__(self):
        d = np.asarray(self.distance_km, dtype=np.float64)
        v = np.asarray(self.value, dtype=np.float64)
        if d.ndim != 1 or d.shape != v.shape or len(d) < 2:
            raise InputError("-log A0 table: needs at least two (distance, value) rows")
        if not (np.isfinite(d).all() and np.isfinite(v).all()):
            raise InputError("-log A0 table: distances and values must be finite")
        if np.any(np.diff(d) <= 0):
            raise InputError("-log A0 table: distances must increase")

    def minus_log_a0(self, r_km) -> np.ndarray:
        r = _distance(r_km)
        d = np.asarray(self.distance_km, dtype=np.float64)
        v = np.asarray(self.value, dtype=np.float64)
        out = np.interp(r, d, v)
        return np.where((r >= d[0]) & (r <= d[-1]), out, np.nan)

    @classmethod
    def read(cls, path) -> LogA0Table:
        """A two-column text file ``distance_km value`` (``#`` comments; commas or spaces).

        SeisComP's ``logA0`` setting (``"0:-1.3,60:-2.8,..."``) is read as well."""
        path = Path(path)
        if not path.is_file():
            raise InputError(f"-log A0 table not found: {path}")
        text = path.read_text()
        rows = []
        if ":" in text and "\n" not in text.strip():
            pairs = [p.split(":") for p in text.strip().strip('"').split(",")]
            # SeisComP gives log A0 (negative); ML = log A - log A0
            rows = [(float(d), -float(v)) for d, v in pairs]
        else:
            for n, line in enumerate(text.splitlines(), 1):
                line = line.split("#")[0].replace(",", " ").strip()
                if not line:
                    continue
                parts = line.split()
                try:
                    rows.append((float(parts[0]), float(parts[1])))
                except (ValueError, IndexError):
                    raise InputError(
                        f"{path}, line {n}: expected 'distance_km value', got {line!r}"
                    ) from None
        d, v = zip(*rows, strict=True) if rows else ((), ())
        return cls(tuple(d), tuple(v), name=f"-log A0 table {path.name}")


LAWS = {"hutton_boore_1987": HuttonBoore1987, "bakun_joyner_1984": BakunJoyner1984}


def get_law(law) -> object:
    """A law from a name in :data:`LAWS`, a ``-log A0`` table file, a (a, b, c) triple of
    :class:`Coefficients`, or a law object (returned as is)."""
    if hasattr(law, "minus_log_a0"):
        return law
    if isinstance(law, str):
        key = law.lower().replace("&", "").replace(" ", "_").replace("-", "_")
        if key in LAWS:
            return LAWS[key]()
        if Path(law).is_file():
            return LogA0Table.read(law)
        raise InputError(
            f"attenuation law {law!r}: expected one of {sorted(LAWS)}, a -log A0 table file, "
            "or coefficients (a, b, c)"
        )
    if isinstance(law, (tuple, list)) and len(law) == 3:
        a, b, c = (float(x) for x in law)
        return Coefficients(a, b, c, name=f"coefficients ({a:g}, {b:g}, {c:g})")
    raise InputError(f"attenuation law: cannot use {law!r}")
