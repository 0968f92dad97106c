"""The job behind ``seiscore correlate``: waveform files → stacked noise correlations on disk.

Files are indexed from their headers only; :func:`seiscore.correlation.correlate` then asks for
one day of data at a time through :class:`DayReader` (so memory stays bounded, and with a Dask
scheduler each worker reads its own days), and the result is written to NetCDF or Zarr, with an
optional move-out figure.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import obspy

from .. import correlation
from ..containers import Stations
from ..exceptions import InputError
from ..io import waveforms as wio

log = logging.getLogger("seiscore.workflow.correlate")


@dataclass
class CorrelateJobResult:
    dataset: object  # xarray.Dataset
    outputs: list[Path] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass
class _FileSpan:
    path: str
    station: str  # NET.STA.LOC
    band: str
    start_ns: int
    end_ns: int
    rate: float


def _index(paths, errors: list[str]) -> list[_FileSpan]:
    out = []
    for path in paths:
        # ObsPy's warnings (damaged records, undecodable codes) become messages naming the file
        st, messages = wio.read_waveform_files([path], headonly=True)
        errors.extend(messages)
        for tr in st:
            s = tr.stats
            out.append(
                _FileSpan(
                    str(path),
                    f"{s.network}.{s.station}.{s.location}",
                    s.channel[:-1],
                    int(s.starttime.ns),
                    int(s.endtime.ns),
                    float(s.sampling_rate),
                )
            )
    return out


class DayReader:
    """Picklable loader for :func:`seiscore.correlation.correlate`: reads the files overlapping
    ``[t0, t1]`` (cut on read), keeps one band per station, and returns ENZ :class:`Waveforms`
    (numbered horizontals taken for E/N; a missing component is marked absent)."""

    def __init__(self, spans: list[_FileSpan], bands: dict[str, str], sampling_rate: float | None):
        self.spans = spans
        self.bands = bands
        self.sampling_rate = sampling_rate

    def __call__(self, t0, t1):
        a, b = (
            int(np.datetime64(t0, "ns").astype(np.int64)),
            int(np.datetime64(t1, "ns").astype(np.int64)),
        )
        files = sorted({f.path for f in self.spans if f.end_ns >= a and f.start_ns <= b})
        if not files:
            return []
        st, messages = wio.read_waveform_files(
            files, starttime=obspy.UTCDateTime(ns=a), endtime=obspy.UTCDateTime(ns=b)
        )
        keep = obspy.Stream(
            [
                tr
                for tr in st
                if self.bands.get(f"{tr.stats.network}.{tr.stats.station}.{tr.stats.location}")
                == tr.stats.channel[:-1]
            ]
        )
        ws, msgs = wio.to_waveforms(keep, sampling_rate=self.sampling_rate, require=())
        for m in messages + msgs:
            log.info("%s", m)
        return ws


def _stations_table(paths, ids: list[str], messages: list[str]) -> Stations:
    """Coordinates of ``ids`` from the station files (NaN where unknown), one row per id."""
    from ..io.stations import read_stations

    tables = [read_stations(p) for p in paths]
    coords: dict[str, tuple[float, float, float]] = {}
    short: dict[str, list[tuple[float, float, float]]] = {}
    for t in tables:
        for k, sid in enumerate(t.ids):
            c = (float(t.latitude[k]), float(t.longitude[k]), float(t.elevation_m[k]))
            coords.setdefault(sid, c)
            short.setdefault(".".join(sid.split(".")[:2]), []).append(c)
    rows = []
    for sid in ids:
        c = coords.get(sid)
        if c is None:
            cand = short.get(".".join(sid.split(".")[:2]), [])
            c = cand[0] if len(cand) == 1 else (np.nan, np.nan, np.nan)
            if len(cand) != 1:
                messages.append(f"{sid}: not in the station files; distance and azimuth unknown")
        rows.append((*sid.split("."), *c))
    net, sta, loc, lat, lon, elev = (list(col) for col in zip(*rows, strict=True))
    n = len(rows)
    return Stations(
        np.array(net, object),
        np.array(sta, object),
        np.array(loc, object),
        np.array(lat, float),
        np.array(lon, float),
        np.array(elev, float),
        np.full(n, np.nan),
        np.full(n, np.nan),
    )


def run_correlate_job(
    inputs,
    output,
    *,
    stations=None,
    starttime=None,
    endtime=None,
    band: str | None = None,
    sampling_rate: float | None = None,
    plot=None,
    scheduler: str | None = None,
    progress: bool = True,
    **options,
) -> CorrelateJobResult:
    """Correlate the waveform files ``inputs`` (files or folders) and write ``output``.

    ``stations``: station files (StationXML, CSV, ...; see :func:`seiscore.io.read_stations`) for
    coordinates. ``band``: the channel band to use where a station has several (e.g. ``"HH"``).
    ``sampling_rate``: target rate (default: the common rate of the files). ``plot``: path of a
    move-out figure. ``scheduler``: a Dask scheduler address, or ``"local"`` for a local cluster.
    Other keyword arguments go to :func:`seiscore.correlation.correlate`.
    """
    result = CorrelateJobResult(dataset=None)
    spans = _index(wio.find_waveform_files(inputs, messages=result.errors), result.errors)
    if not spans:
        raise InputError(
            "no readable waveform data in the inputs:\n  " + "\n  ".join(result.errors)
        )
    bands = _choose_bands(spans, band, result.messages)
    spans = [f for f in spans if bands.get(f.station) == f.band]
    sampling_rate, resample = _rates(spans, sampling_rate)
    ids = sorted(bands)
    t0, t1 = _time_span(spans, starttime, endtime, sampling_rate)
    if stations:
        files = [stations] if isinstance(stations, (str, Path)) else stations
        table = _stations_table(files, ids, result.messages)
    else:
        table = None
        result.messages.append("no station file: distances and azimuths unknown (give --stations)")
    with _dask_client(scheduler) as client:
        ds = correlation.correlate(
            DayReader(spans, bands, resample),
            stations=table if table is not None else ids,
            starttime=t0,
            endtime=t1,
            sampling_rate=sampling_rate,
            client=client,
            progress=progress,
            **options,
        )
    result.dataset = ds
    _summarise(ds, result)
    _write_outputs(ds, output, plot, result)
    return result


def _choose_bands(spans: list[_FileSpan], band: str | None, messages: list[str]) -> dict:
    """The channel band used for each station: ``band`` where given, else its only band."""
    by_station: dict[str, set[str]] = {}
    for f in spans:
        by_station.setdefault(f.station, set()).add(f.band)
    bands = {}
    for sid, bs in sorted(by_station.items()):
        if band is not None:
            if band in bs:
                bands[sid] = band
            else:
                has = ", ".join(sorted(bs))
                messages.append(f"{sid}: no {band} channels (has {has}); not used")
        elif len(bs) == 1:
            bands[sid] = next(iter(bs))
        else:
            raise InputError(
                f"{sid}: several bands ({', '.join(sorted(bs))}); choose one with --band"
            )
    if len(bands) < 1:
        raise InputError(f"no station has {band} channels")
    return bands


def _rates(spans: list[_FileSpan], sampling_rate: float | None) -> tuple[float, float | None]:
    """The target rate, and the rate to resample to while reading (None: correlate() decimates
    by integer factors; other ratios are resampled while reading)."""
    rates = sorted({f.rate for f in spans})
    if sampling_rate is None:
        if len(rates) != 1:
            raise InputError(
                f"the files have different sampling rates {rates} Hz; "
                "choose one with --sampling-rate"
            )
        sampling_rate = rates[0]
    if any(
        abs(r / sampling_rate - round(r / sampling_rate)) > 1e-6 or r < sampling_rate for r in rates
    ):
        return sampling_rate, sampling_rate
    return sampling_rate, None


def _time_span(spans: list[_FileSpan], starttime, endtime, sampling_rate: float):
    """Start and end of the window grid: given, or the first sample and one sample past the
    last of the files."""
    t0 = (
        obspy.UTCDateTime(starttime)
        if starttime is not None
        else obspy.UTCDateTime(ns=min(f.start_ns for f in spans))
    )
    t1 = (
        obspy.UTCDateTime(endtime)
        if endtime is not None
        else obspy.UTCDateTime(ns=max(f.end_ns for f in spans)) + 1.0 / sampling_rate
    )
    return t0, t1


@contextmanager
def _dask_client(scheduler: str | None):
    """A Dask client for ``scheduler`` (``"local"``: a local cluster), closed on exit; None
    without a scheduler."""
    if not scheduler:
        yield None
        return
    from distributed import Client

    client = Client() if scheduler == "local" else Client(scheduler)
    try:
        yield client
    finally:
        client.close()


def _summarise(ds, result: CorrelateJobResult) -> None:
    """Messages and errors about the pairs and station windows that could not be used."""
    if "messages" in ds.attrs:
        result.messages.extend(str(ds.attrs["messages"]).splitlines())
    empty = [
        str(p)
        for p, n in zip(ds.pair.values, ds.n_windows.values.sum(axis=1), strict=True)
        if n == 0
    ]
    if len(empty) == ds.sizes["pair"]:
        result.errors.append(
            "no pair has any usable window (check --components, gaps and glitch settings)"
        )
    elif empty:
        result.messages.append(
            f"{len(empty)} pairs without any usable window: {', '.join(empty[:5])}"
            + (" ..." if len(empty) > 5 else "")
        )
    skipped = {k: int(ds[f"windows_{k}"].sum()) for k in ("gap", "flat", "spike", "incomplete")}
    if any(skipped.values()):
        result.messages.append(
            "station windows skipped: " + ", ".join(f"{v} {k}" for k, v in skipped.items() if v)
        )


def _write_outputs(ds, output, plot, result: CorrelateJobResult) -> None:
    """Write the Dataset, and the move-out figure of its first component when asked for."""
    result.outputs.append(correlation.write(ds, output))
    if plot is None:
        return
    if np.isfinite(ds.distance_km.values).any():
        correlation.plot_moveout(ds, component=str(ds.component.values[0]), path=plot)
        result.outputs.append(Path(plot))
    else:
        result.errors.append("--plot needs station coordinates (give --stations)")
