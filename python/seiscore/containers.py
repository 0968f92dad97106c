"""Columnar, NumPy-backed tables that travel between the stages.

Each container is a struct of equal-length 1-D arrays (never one Python object per row);
``to_dataframe()`` is for people, the kernels take the arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np


class _Columns:
    """Shared behaviour: length checks, len(), row selection, pandas export."""

    def __post_init__(self) -> None:
        lengths = {f.name: len(getattr(self, f.name)) for f in fields(self)}  # type: ignore[arg-type]
        if len(set(lengths.values())) > 1:
            raise ValueError(f"{type(self).__name__}: columns differ in length: {lengths}")

    def __len__(self) -> int:
        first = fields(self)[0].name  # type: ignore[arg-type]
        return len(getattr(self, first))

    def select(self, mask_or_index) -> _Columns:
        """Rows by boolean mask or integer index array, as a new table."""
        kw = {f.name: np.asarray(getattr(self, f.name))[mask_or_index] for f in fields(self)}  # type: ignore[arg-type]
        return type(self)(**kw)

    def to_dataframe(self):
        """The table as a ``pandas.DataFrame`` (one column per field)."""
        import pandas as pd

        return pd.DataFrame({f.name: getattr(self, f.name) for f in fields(self)})  # type: ignore[arg-type]


@dataclass(eq=False)
class SamplePicks(_Columns):
    """Picks in sample coordinates, as the extraction kernel returns them.

    Sorted by (trace, phase, index). Columns:

    ``trace`` (int64)       row of the probability array the pick came from
    ``phase`` (int32)       phase axis index (e.g. 0 = P, 1 = S, as the caller's array)
    ``index`` (int64)       sample of the pick (the maximum; a plateau's middle sample)
    ``position`` (float64)  sub-sample position in samples (parabolic interpolation)
    ``probability`` (float32) probability at ``index``
    ``start``, ``end`` (int64) half-open sample range of the region above the threshold
                            around the pick (peaks mode) or of the trigger segment
    """

    trace: np.ndarray
    phase: np.ndarray
    index: np.ndarray
    position: np.ndarray
    probability: np.ndarray
    start: np.ndarray
    end: np.ndarray


@dataclass(eq=False)
class Waveforms:
    """Continuous multi-component samples of one station on a regular time grid.

    ``data[component, sample]`` is float32 in the units of the source (counts unless the caller
    removed the response). Sample ``i`` is at ``starttime + i / sampling_rate`` (UTC).

    ``network, station, location`` identify the station; ``band`` is the first two letters of
    the channel code (e.g. ``"HH"``). ``components`` names the rows in order (e.g.
    ``("E", "N", "Z")``; ``"1"``/``"2"`` horizontals are mapped to ``E``/``N``). NaN marks samples
    without data (gaps, or where any component was missing). ``present[c]`` is False for a
    component that was missing from the input altogether (its row is filled with zeros).
    ``sources`` lists where the samples came from (file paths or a description).
    """

    network: str
    station: str
    location: str
    band: str
    starttime: object  # obspy.UTCDateTime (kept untyped so containers need no ObsPy import)
    sampling_rate: float
    components: tuple[str, ...]
    data: np.ndarray
    present: np.ndarray
    sources: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.data.ndim != 2 or self.data.shape[0] != len(self.components):
            raise ValueError(
                f"{self.id}: data must be [n_components={len(self.components)}, n_samples], "
                f"got shape {self.data.shape}"
            )
        if len(self.present) != len(self.components):
            raise ValueError(f"{self.id}: present must have one flag per component")
        if not self.sampling_rate > 0:
            raise ValueError(f"{self.id}: sampling_rate must be positive, got {self.sampling_rate}")

    @property
    def id(self) -> str:
        """``NET.STA.LOC`` (location may be empty)."""
        return f"{self.network}.{self.station}.{self.location}"

    @property
    def n_samples(self) -> int:
        return int(self.data.shape[1])

    @property
    def endtime(self):
        """Time of the last sample."""
        return self.starttime + (self.n_samples - 1) / self.sampling_rate

    def times(self) -> np.ndarray:
        """Seconds of each sample relative to ``starttime`` (float64)."""
        return np.arange(self.n_samples) / self.sampling_rate
