"""Columnar, NumPy-backed tables that travel between the stages.

Each container is a struct of equal-length 1-D arrays (never one Python object per row);
``to_dataframe()`` is for people, the kernels take the arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from .exceptions import InputError

# Valid station coordinates, degrees: longitudes may be given in [-180, 180] or in [0, 360].
LATITUDE_RANGE = (-90.0, 90.0)
LONGITUDE_RANGE = (-180.0, 360.0)


def coordinate_problem(lat: float, lon: float) -> str | None:
    """What is wrong with a station position (``None``: nothing). NaN means "not known" and
    passes; infinite or out-of-range degrees do not."""
    for name, value, (lo, hi) in (
        ("latitude", lat, LATITUDE_RANGE),
        ("longitude", lon, LONGITUDE_RANGE),
    ):
        if value != value:  # NaN: unknown
            continue
        if not lo <= value <= hi:
            return f"{name} {value:g} is outside [{lo:g}, {hi:g}] degrees"
    return None


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


#: Columns of :class:`Picks` that per-pick deep-learning heads fill (see its docstring).
HEAD_COLUMNS = ("polarity", "polarity_probability", "magnitude_dl", "baz_deg", "distance_km")


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

    Per-pick estimates of deep-learning heads (``seiscore.picking.apply_heads``; filled for P
    picks, empty / NaN elsewhere and by default):

    ``polarity`` (str)                    P first motion: ``"up"``, ``"down"``,
                                          ``"undecidable"``, or ``""`` (not estimated)
    ``polarity_probability`` (float32)    probability of the polarity class given (0–1)
    ``magnitude_dl`` (float32)            single-station event magnitude (the head's type,
                                          e.g. ``Mdl``, ML-like), dimensionless
    ``baz_deg`` (float32)                 back-azimuth, degrees clockwise from north (0–360)
    ``distance_km`` (float32)             epicentral distance, km
    """

    network: np.ndarray
    station: np.ndarray
    location: np.ndarray
    phase: np.ndarray
    time: np.ndarray
    probability: np.ndarray
    amplitude: np.ndarray
    snr: np.ndarray
    polarity: np.ndarray | None = None
    polarity_probability: np.ndarray | None = None
    magnitude_dl: np.ndarray | None = None
    baz_deg: np.ndarray | None = None
    distance_km: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.network)
        if self.polarity is None:
            self.polarity = np.full(n, "", dtype=object)
        for name in HEAD_COLUMNS[1:]:
            if getattr(self, name) is None:
                setattr(self, name, np.full(n, np.nan, dtype=np.float32))
        super().__post_init__()

    @property
    def has_heads(self) -> bool:
        """Whether any head column holds an estimate."""
        return bool((self.polarity != "").any()) or any(
            np.isfinite(getattr(self, name)).any() for name in HEAD_COLUMNS[1:]
        )

    def to_dataframe(self):
        """The table as a ``pandas.DataFrame``; the head columns only when one holds an
        estimate."""
        df = super().to_dataframe()
        return df if self.has_heads else df.drop(columns=list(HEAD_COLUMNS))

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


@dataclass(eq=False)
class Stations(_Columns):
    """A station table. Columns:

    ``network, station, location`` (str)
    ``latitude, longitude`` (float64, degrees)   ``elevation_m`` (float64, metres above sea level)
    ``x_km, y_km`` (float64)  local Cartesian position (x east, y north) from
                              :func:`seiscore.geo.project` around the table's reference point;
                              NaN until projected
    """

    network: np.ndarray
    station: np.ndarray
    location: np.ndarray
    latitude: np.ndarray
    longitude: np.ndarray
    elevation_m: np.ndarray
    x_km: np.ndarray
    y_km: np.ndarray

    def __post_init__(self) -> None:
        super().__post_init__()
        self.check_coordinates("stations")

    def check_coordinates(self, source: str) -> None:
        """InputError naming the first station (and ``source``) whose latitude or longitude is
        out of range (:data:`LATITUDE_RANGE`, :data:`LONGITUDE_RANGE`) or infinite; NaN (not
        known) passes."""
        lat = np.asarray(self.latitude, dtype=np.float64)
        lon = np.asarray(self.longitude, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            bad = (np.abs(lat) > 90.0) | (lon < LONGITUDE_RANGE[0]) | (lon > LONGITUDE_RANGE[1])
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            problem = coordinate_problem(float(lat[i]), float(lon[i]))
            more = f" ({int(bad.sum())} stations in all)" if bad.sum() > 1 else ""
            raise InputError(
                f"{source}: station {self.ids[i]}: {problem}{more}; check the coordinates"
            )

    @property
    def ids(self) -> list[str]:
        """``NET.STA.LOC`` of every row."""
        return [
            f"{n}.{s}.{loc}"
            for n, s, loc in zip(self.network, self.station, self.location, strict=False)
        ]


@dataclass(eq=False)
class Grid3D:
    """A regular 3-D grid in local km: node (ix, iy, iz) is at
    ``origin_km + (ix, iy, iz) * spacing_km`` (x east, y north, z depth positive down, km
    below sea level). Nodes are numbered ``(ix * ny + iy) * nz + iz`` (C order over x, y, z).
    ``reference`` is the (latitude, longitude) of the local origin x = y = 0.
    """

    origin_km: tuple[float, float, float]
    spacing_km: tuple[float, float, float]
    shape: tuple[int, int, int]
    reference: tuple[float, float] = (0.0, 0.0)

    def __post_init__(self) -> None:
        if len(self.shape) != 3 or min(self.shape) < 1:
            raise ValueError(f"Grid3D: shape must be 3 positive ints, got {self.shape}")
        if len(self.spacing_km) != 3 or min(self.spacing_km) <= 0:
            raise ValueError(f"Grid3D: spacing must be 3 positive numbers, got {self.spacing_km}")

    @property
    def n_nodes(self) -> int:
        nx, ny, nz = self.shape
        return nx * ny * nz

    def axes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Coordinates (km) along x, y, z."""
        return tuple(
            o + d * np.arange(n)
            for o, d, n in zip(self.origin_km, self.spacing_km, self.shape, strict=False)
        )

    def node_xyz(self, node) -> np.ndarray:
        """[..., 3] coordinates (km) of node indices."""
        nx, ny, nz = self.shape
        node = np.asarray(node)
        ix, rem = np.divmod(node, ny * nz)
        iy, iz = np.divmod(rem, nz)
        idx = np.stack([ix, iy, iz], axis=-1)
        return np.asarray(self.origin_km) + idx * np.asarray(self.spacing_km)


@dataclass(eq=False)
class TravelTimeTable:
    """First-arrival travel times from a source at depth to a receiver at the datum (sea level),
    on a regular (depth, epicentral distance) grid, per phase.

    ``times[phase, i_depth, i_distance]`` float32 seconds for a source at
    ``depth_km[i_depth]`` (km below sea level, positive down) and a receiver at sea level at
    horizontal distance ``distance_km[i_distance]``; NaN where the phase cannot arrive.
    ``surface_velocity[phase]`` (km/s) is the velocity just below the datum. Station elevation:
    :func:`seiscore.traveltime.travel_times` and ``station_grids`` default to an exact
    correction through the medium above sea level (``elevation="fermat"``); the simple static
    ``e / surface_velocity`` for a station ``e`` km above sea level is ``elevation="vertical"``
    (poor for sources close to the station).
    ``model`` names the velocity model.
    """

    phases: tuple[str, ...]
    distance_km: np.ndarray
    depth_km: np.ndarray
    times: np.ndarray
    surface_velocity: dict
    model: str = ""

    def __post_init__(self) -> None:
        expect = (len(self.phases), len(self.depth_km), len(self.distance_km))
        if self.times.shape != expect:
            raise ValueError(f"TravelTimeTable: times shape {self.times.shape}, expected {expect}")


@dataclass(eq=False)
class Events(_Columns):
    """Earthquakes (hypocentres). One row per event; columns:

    ``event_id`` (int64)                  identifier; picks refer to their event by it
    ``time`` (datetime64[ns], UTC)        origin time
    ``latitude, longitude`` (float64)     epicentre, degrees
    ``depth_km`` (float64)                hypocentre depth, km below sea level (positive down)
    ``x_km, y_km`` (float64)              epicentre in local km (x east, y north) around the
                                          reference point of the stations' projection
    ``n_p, n_s`` (int32)                  P and S picks that belong to the event
    ``rms_s`` (float32)                   RMS of those picks' time residuals, seconds
    """

    event_id: np.ndarray
    time: np.ndarray
    latitude: np.ndarray
    longitude: np.ndarray
    depth_km: np.ndarray
    x_km: np.ndarray
    y_km: np.ndarray
    n_p: np.ndarray
    n_s: np.ndarray
    rms_s: np.ndarray

    @classmethod
    def empty(cls) -> Events:
        f = np.array([], dtype=np.float64)
        i = np.array([], dtype=np.int32)
        return cls(
            np.array([], dtype=np.int64),
            np.array([], dtype="datetime64[ns]"),
            f,
            f,
            f,
            f,
            f,
            i,
            i,
            np.array([], dtype=np.float32),
        )


@dataclass(eq=False)
class Locations(_Columns):
    """Hypocentres from migration (``seiscore.location``): the :class:`Events` columns plus the
    coalescence and the location uncertainty. One row per event; columns:

    ``event_id`` (int64), ``time`` (datetime64[ns], UTC origin time), ``latitude, longitude``
    (float64, degrees), ``depth_km`` (float64, km below sea level), ``x_km, y_km`` (float64, local
    km around the grid's reference point) — as in :class:`Events`, at the sub-grid location
    ``n_p, n_s`` (int32)          P and S onset functions (stations) that were stacked
    ``rms_s`` (float32)           NaN (migration uses no picks; kept for :class:`Events` parity)
    ``coherence`` (float32)       maximum coalescence at the origin time (mean of the stacked
                                  onsets, or QuakeMigrate's geometric mean)
    ``coherence_norm`` (float32)  that maximum divided by the mean over all grid nodes
    ``err_x_km, err_y_km, err_z_km`` (float32)  1-sigma uncertainties from a Gaussian fitted to
                                  the marginal coalescence volume around its peak
    ``cov_x_km, cov_y_km, cov_z_km`` (float32)  1-sigma uncertainties from the weighted covariance
                                  of the nodes above half of the peak coalescence
    ``err_time_s`` (float32)      1-sigma width of the coalescence peak in time at the hypocentre
    """

    event_id: np.ndarray
    time: np.ndarray
    latitude: np.ndarray
    longitude: np.ndarray
    depth_km: np.ndarray
    x_km: np.ndarray
    y_km: np.ndarray
    n_p: np.ndarray
    n_s: np.ndarray
    rms_s: np.ndarray
    coherence: np.ndarray
    coherence_norm: np.ndarray
    err_x_km: np.ndarray
    err_y_km: np.ndarray
    err_z_km: np.ndarray
    cov_x_km: np.ndarray
    cov_y_km: np.ndarray
    cov_z_km: np.ndarray
    err_time_s: np.ndarray

    @classmethod
    def empty(cls) -> Locations:
        f64 = np.array([], dtype=np.float64)
        f32 = np.array([], dtype=np.float32)
        i32 = np.array([], dtype=np.int32)
        return cls(
            np.array([], dtype=np.int64),
            np.array([], dtype="datetime64[ns]"),
            f64,
            f64,
            f64,
            f64,
            f64,
            i32,
            i32,
            f32,
            f32,
            f32,
            f32,
            f32,
            f32,
            f32,
            f32,
            f32,
            f32,
        )

    @classmethod
    def concatenate(cls, tables) -> Locations:
        tables = [t for t in tables if len(t)]
        if not tables:
            return cls.empty()
        return cls(
            **{f.name: np.concatenate([getattr(t, f.name) for t in tables]) for f in fields(cls)}
        )

    def to_events(self) -> Events:
        """The :class:`Events` columns of this table."""
        return Events(**{f.name: getattr(self, f.name) for f in fields(Events)})
