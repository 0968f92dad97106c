"""Waveform files and archives → ObsPy Streams → :class:`~seiscore.containers.Waveforms`.

This is the ObsPy boundary of the waveform path: it finds and reads miniSEED / SAC files and SDS
archives (``obspy.read``, ``obspy.clients.filesystem.sds.Client``), then turns a Stream into one
:class:`Waveforms` per station and band: merged, gaps as NaN, resampled, and aligned on one
regular time grid with the components in a fixed order, as the pickers and correlators need.

Problems with the data (unreadable files, missing components, conflicting overlaps, resampling
decisions) come back as one-line messages beside the result, never as warnings: the caller
decides whether to log, warn or stop. Bad arguments raise :class:`~seiscore.InputError`.
"""

from __future__ import annotations

import glob
import math
import os
import warnings
from pathlib import Path

import numpy as np
import obspy
from obspy import Stream, Trace, UTCDateTime

from ..containers import Waveforms
from ..exceptions import InputError
from .components import (
    _choose_components,
    _orient,
    _skip_reason,
    _trace_sources,
    orientations_from_inventory,
)
from .resample import _resample

__all__ = [
    "WAVEFORM_SUFFIXES",
    "find_waveform_files",
    "iter_days",
    "orientations_from_inventory",
    "read_sds",
    "read_waveform_files",
    "sds_stations",
    "sniff_waveform_format",
    "to_waveforms",
    "waveforms_to_stream",
]

WAVEFORM_SUFFIXES = (".mseed", ".miniseed", ".ms", ".msd", ".sac", ".seed", ".SAC")

#: Relative tolerance under which two sampling rates count as the same.
_RATE_RTOL = 1e-7
#: Fraction of a sample under which an offset from the grid is ignored (no shift).
_GRID_TOL = 0.01
#: Largest ``up`` or ``down`` for which resampling goes through ``resample_poly``.
#: Half-width, in input samples, of the Lanczos kernel used for irrational rate ratios.
#: Component letter → the numbered orientation taken for it when the letter itself is absent.


# --------------------------------------------------------------------------------------------
# files
# --------------------------------------------------------------------------------------------


def _as_path_list(inputs, name: str) -> list[Path]:
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    try:
        paths = [Path(p) for p in inputs]
    except TypeError as exc:
        raise InputError(f"{name}: expected a path or a list of paths, got {inputs!r}") from exc
    if not paths:
        raise InputError(f"{name}: no paths given")
    return paths


# Files in a folder with these suffixes are never waveforms: not probed by content.
_NOT_WAVEFORMS = (
    ".xml",
    ".csv",
    ".txt",
    ".json",
    ".toml",
    ".png",
    ".jpg",
    ".pdf",
    ".npz",
    ".npy",
    ".hdr",
    ".buf",
    ".md",
    ".py",
    ".nc",
    ".h5",
    ".hdf5",
    ".onnx",
    ".zip",
    ".gz",
    ".tar",
    ".log",
    ".in",
    ".out",
    ".pkl",
    ".parquet",
)


def sniff_waveform_format(path) -> str | None:
    """``"MSEED"`` or ``"SAC"`` when the file's content is that format (ObsPy's detectors),
    else None. Reads only the file's first bytes."""
    from obspy.io.mseed.core import _is_mseed
    from obspy.io.sac.core import _is_sac

    for name, test in (("MSEED", _is_mseed), ("SAC", _is_sac)):
        try:
            if test(str(path)):
                return name
        except Exception:  # noqa: BLE001, S112 - a detector that fails means "not this format"
            continue
    return None


def _folder_files(folder: Path, wanted, messages) -> list[Path]:
    """Files under ``folder`` named with a waveform suffix, and others whose content is
    miniSEED or SAC (noted in ``messages``)."""
    out, by_content = [], []
    for p in sorted(folder.rglob("*")):
        if not p.is_file() or p.name.startswith("."):
            continue
        name = p.name.lower()
        if name.endswith(wanted):
            out.append(p.resolve())
        elif not name.endswith(_NOT_WAVEFORMS) and (fmt := sniff_waveform_format(p)):
            out.append(p.resolve())
            by_content.append(f"{p.name} ({fmt})")
    if by_content and messages is not None:
        shown = ", ".join(by_content[:5]) + (", ..." if len(by_content) > 5 else "")
        messages.append(
            f"{folder}: {len(by_content)} file(s) without a waveform suffix taken by "
            f"their content: {shown}"
        )
    return out


def find_waveform_files(inputs, suffixes=WAVEFORM_SUFFIXES, messages=None) -> list[Path]:
    """Waveform files named by ``inputs``: files as they are, folders walked recursively.

    ``inputs`` is one path or a list of paths. A file is taken whatever its suffix; in a folder
    (and its subfolders) the files whose names end with one of ``suffixes`` (compared without
    regard to case) are taken, and so are files with another or no suffix whose content is
    miniSEED or SAC (LOKI's SAC files have no suffix), with a note in ``messages``. Returns
    absolute paths, sorted, each once.

    Raises :class:`InputError` for a path that does not exist, and for a folder that holds no
    waveform file.
    """
    paths = _as_path_list(inputs, "inputs")
    if isinstance(suffixes, str):
        suffixes = (suffixes,)
    wanted = tuple(sorted({s.lower() for s in suffixes}))
    if not wanted:
        raise InputError("suffixes: no suffixes given")
    found: set[Path] = set()
    for path in paths:
        if path.is_file():
            found.add(path.resolve())
        elif path.is_dir():
            matches = _folder_files(path, wanted, messages)
            if not matches:
                raise InputError(
                    f"{path}: no waveform files in this folder (looked for names ending with "
                    f"{', '.join(wanted)}, case-insensitive, and for miniSEED or SAC content, in "
                    "all subfolders)"
                )
            found.update(matches)
        else:
            raise InputError(f"{path}: no such file or folder")
    return sorted(found)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def read_waveform_files(
    paths, *, starttime=None, endtime=None, errors: str = "collect", headonly: bool = False
) -> tuple[Stream, list[str]]:
    """Read waveform files with ``obspy.read`` into one Stream.

    Each file is read whole, or cut to ``starttime``/``endtime`` on read when given (only the
    headers with ``headonly=True``). Every trace is stamped with the file it came from in
    ``tr.stats._source`` (a string), which :func:`to_waveforms` gathers into
    ``Waveforms.sources``.

    A file that cannot be read (unknown format, empty, corrupt) gives one message
    ``"PATH: reason"`` in the returned list when ``errors="collect"`` (the other files are still
    read), or raises :class:`InputError` naming the file when ``errors="raise"``. Warnings ObsPy
    issues while reading become ``"PATH: warning: ..."`` messages in both modes; a truncated or
    corrupt miniSEED file (an incomplete last record) says so, and its traces carry the reason
    in ``tr.stats._damage`` (so that :func:`to_waveforms` can blame the file, not the station,
    for a component the damage cut off).

    Returns ``(stream, messages)``.
    """
    if errors not in ("collect", "raise"):
        raise InputError(f"errors: expected 'collect' or 'raise', got {errors!r}")
    paths = _as_path_list(paths, "paths")
    kwargs = {}
    if starttime is not None:
        kwargs["starttime"] = _utc(starttime, "starttime")
    if endtime is not None:
        kwargs["endtime"] = _utc(endtime, "endtime")
    t0, t1 = kwargs.get("starttime"), kwargs.get("endtime")
    if t0 is not None and t1 is not None and t1 <= t0:
        raise InputError(f"endtime {t1} is not after starttime {t0}")

    stream = Stream()
    messages: list[str] = []
    for path in paths:
        source = str(path)
        caught: list = []
        try:
            if not path.is_file():
                raise OSError("no such file")
            if path.stat().st_size == 0:
                raise OSError("empty file (0 bytes)")
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                # escape so that names with [ ] * ? are not taken as glob patterns by ObsPy
                st = obspy.read(glob.escape(source), headonly=headonly, **kwargs)
        except Exception as exc:  # noqa: BLE001 - any reader failure is a property of the file
            reason = _one_line(str(exc)) or type(exc).__name__
            if isinstance(exc, TypeError) and "Unknown format" in reason:
                reason = "unknown or corrupt waveform format"
            damage = [_damage(w) for w in caught if _damage(w)]
            if damage:
                reason = f"{damage[0]}; nothing could be read"
            message = f"{source}: {reason}"
            if errors == "raise":
                raise InputError(message) from exc
            messages.append(message)
            continue
        damage = ""
        for w in caught:
            damage = damage or _damage(w)
            messages.append(f"{source}: warning: {_damage(w) or _one_line(str(w.message))}")
        if not damage and (damage := _cut_short(st, path.stat().st_size)):
            messages.append(f"{source}: warning: {damage}")
        for tr in st:
            tr.stats._source = source
            if damage:
                tr.stats._damage = damage
        stream += st
    return stream, messages


#: Parts of ObsPy's miniSEED warnings that mean the file is cut short or damaged.
_DAMAGE_SIGNS = ("not enough to constitute a full SEED record", "Unexpected end of file")


def _damage(w) -> str:
    """A warning caught while reading, as the file's damage (``""``: not about damage)."""
    text = _one_line(str(w.message))
    if any(sign in text for sign in _DAMAGE_SIGNS):
        return f"truncated or corrupt miniSEED file, the damaged part was skipped ({text})"
    return ""


def _cut_short(st: Stream, size: int) -> str:
    """The damage of a miniSEED file that is not a whole number of records (ObsPy skips an
    incomplete last record, and does not always warn); ``""`` when whole or not miniSEED."""
    lengths = [tr.stats.mseed.get("record_length") for tr in st if "mseed" in tr.stats]
    reclen = min((n for n in lengths if n), default=0)
    if not reclen or size % reclen == 0:
        return ""
    return (
        f"truncated or corrupt miniSEED file, the damaged part was skipped ({size} bytes is "
        f"not a whole number of {reclen}-byte records)"
    )


# --------------------------------------------------------------------------------------------
# times and SDS archives
# --------------------------------------------------------------------------------------------


def _utc(value, name: str) -> UTCDateTime:
    """``value`` (UTCDateTime, ISO string, datetime, numpy.datetime64, epoch seconds) as UTC."""
    if isinstance(value, UTCDateTime):
        return value
    try:
        if isinstance(value, np.datetime64):
            return UTCDateTime(ns=int(value.astype("datetime64[ns]").astype(np.int64)))
        return UTCDateTime(value)
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"{name}: cannot read {value!r} as a UTC time ({exc})") from exc


def iter_days(starttime, endtime) -> list[tuple[UTCDateTime, UTCDateTime]]:
    """Split ``[starttime, endtime)`` at UTC midnights into ``(start, end)`` pairs.

    Consecutive pairs share their boundary (half-open intervals); the first starts at
    ``starttime``, the last ends at ``endtime``; an ``endtime`` at midnight gives no empty day.
    """
    t0, t1 = _utc(starttime, "starttime"), _utc(endtime, "endtime")
    if t1 <= t0:
        raise InputError(f"endtime {t1} is not after starttime {t0}")
    days = []
    t = t0
    while t < t1:
        midnight = UTCDateTime(t.year, t.month, t.day) + 86400
        end = min(midnight, t1)
        days.append((t, end))
        t = end
    return days


def sds_stations(root) -> list[tuple[str, str, str]]:
    """The (network, station, location) codes of an SDS archive, sorted. Raises
    :class:`InputError` (``"SDS archive not found: ROOT"`` or ``"ROOT: no SDS data ..."``)
    when ``root`` is not a folder or holds no SDS files."""
    from obspy.clients.filesystem.sds import Client

    root = Path(root)
    if not root.is_dir():
        raise InputError(f"SDS archive not found: {root}")
    nslc = sorted({(n, s, loc) for n, s, loc, _ in Client(str(root)).get_all_nslc()})
    if not nslc:
        raise InputError(f"{root}: no SDS data (expected YEAR/NET/STA/CHAN.D/ files)")
    return nslc


def read_sds(
    root,
    starttime,
    endtime,
    *,
    network: str = "*",
    station: str = "*",
    location: str = "*",
    channel: str = "*",
) -> Stream:
    """Read ``[starttime, endtime]`` from an SDS archive (``obspy.clients.filesystem.sds``).

    The archive layout is ``YEAR/NET/STA/CHAN.D/NET.STA.LOC.CHAN.D.YEAR.DOY`` under ``root``;
    codes accept the wildcards ``*`` and ``?``. Traces are stamped with the day files they
    came from (``tr.stats._source``, a tuple of paths). Raises :class:`InputError` when
    ``root`` is not a folder, when the archive cannot be read, or when no data is found.
    """
    from obspy.clients.filesystem.sds import Client

    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: SDS root is not an existing folder")
    t0, t1 = _utc(starttime, "starttime"), _utc(endtime, "endtime")
    if t1 <= t0:
        raise InputError(f"endtime {t1} is not after starttime {t0}")
    seed_id = f"{network}.{station}.{location}.{channel}"
    client = Client(str(root))
    try:
        st = client.get_waveforms(network, station, location, channel, t0, t1)
    except Exception as exc:  # noqa: BLE001
        raise InputError(
            f"{root}: cannot read SDS data for {seed_id} from {t0} to {t1}: {_one_line(str(exc))}"
        ) from exc
    if len(st) == 0:
        raise InputError(f"{root}: no SDS data for {seed_id} from {t0} to {t1}")
    for tr in st:
        tr.stats._source = _sds_files(client, tr)
    return st


def _sds_files(client, tr: Trace) -> tuple[str, ...]:
    """The existing day files of ``tr``'s id over its time span (neighbours if none)."""
    s = tr.stats

    def files(a, b):
        out = []
        for day, _ in iter_days(a, b + 1e-6):
            name = client.FMTSTR.format(
                network=s.network,
                station=s.station,
                location=s.location,
                channel=s.channel,
                year=day.year,
                doy=day.julday,
                sds_type=client.sds_type,
            )
            path = os.path.join(client.sds_root, name)
            if os.path.isfile(path):
                out.append(path)
        return out

    found = files(s.starttime, s.endtime)
    if not found:
        border = float(getattr(client, "fileborder_seconds", 30))
        found = files(s.starttime - border, s.endtime + border)
    return tuple(found)


# --------------------------------------------------------------------------------------------
# Stream → Waveforms
# --------------------------------------------------------------------------------------------


def _same_rate(a: float, b: float) -> bool:
    return abs(a - b) <= _RATE_RTOL * max(a, b)


def _fmt_rate(r: float) -> str:
    return f"{r:g} Hz"


def _as_float64(data) -> np.ndarray:
    """Trace data as float64 with masked samples as NaN."""
    if isinstance(data, np.ma.MaskedArray):
        return np.ma.filled(data.astype(np.float64), np.nan)
    return np.asarray(data, dtype=np.float64)


def _merge(pieces, rate: float, label: str, messages: list[str]):
    """Merge ``[(starttime, channel, float64 data), ...]`` of one component at one rate.

    Pieces are placed at the nearest sample of the grid of the earliest one (as ObsPy's merge
    does); gaps are NaN; where pieces overlap, the earlier-starting one is kept, and a message
    is added when the overlapping data differ.
    """
    pieces = sorted(pieces, key=lambda p: p[0])  # stable: ties keep the input order
    t_ref = pieces[0][0]
    if len(pieces) == 1:  # one trace (a whole station-day): nothing to merge, no copy
        return t_ref, pieces[0][2]
    offsets = [int(round((t - t_ref) * rate)) for t, _, _ in pieces]
    n = max(o + d.size for o, (_, _, d) in zip(offsets, pieces, strict=True))
    out = np.full(n, np.nan)
    for o, (_, chan, d) in zip(offsets, pieces, strict=True):
        view = out[o : o + d.size]
        both = np.isfinite(view) & np.isfinite(d)
        if both.any():
            differ = both & ~np.isclose(view, d, rtol=1e-6, atol=0.0)
            n_diff = int(differ.sum())
            if n_diff:
                first = t_ref + (o + int(np.flatnonzero(differ)[0])) / rate
                messages.append(
                    f"{label}.{chan}: overlapping traces disagree on {n_diff} samples "
                    f"from {first}; kept the first"
                )
        empty = ~np.isfinite(view)
        view[empty] = d[empty]
    return t_ref, out


def _check_components(components, require):
    if isinstance(components, str):
        components = tuple(components)
    components = tuple(components)
    if not components or any(not isinstance(c, str) or len(c) != 1 for c in components):
        raise InputError(
            f"components: expected single letters such as ('E', 'N', 'Z'), got {components!r}"
        )
    if len(set(components)) != len(components):
        raise InputError(f"components: repeated letters in {components!r}")
    if isinstance(require, str):
        require = tuple(require)
    require = tuple(require or ())
    unknown = [c for c in require if c not in components]
    if unknown:
        raise InputError(f"require: {unknown} not among components {components!r}")
    return components, require


def to_waveforms(
    stream,
    *,
    sampling_rate: float | None = None,
    components=("E", "N", "Z"),
    require=("Z",),
    orientations=None,
) -> tuple[list[Waveforms], list[str]]:
    """One :class:`Waveforms` per station and band from a Stream.

    Traces are grouped by ``(network, station, location, band)``, ``band`` being the channel
    without its last letter (``"HH"`` for ``"HHZ"``). The last letter of the channel is the
    component. Rows follow ``components``; other components are ignored.

    **Component rule.** ``Z`` is the channel ending in Z, else ``3``, else ``U`` ("up", with a
    message) unless the station also has ``V`` and ``W`` (U/V/W Galperin components are refused
    with a message naming the station, as are pressure channels: hydrophones, barometers).
    ``E``/``N`` are the channels ending in E/N, else ``1``/``2``. With ``orientations``
    (``NET.STA.LOC.CHA`` → azimuth in degrees from north, or an ObsPy Inventory) the two
    horizontals are rotated to geographic east and north whenever their azimuths are not 90°
    and 0° (orthogonal within 5°; a message says so); without orientations ``1``/``2`` are
    taken as E/N unrotated, with a message.

    Per component, traces are merged at their native rate: each is placed at the nearest
    sample of the grid of the earliest one; gaps become NaN (never zeros); masked samples
    become NaN; where traces overlap the earlier-starting one is kept, and differing overlapped
    data gives a message.

    **Resampling** (to ``sampling_rate`` when given and different; else, when the components of
    a station differ in rate, to the highest one, with a message). Each run of samples between
    gaps is resampled on its own, so NaN gaps stay NaN:

    * integer downsampling ``q``: the FIR anti-alias filter and decimation of
      ``scipy.signal.decimate(x, q, ftype="fir", zero_phase=True)``, run through
      ``scipy.signal.resample_poly`` (zero phase);
    * other rational ratios ``up/down`` (both ≤ 100, e.g. 40 → 100 Hz is 5/2): polyphase
      ``resample_poly`` with a Kaiser (beta 8) FIR whose cutoff is 0.45 × the new rate when
      downsampling and the old Nyquist when upsampling;
    * any other ratio: zero-phase Butterworth low-pass at 0.45 × the new rate (downsampling
      only), then Lanczos interpolation (a = 20) onto the new grid.

    In the polyphase cases the segment mean is removed before and restored after filtering and
    the ends are extended linearly (``padtype="line"``), so the DC offset of raw counts does
    not ring at segment edges. After a gap, resampling starts at the first input sample that
    falls on the output grid (fewer than ``down`` input samples are skipped, left NaN).

    **Alignment.** All rows share one grid that starts at the earliest sample of all
    components (sample ``i`` at ``starttime + i / sampling_rate``) and ends at the latest
    sample. A component whose samples sit off that grid by more than 1 % of a sample is
    shifted by linear interpolation (with a message); within 1 % it is snapped. Samples where
    a component has no data are NaN in that row. Then, because pickers need all components at
    once, **NaN marks samples where any present component lacks data**: a sample NaN in any
    present row is set to NaN in every row.

    A requested component absent altogether gives a row of zeros (NaN where the others are),
    ``present[c] = False`` and the message ``"NET.STA.LOC: no E component; filled with
    zeros"``. A group lacking a component of ``require`` is skipped with a message naming the
    station and the channels it has.

    Data are float32, C-contiguous ``[n_components, n_samples]``, in the units of the input
    (counts stay counts; no demean or filter besides the resampling filters).
    ``Waveforms.sources`` lists the ``tr.stats._source`` of the traces used (see
    :func:`read_waveform_files`, :func:`read_sds`).

    Returns ``(waveforms sorted by id then band, messages)``. Messages are plain strings, not
    warnings: the caller decides what to do with them. They name the station as
    ``NET.STA.LOC``, or ``NET.STA.LOC (BAND)`` when that station has several bands.
    """
    components, require = _check_components(components, require)
    if orientations is not None and not isinstance(orientations, dict):
        orientations = orientations_from_inventory(orientations)
    if sampling_rate is not None:
        bad = f"sampling_rate: expected a positive number, got {sampling_rate!r}"
        try:
            sampling_rate = float(sampling_rate)
        except (TypeError, ValueError) as exc:
            raise InputError(bad) from exc
        if not (math.isfinite(sampling_rate) and sampling_rate > 0):
            raise InputError(bad)
    if isinstance(stream, Trace):
        stream = [stream]
    traces = list(stream)
    messages: list[str] = []
    if not traces:
        messages.append("no traces to convert")
        return [], messages

    groups: dict[tuple[str, str, str, str], list[Trace]] = {}
    for tr in traces:
        if not isinstance(tr, Trace):
            raise InputError(f"stream: expected ObsPy Traces, got {type(tr).__name__}")
        s = tr.stats
        if not s.channel:
            messages.append(f"{tr.id}: trace without a channel code; ignored")
            continue
        if s.npts == 0:
            continue
        key = (s.network, s.station, s.location, s.channel[:-1])
        groups.setdefault(key, []).append(tr)

    bands: dict[tuple[str, str, str], int] = {}
    for net, sta, loc, _band in groups:
        bands[(net, sta, loc)] = bands.get((net, sta, loc), 0) + 1

    out: list[Waveforms] = []
    for key in sorted(groups):
        net, sta, loc, band = key
        label = f"{net}.{sta}.{loc}" + (f" ({band})" if bands[(net, sta, loc)] > 1 else "")
        w = _group_to_waveforms(
            key, label, groups[key], sampling_rate, components, require, messages, orientations
        )
        if w is not None:
            out.append(w)
    return out, messages


def _group_to_waveforms(
    key, label, traces, sampling_rate, components, require, messages, orientations=None
):
    net, sta, loc, band = key
    chosen = _choose_components(traces, components, label, messages)
    lacking = [c for c in require if c not in chosen]
    if lacking or not chosen:
        messages.append(_skip_reason(label, traces, lacking or components))
        return None
    rates = {c: sorted({float(tr.stats.sampling_rate) for tr in trs}) for c, trs in chosen.items()}
    target = _target_rate(rates, sampling_rate, label, messages)
    series, sources = _component_series(chosen, rates, target, label, messages)
    start, data, present = _common_grid(series, components, target, label, messages)
    _orient(data, components, chosen, f"{net}.{sta}.{loc}", label, orientations, messages)
    return Waveforms(
        network=net,
        station=sta,
        location=loc,
        band=band,
        starttime=start,
        sampling_rate=float(target),
        components=tuple(components),
        data=np.ascontiguousarray(data, dtype=np.float32),
        present=present,
        sources=tuple(sorted(sources)),
    )


def _target_rate(rates, sampling_rate, label, messages) -> float:
    """The rate asked for, else the highest rate present (noted when the rates differ)."""
    if sampling_rate is not None:
        return sampling_rate
    all_rates = [r for rs in rates.values() for r in rs]
    target = max(all_rates)
    if any(not _same_rate(r, target) for r in all_rates):
        listed = ", ".join(f"{c}: {'/'.join(_fmt_rate(r) for r in rs)}" for c, rs in rates.items())
        messages.append(
            f"{label}: sampling rates differ ({listed}); resampled to {_fmt_rate(target)}"
        )
    return target


def _component_series(chosen, rates, target, label, messages):
    """Per component one merged record at the target rate: merged at the native rate, then
    resampled (or, when one component mixes rates, each trace resampled, then merged).
    Returns ({component: (start, samples)}, source ids)."""
    series: dict[str, tuple[UTCDateTime, np.ndarray]] = {}
    sources: set[str] = set()
    for c, trs in chosen.items():
        for tr in trs:
            sources.update(_trace_sources(tr))
        pieces = [(tr.stats.starttime, tr.stats.channel, _as_float64(tr.data)) for tr in trs]
        native = rates[c]
        if all(_same_rate(r, native[0]) for r in native):
            rate = native[0]
            t0, x = _merge(pieces, rate, label, messages)
            if not _same_rate(rate, target):
                x = _resample(x, rate, target)
        else:
            resampled = []
            for (t, chan, d), tr in zip(pieces, trs, strict=True):
                r = float(tr.stats.sampling_rate)
                resampled.append((t, chan, d if _same_rate(r, target) else _resample(d, r, target)))
            t0, x = _merge(resampled, target, label, messages)
        series[c] = (t0, x)
    return series, sources


def _placements(series, start, target, label, messages):
    """(first sample, sub-sample offset) of each component on the grid that starts at
    ``start``, and the grid length."""
    placements = {}
    n_total = 0
    for c, (t0, x) in series.items():
        o = (t0 - start) * target
        i = int(round(o))
        if abs(o - i) <= _GRID_TOL:
            placements[c] = (i, 0.0)
        else:
            i = int(math.floor(o))
            placements[c] = (i, o - i)
            messages.append(
                f"{label}: {c} component is {o - i:.2f} samples off the common grid; "
                f"shifted by linear interpolation"
            )
        n_total = max(n_total, i + x.size)
    return placements, n_total


def _common_grid(series, components, target, label, messages):
    """All components on one sample grid: (start, data[component, sample] float64 with NaN
    wherever any present component lacks data, present flags). Absent components are zeros."""
    start = min(t0 for t0, _ in series.values())
    placements, n_total = _placements(series, start, target, label, messages)
    data = np.full((len(components), n_total), np.nan, dtype=np.float64)
    present = np.zeros(len(components), dtype=bool)
    for row, c in enumerate(components):
        if c not in series:
            continue
        present[row] = True
        x = series[c][1]
        i, f = placements[c]
        if f == 0.0:
            data[row, i : i + x.size] = x
        elif x.size > 1:
            # grid point i + j lies between samples j - 1 and j (offset f): weights f and 1 - f
            data[row, i + 1 : i + x.size] = x[:-1] * f + x[1:] * (1.0 - f)
    missing_any = np.zeros(n_total, dtype=bool)
    for row in np.flatnonzero(present):  # row by row: no copy of the whole block
        missing_any |= np.isnan(data[row])
    for row, c in enumerate(components):
        if not present[row]:
            data[row] = 0.0
            messages.append(f"{label}: no {c} component; filled with zeros")
    if missing_any.any():
        data[:, missing_any] = np.nan
    return start, data, present


def waveforms_to_stream(w: Waveforms, channel_prefix: str | None = None) -> Stream:
    """A :class:`Waveforms` back as an ObsPy Stream (for plotting or writing).

    One trace per present component and per run of samples between NaN gaps (masked arrays
    then ``Stream.split()``); rows of components that were absent (``present`` False, zeros)
    are left out. Channel codes are ``channel_prefix`` (default ``w.band``) + component letter.
    Data stay float32.
    """
    if not isinstance(w, Waveforms):
        raise InputError(f"w: expected a Waveforms, got {type(w).__name__}")
    prefix = w.band if channel_prefix is None else channel_prefix
    if not isinstance(prefix, str):
        raise InputError(f"channel_prefix: expected a string, got {channel_prefix!r}")
    st = Stream()
    for c, row, ok in zip(w.components, np.asarray(w.data), np.asarray(w.present), strict=True):
        if not ok:
            continue
        row = np.asarray(row, dtype=np.float32)
        bad = ~np.isfinite(row)
        data = np.ma.masked_array(row.copy(), mask=bad) if bad.any() else row.copy()
        tr = Trace(data=data)
        tr.stats.network = w.network
        tr.stats.station = w.station
        tr.stats.location = w.location
        tr.stats.channel = prefix + c
        tr.stats.sampling_rate = w.sampling_rate
        tr.stats.starttime = UTCDateTime(w.starttime)
        st += tr
    return st.split()
