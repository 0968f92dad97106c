"""The picking job behind ``seiscore-pick``: files, folders or an SDS archive → picks files.

Work is cut into station-days so memory stays bounded whatever the record length: each
station-day is read with a margin on both sides (so windows at midnight see context), picked,
and only the picks inside the day are kept.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import obspy

from .. import picking
from ..containers import Picks
from ..exceptions import ConfigError, InputError
from ..io import catalog
from ..io import waveforms as wio
from ..io.atomic import atomic_path, prepare_output_dir
from ..io.quality import screen_for_model
from ..models import Model, load_model
from .heads import apply_heads_to_stream


@dataclass
class PickJobResult:
    picks: Picks
    station_days: int = 0
    errors: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    outputs: list[Path] = field(default_factory=list)


def _station_key(tr) -> str:
    return f"{tr.stats.network}.{tr.stats.station}.{tr.stats.location}"


def _index_files(paths, errors: list[str]):
    """station id → (files, earliest start, latest end), from headers only; unreadable or
    damaged files go to ``errors``, named."""
    index: dict[str, list] = defaultdict(lambda: [set(), None, None])
    st, messages = wio.read_waveform_files(paths, headonly=True)
    errors.extend(messages)
    for tr in st:
        entry = index[_station_key(tr)]
        entry[0].add(Path(tr.stats._source))
        t0, t1 = tr.stats.starttime, tr.stats.endtime
        entry[1] = t0 if entry[1] is None else min(entry[1], t0)
        entry[2] = t1 if entry[2] is None else max(entry[2], t1)
    return index


def run_pick_job(
    inputs,
    output,
    *,
    model: Model | str = "phasenet",
    card=None,
    sds: bool = False,
    starttime=None,
    endtime=None,
    height=None,
    distance_s=None,
    method: str = "peaks",
    batch_size: int | None = None,
    device: str = "cpu",
    threads: int | None = None,
    precision: str | None = None,
    engine: str = "auto",
    plot_dir=None,
    quakeml=None,
    margin_s: float = 30.0,
    progress: bool = True,
    heads=None,
) -> PickJobResult:
    """Pick every station-day of the inputs and write ``output`` (CSV) and optionally QuakeML.

    ``inputs``: waveform files and folders (walked by suffix), or with ``sds=True`` one SDS
    archive root (then ``starttime``/``endtime`` are required). Errors about single files or
    stations are collected in the result (the rest still runs); an unknown model or no usable
    input at all raises ``InputError``. ``heads`` (e.g. ``"polarity,magnitude,baz,distance"``
    or ``"all"``, see :func:`seiscore.picking.apply_heads`): per P pick, the estimates of these
    heads as columns of the picks table (and the polarity in the QuakeML picks).
    ``engine``: who runs the model on the CPU (see :func:`seiscore.models.load_model`).
    ``precision="int8"`` runs the model's quantised fast variant (``--fast``); ``batch_size``
    None takes the model's default (8 windows on the CPU, 256 on a GPU).
    """
    from tqdm.auto import tqdm

    _check_output_file(output, "--output")
    if quakeml is not None:
        _check_output_file(quakeml, "--quakeml")
    if plot_dir is not None:
        prepare_output_dir(plot_dir, "--plot")
    if isinstance(model, (str, Path)) and not isinstance(model, Model):
        model = load_model(
            str(model),
            card=card,
            device=device,
            threads=threads,
            precision=precision,
            engine=engine,
        )
    result = PickJobResult(picks=Picks.empty())
    t_start = obspy.UTCDateTime(starttime) if starttime is not None else None
    t_end = obspy.UTCDateTime(endtime) if endtime is not None else None
    if sds:
        tasks = _plan_sds(inputs, t_start, t_end)
    else:
        tasks = _plan_files(inputs, t_start, t_end, result.errors)
    head_models = tuple(picking.load_heads(heads, device=device, threads=threads) if heads else ())
    settings = _DaySettings(height, distance_s, method, batch_size, margin_s, head_models)
    tables = []
    seen_errors = set(result.errors)
    bar = tqdm(tasks, desc="station-days", unit="station-day", disable=not progress)
    for sid, d0, d1, reader in bar:
        bar.set_postfix_str(f"{sid} {d0.date}")
        try:
            day = _pick_station_day(sid, d0, d1, reader, model, settings, result, seen_errors)
            if day is None:
                continue
            items, anns, picks = day
            tables.append(picks)
            result.station_days += 1
            if plot_dir is not None:
                _plot_day(items, anns, picks, d0, Path(plot_dir), result)
        except InputError as exc:
            result.errors.append(f"{sid} {d0.date}: {exc}")
    _write_picks(result, tables, output, quakeml)
    return result


def _check_output_file(path, option: str) -> None:
    """Before any work: ``path`` can be written (its folder is created when missing)."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{option}: {path} is a folder; give a file name")
    prepare_output_dir(path.parent, f"{option} {path}: its folder")


# the steps of run_pick_job; a task is (station id, day start, day end, reader), where
# reader(start, end) returns the station's stream over [start, end] and a list of errors


def _read_sds_day(root: Path, network: str, station: str, location: str, start, end):
    stream = wio.read_sds(root, start, end, network=network, station=station, location=location)
    return stream, []


def _read_files_day(files: tuple, sid: str, start, end):
    st, errs = wio.read_waveform_files(files, starttime=start, endtime=end)
    net, sta, loc = sid.split(".")
    return st.select(network=net, station=sta, location=loc), errs


def _plan_sds(inputs, t_start, t_end) -> list:
    """Station-day tasks over the one SDS archive root in ``inputs`` (a time range is needed)."""
    if len(inputs) != 1:
        raise InputError(f"--sds takes one archive root, got {len(inputs)} inputs")
    if t_start is None or t_end is None:
        raise InputError("an SDS archive needs a time range (--start and --end)")
    root = Path(inputs[0])
    nslc = wio.sds_stations(root)
    tasks = []
    for n, s, loc in nslc:
        reader = partial(_read_sds_day, root, n, s, loc or "")
        for d0, d1 in wio.iter_days(t_start, t_end):
            tasks.append((f"{n}.{s}.{loc}", d0, d1, reader))
    return tasks


def _plan_files(inputs, t_start, t_end, errors: list[str]) -> list:
    """Station-day tasks over the waveform files and folders in ``inputs`` (unreadable files
    go to ``errors``), within [t_start, t_end] where given."""
    paths = wio.find_waveform_files(inputs, messages=errors)
    index = _index_files(paths, errors)
    if not index:
        raise InputError("no readable waveform data in the inputs:\n  " + "\n  ".join(errors))
    tasks = []
    for sid, (files, t0, t1) in sorted(index.items()):
        a = max(t0, t_start) if t_start is not None else t0
        b = min(t1, t_end) if t_end is not None else t1
        if b <= a:
            continue
        reader = partial(_read_files_day, tuple(sorted(files)), sid)
        for d0, d1 in wio.iter_days(a, b):
            tasks.append((sid, d0, d1, reader))
    return tasks


@dataclass(frozen=True)
class _DaySettings:
    """What :func:`run_pick_job` passes on to each station-day."""

    height: object
    distance_s: object
    method: str
    batch_size: int | None
    margin_s: float
    heads: tuple = ()


def _pick_station_day(
    sid, d0, d1, reader, model: Model, settings: _DaySettings, result, seen_errors: set
):
    """(waveforms, annotations, picks inside the day) of one station-day, or None when there is
    no data; new read errors and messages go to ``result``."""
    st, errs = reader(d0 - settings.margin_s, d1 + settings.margin_s)
    for e in errs:
        if e not in seen_errors:
            seen_errors.add(e)
            result.errors.append(e)
    if len(st) == 0:
        return None
    card = model.card
    items, msgs = wio.to_waveforms(
        st, sampling_rate=card.sampling_rate, components=card.channel_order
    )
    items, screened = screen_for_model(items, st, card)
    msgs += screened
    result.messages.extend(msgs)
    if not items:
        result.errors.append(f"{sid}: no usable data for {d0.date} ({'; '.join(msgs) or 'empty'})")
        return None
    anns = picking.annotate(items, model, batch_size=settings.batch_size)
    picks = picking.pick(
        items,
        model,
        height=settings.height,
        distance_s=settings.distance_s,
        method=settings.method,
        annotations=anns,
    )
    lo, hi = np.datetime64(d0.ns, "ns"), np.datetime64(d1.ns, "ns")
    picks = picks.select((picks.time >= lo) & (picks.time < hi))
    if settings.heads and len(picks):
        picks = apply_heads_to_stream(picks, st, items, card.sampling_rate, settings.heads)
    return items, anns, picks


def _plot_day(items, anns, picks: Picks, d0, plot_dir: Path, result) -> None:
    from ..plot import plot_picks

    for w, ann in zip(items, anns, strict=False):
        path = plot_dir / f"{w.id}.{w.band}_{d0.strftime('%Y%m%d')}.png"
        with atomic_path(path) as tmp:
            plot_picks(w, ann, picks, tmp)
        result.outputs.append(path)


def _write_picks(result: PickJobResult, tables: list[Picks], output, quakeml) -> None:
    """All picks sorted by (network, station, time) into ``result`` and out to CSV (and
    QuakeML); the files come first in ``result.outputs``."""
    result.picks = Picks.concatenate(tables)
    order = np.lexsort((result.picks.time, result.picks.station, result.picks.network))
    result.picks = result.picks.select(order)
    with atomic_path(output) as tmp:
        catalog.write_picks_csv(result.picks, tmp)
    result.outputs.insert(0, Path(output))
    if quakeml is not None:
        with atomic_path(quakeml) as tmp:
            catalog.write_picks_quakeml(result.picks, tmp)
        result.outputs.insert(1, Path(quakeml))


DEMO_DIR = Path(__file__).resolve().parents[1] / "data" / "demo"


def compare_with_manual(picks: Picks, manual_csv, tolerance_s: float = 0.5):
    """Match each analyst pick (CSV: network, station, phase, time) with the closest automatic
    pick of the same station and phase; returns a DataFrame with the time error in seconds
    (NaN when nothing lies within ``tolerance_s``)."""
    import pandas as pd

    manual = pd.read_csv(manual_csv, dtype=str)
    rows = []
    for _, m in manual.iterrows():
        t = pd.Timestamp(m["time"]).tz_localize(None).to_datetime64()
        mine = (
            (picks.network == m["network"])
            & (picks.station == m["station"])
            & (picks.phase == m["phase"])
        )
        dt = (picks.time[mine] - t) / np.timedelta64(1, "ns") / 1e9
        best = dt[np.argmin(np.abs(dt))] if dt.size else np.nan
        rows.append(
            {
                "station": f"{m['network']}.{m['station']}",
                "phase": m["phase"],
                "manual": m["time"],
                "error_s": best if abs(best) <= tolerance_s else np.nan,
            }
        )
    return pd.DataFrame(rows)
