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


@dataclass(eq=False)
class Annotations:
    """Phase-probability traces of one station, as a picker's ``annotate`` returns them.

    ``prob[phase, sample]`` float32 in [0, 1] on the grid ``starttime + i / sampling_rate``;
    NaN where the model was not run (gaps, too-short segments). ``phases`` names the rows
    (e.g. ``("P", "S")``); ``model`` is the model name.
    """

    network: str
    station: str
    location: str
    band: str
    starttime: object
    sampling_rate: float
    phases: tuple[str, ...]
    prob: np.ndarray
    model: str = ""

    @property
    def id(self) -> str:
        return f"{self.network}.{self.station}.{self.location}"

    @property
    def n_samples(self) -> int:
        return int(self.prob.shape[1])


@dataclass(eq=False)
class Picks(_Columns):
    """Phase picks with absolute times. One row per pick; columns:

    ``network, station, location`` (str)  station of the pick
    ``phase`` (str)                       e.g. ``"P"``, ``"S"``
    ``time`` (datetime64[ns], UTC)        pick time (sub-sample)
    ``probability`` (float32)             model probability at the pick (0–1)
    ``amplitude`` (float32)               largest absolute amplitude, in input units (counts),
                                          of the demeaned waveform in the window after the pick
    ``snr`` (float32)                     RMS after the pick / RMS before it (amplitude ratio)
    """

    network: np.ndarray
    station: np.ndarray
    location: np.ndarray
    phase: np.ndarray
    time: np.ndarray
    probability: np.ndarray
    amplitude: np.ndarray
    snr: np.ndarray

    @classmethod
    def empty(cls) -> Picks:
        s = np.array([], dtype=object)
        f = np.array([], dtype=np.float32)
        return cls(s, s, s, s, np.array([], dtype="datetime64[ns]"), f, f, f)

    @classmethod
    def concatenate(cls, tables) -> Picks:
        tables = [t for t in tables if len(t)]
        if not tables:
            return cls.empty()
        kw = {f.name: np.concatenate([getattr(t, f.name) for t in tables]) for f in fields(cls)}
        return cls(**kw)
