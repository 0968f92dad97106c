"""Labelled segments from the data users have, written into a window store (:mod:`.store`).

Two sources:

* :func:`segments_from_waveforms`: continuous waveform files (miniSEED, SAC, …) plus reference
  picks (:func:`~seiscore.training.picks.read_reference_picks`). Per station, segments of
  twice the model's window are cut around picked arrivals (one segment per ``window / 2`` of
  picks, so every pick lies well inside at least one segment); every reference pick of that
  station inside a segment is one of its labels, whatever its event, and unpicked arrivals
  become loss-free zones. Segments with a gap (NaN) are skipped, with a note.
* :func:`segments_from_seisbench`: a data set in SeisBench's format (``metadata.csv`` +
  ``waveforms.hdf5``, as STEAD, INSTANCE and DiTing are distributed): each trace is one
  segment, its picks the ``trace_<phase>_arrival_sample`` columns (``P``, ``Pg``, ``Pn``, ``p``,
  … count as P; ``S…`` as S), its event ``source_id``; traces without picks are noise segments.
  Trace blocks (``bucket$2,:3,:6000``) are read as such. The metadata is read in chunks and
  segments are written as they are cut, so a data set larger than memory is converted in one
  pass.

Both resample to the training rate (``sampling_rate``; None keeps the data's own rate) and put
the components in the model's channel order (``1``/``2`` read as ``N``/``E``; a missing
component is zeros, as seiscore runs a Z-only station).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..exceptions import InputError
from .picks import ReferencePicks
from .store import Segment, WindowStoreWriter

__all__ = [
    "SegmentReport",
    "data_sampling_rate",
    "segments_from_seisbench",
    "segments_from_waveforms",
]


@dataclass
class SegmentReport:
    """What a conversion did: counts and notes (skipped stations, segments, traces)."""

    segments: int = 0
    labels: int = 0
    notes: list[str] = field(default_factory=list)


def data_sampling_rate(waveform_inputs) -> float:
    """The most common sampling rate of the waveform files (from their headers)."""
    from ..io import find_waveform_files, read_waveform_files

    st, _ = read_waveform_files(find_waveform_files(waveform_inputs), headonly=True)
    if not len(st):
        raise InputError("--waveforms: no readable waveform file")
    return float(Counter(round(tr.stats.sampling_rate, 6) for tr in st).most_common(1)[0][0])


def segments_from_waveforms(
    waveform_inputs,
    picks: ReferencePicks,
    writer: WindowStoreWriter,
    *,
    window: int,
    sampling_rate: float,
    channel_order: str,
    ignore_s: float = 0.2,
) -> SegmentReport:
    """Cut labelled segments (``2 * window`` samples) around the picks, station by station,
    into ``writer`` (see the module docstring). ``ignore_s``: half-width of the loss-free zone
    around an unpicked arrival (it is dropped where a pick of the same phase lies closer)."""
    from ..io import find_waveform_files, read_waveform_files, to_waveforms

    report = SegmentReport()
    files = find_waveform_files(waveform_inputs, messages=report.notes)
    st, errors = read_waveform_files(files, headonly=True)
    report.notes += errors
    by_station: dict[str, set] = defaultdict(set)
    for tr in st:
        by_station[tr.stats.station].add(tr.stats._source)
    labelled = set(picks.station[picks.picked].tolist())
    for station in sorted(labelled - set(by_station)):
        report.notes.append(f"{station}: picks but no waveforms")
    for station in sorted(labelled & set(by_station)):
        full, errors = read_waveform_files(sorted(by_station[station]))
        report.notes += errors
        items, notes = to_waveforms(
            full, sampling_rate=sampling_rate, components=tuple(channel_order)
        )
        report.notes += notes
        for w in items:
            here = picks.at_station(w.network, w.station)
            _cut_station(w, here, writer, window, ignore_s, report)
    return report


def _cut_station(w, picks: ReferencePicks, writer, window: int, ignore_s: float, report) -> None:
    """Segments of one station's record around its picked arrivals."""
    fs = w.sampling_rate
    t0 = float(w.starttime.timestamp)
    pos = (picks.time - t0) * fs
    n = w.data.shape[1]
    made = picks.picked & (pos >= 0) & (pos < n)
    anchors = np.sort(pos[made])
    order = np.argsort(pos)
    last = -math.inf
    for a in anchors:
        if a - last < window / 2:
            continue
        last = a
        lo = int(round(a)) - window
        seg, valid = _crop(w.data, lo, 2 * window)
        if not np.isfinite(seg[:, valid[0] : valid[1]]).all():
            report.notes.append(f"{w.id}: segment at {_iso(t0 + a / fs)} has a gap, skipped")
            continue
        inside = [i for i in order if lo <= pos[i] < lo + 2 * window]
        labels = _segment_labels(picks, pos, inside, lo, ignore_s * fs)
        k = int(np.flatnonzero(made & (pos == a))[0])
        writer.append(
            Segment(
                data=np.nan_to_num(seg),
                valid=valid,
                anchor=float(a - lo),
                picks=labels,
                event=str(picks.event[k]),
                station=w.id,
                start_time=t0 + lo / fs,
            )
        )
        report.segments += 1
        report.labels += len(labels["P"]) + len(labels["S"])


def _segment_labels(picks, pos, inside, lo: int, ignore: float) -> dict[str, np.ndarray]:
    out: dict[str, list] = {"P": [], "S": [], "P_ignore": [], "S_ignore": []}
    for i in inside:
        if picks.picked[i]:
            out[str(picks.phase[i])].append(pos[i] - lo)
    for i in inside:
        if not picks.picked[i]:
            ph = str(picks.phase[i])
            x = pos[i] - lo
            if all(abs(x - y) > ignore for y in out[ph]):
                out[f"{ph}_ignore"].append(x)
    return {k: np.array(v, np.float64) for k, v in out.items()}


def _crop(data: np.ndarray, lo: int, length: int) -> tuple[np.ndarray, tuple[int, int]]:
    """``data[:, lo:lo+length]`` with zeros outside the record; the valid sample range."""
    out = np.zeros((data.shape[0], length), np.float32)
    a, b = max(lo, 0), min(lo + length, data.shape[1])
    if b > a:
        out[:, a - lo : b - lo] = data[:, a:b]
    return out, (max(a - lo, 0), max(b - lo, 0))


def _iso(seconds: float) -> str:
    return np.datetime64(int(round(seconds * 1e6)), "us").astype(str)


# --------------------------------------------------------------------------------------------
# SeisBench format
# --------------------------------------------------------------------------------------------


def _format_value(h5, key: str):
    """A ``data_format`` entry: a dataset in the group (SeisBench's writer) or an attribute."""
    group = h5.get("data_format")
    value = None
    if group is not None and key in group:
        value = group[key][()]
    elif group is not None and key in group.attrs:
        value = group.attrs[key]
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, np.ndarray) and value.dtype.kind in "OSU":
        value = "".join(v.decode() if isinstance(v, bytes) else str(v) for v in value.ravel())
    return value


def _parse_slice(text: str) -> tuple:
    """``"2,:3,:6000"`` → ``(2, slice(None, 3), slice(None, 6000))`` (no eval)."""
    parts = []
    for token in text.split(","):
        token = token.strip()
        if ":" in token:
            bounds = [int(b) if b.strip() else None for b in token.split(":")]
            parts.append(slice(*bounds))
        else:
            parts.append(int(token))
    return tuple(parts)


def _read_trace(h5, name: str) -> np.ndarray:
    if "$" in name:
        block, where = name.split("$", 1)
        return np.asarray(h5["data"][block][_parse_slice(where)])
    return np.asarray(h5["data"][name][()])


def _component_rows(order: str, channel_order: str) -> list[int | None]:
    alias = {"N": "N1", "E": "E2", "Z": "Z3"}
    rows = []
    for c in channel_order:
        found = [order.index(a) for a in alias.get(c, c) if a in order]
        rows.append(found[0] if found else None)
    return rows


@dataclass
class _SeisBenchFormat:
    rate: float | None
    dims: str
    order: str


def segments_from_seisbench(
    folder,
    writer: WindowStoreWriter,
    *,
    window: int,
    sampling_rate: float | None,
    channel_order: str,
    chunk_rows: int = 20000,
) -> SegmentReport:
    """Every trace of a SeisBench-format data set as one segment of ``2 * window`` samples
    around its first pick (its middle for a noise trace); see the module docstring."""
    import h5py
    import pandas as pd

    folder = Path(folder)
    meta, wave = folder / "metadata.csv", folder / "waveforms.hdf5"
    for p in (meta, wave):
        if not p.is_file():
            raise InputError(
                f"--data {folder}: no {p.name} (a SeisBench data set has "
                "metadata.csv and waveforms.hdf5)"
            )
    report = SegmentReport()
    with h5py.File(wave, "r") as h5:
        rate = _format_value(h5, "sampling_rate")
        fmt = _SeisBenchFormat(
            rate=float(rate) if rate is not None else None,
            dims=str(_format_value(h5, "dimension_order") or "CW"),
            order=str(_format_value(h5, "component_order") or "ZNE"),
        )
        for chunk in pd.read_csv(meta, chunksize=chunk_rows, low_memory=False):
            for row in chunk.to_dict("records"):
                seg = _seisbench_segment(h5, row, fmt, window, sampling_rate, channel_order, report)
                if seg is not None:
                    writer.append(seg)
                    report.segments += 1
                    report.labels += len(seg.picks["P"]) + len(seg.picks["S"])
    return report


def _row_rate(row: dict, fmt: _SeisBenchFormat) -> float:
    for key in ("trace_sampling_rate_hz",):
        if key in row and _finite(row[key]):
            return float(row[key])
    if "trace_dt_s" in row and _finite(row["trace_dt_s"]):
        return 1.0 / float(row["trace_dt_s"])
    if fmt.rate:
        return fmt.rate
    raise InputError(f"trace {row.get('trace_name')}: no sampling rate (data_format or metadata)")


def _finite(value) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _row_picks(row: dict) -> dict[str, list[float]]:
    picks: dict[str, list[float]] = {"P": [], "S": []}
    for key, value in row.items():
        if key.startswith("trace_") and key.endswith("_arrival_sample") and _finite(value):
            phase = key[len("trace_") : -len("_arrival_sample")][:1].upper()
            if phase in picks and all(abs(float(value) - v) > 1 for v in picks[phase]):
                picks[phase].append(float(value))
    return picks


def _seisbench_segment(h5, row, fmt, window, target, channel_order, report) -> Segment | None:
    from scipy.signal import resample_poly

    name = str(row["trace_name"])
    try:
        x = _read_trace(h5, name).astype(np.float32)
    except (KeyError, ValueError, IndexError) as exc:
        report.notes.append(f"trace {name}: cannot read ({exc}), skipped")
        return None
    if fmt.dims.upper().startswith("W"):
        x = x.T
    rate = _row_rate(row, fmt)
    picks = _row_picks(row)
    if target and abs(rate - target) > 1e-6:
        frac = _fraction(target / rate)
        x = resample_poly(x, frac[0], frac[1], axis=1).astype(np.float32)
        picks = {k: [v * target / rate for v in vs] for k, vs in picks.items()}
    rows = _component_rows(fmt.order, channel_order)
    data = np.zeros((len(channel_order), x.shape[1]), np.float32)
    for i, r in enumerate(rows):
        if r is not None and r < x.shape[0]:
            data[i] = x[r]
    if not np.isfinite(data).all():
        report.notes.append(f"trace {name}: NaN samples, skipped")
        return None
    first = sorted(picks["P"] + picks["S"])
    anchor = first[0] if first else data.shape[1] / 2
    lo = int(round(anchor)) - window
    seg, valid = _crop(data, lo, 2 * window)
    event = str(row.get("source_id") or "")
    event = event if event and event != "nan" else f"trace:{name}"
    station = ".".join(
        str(row.get(k, "") if _present(row.get(k)) else "")
        for k in ("station_network_code", "station_code", "station_location_code")
    )
    return Segment(
        data=seg,
        valid=valid,
        anchor=float(anchor - lo),
        picks={k: np.array(v) - lo for k, v in picks.items()} | {"P_ignore": (), "S_ignore": ()},
        event=event,
        station=station,
        start_time=_start_time(row.get("trace_start_time")) + lo / (target or rate),
    )


def _present(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _start_time(value) -> float:
    if not _present(value):
        return float("nan")
    try:
        return float(np.datetime64(str(value).rstrip("Z"), "ns").astype(np.int64) / 1e9)
    except ValueError:
        return float("nan")


def _fraction(ratio: float) -> tuple[int, int]:
    from fractions import Fraction

    f = Fraction(ratio).limit_denominator(1000)
    return f.numerator, f.denominator
