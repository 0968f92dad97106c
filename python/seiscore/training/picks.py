"""Reference picks for training, from the files they come in.

:func:`read_reference_picks` reads one or more pick files (or folders of them) into a
:class:`ReferencePicks` table:

* seiscore's picks CSV (``network, station, location, phase, time``, and ``event_id`` when
  written by ``seiscore run`` or ``seiscore associate``);
* QuakeML (``.xml``, ``.qml``, ``.quakeml``; through ObsPy): each event's picks;
* QuakeMigrate ``.picks`` files (one event per file, named by its event id): ``Station, Phase,
  ModelledTime, PickTime, …``; a ``PickTime`` of -1 means QuakeMigrate modelled the arrival but
  made no pick, and the row is kept as an *unpicked* arrival (see below);
* NonLinLoc phase files (``NLLOC_OBS``: ``.obs``, ``.nll``, ``.hyp``, ``.phs``); events are
  separated by blank lines.

Columns: ``network, station, location`` (str; "" where the file does not say), ``phase``
(``"P"`` or ``"S"``: the first letter of the phase name, other phases are dropped), ``time``
(float64, seconds since 1970-01-01 UTC), ``event`` (str: the event the pick belongs to) and
``picked`` (bool). An unpicked arrival (``picked`` False: a modelled arrival time without a pick)
is not a label: the training loss ignores the samples around it, so that the network is never
taught that an arrival nobody picked is noise.

:func:`merge_duplicates` makes one pick of the picks of one station and phase closer than
``merge_s`` (several catalogues, or several versions of one event, that pick the same arrival),
and joins their events, so that a split by event never puts one arrival on both sides.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..exceptions import InputError

__all__ = ["ReferencePicks", "merge_duplicates", "read_reference_picks"]

QUAKEML_SUFFIXES = (".xml", ".qml", ".quakeml")
NLL_SUFFIXES = (".obs", ".nll", ".hyp", ".phs")
PICK_SUFFIXES = (".csv", ".picks", *QUAKEML_SUFFIXES, *NLL_SUFFIXES)


@dataclass
class ReferencePicks:
    """Reference picks as columns (see the module docstring)."""

    network: np.ndarray
    station: np.ndarray
    location: np.ndarray
    phase: np.ndarray
    time: np.ndarray
    event: np.ndarray
    picked: np.ndarray

    def __len__(self) -> int:
        return len(self.time)

    @classmethod
    def from_rows(cls, rows: list[tuple]) -> ReferencePicks:
        """From ``(network, station, location, phase, time, event, picked)`` tuples."""
        cols = list(zip(*rows, strict=True)) if rows else [()] * 7
        text = [np.array(c, dtype=object) for c in cols[:4]]
        return cls(
            *text,
            time=np.array(cols[4], dtype=np.float64),
            event=np.array(cols[5], dtype=object),
            picked=np.array(cols[6], dtype=bool),
        )

    @classmethod
    def concatenate(cls, tables: list[ReferencePicks]) -> ReferencePicks:
        if not tables:
            return cls.from_rows([])
        names = ("network", "station", "location", "phase", "time", "event", "picked")
        return cls(**{n: np.concatenate([getattr(t, n) for t in tables]) for n in names})

    def take(self, index) -> ReferencePicks:
        names = ("network", "station", "location", "phase", "time", "event", "picked")
        return ReferencePicks(**{n: getattr(self, n)[index] for n in names})

    def at_station(self, network: str, station: str) -> ReferencePicks:
        """The picks of one station: same station code, and same network where both say one."""
        same = self.station == station
        if network:
            same &= (self.network == network) | (self.network == "")
        return self.take(np.flatnonzero(same))

    @property
    def stations(self) -> list[str]:
        return sorted(set(self.station.tolist()))

    @property
    def events(self) -> list[str]:
        return sorted(set(self.event.tolist()))


def _phase(name: str) -> str | None:
    first = (name or "").strip()[:1].upper()
    return first if first in ("P", "S") else None


def _epoch(text) -> float:
    import obspy

    return float(obspy.UTCDateTime(str(text)).timestamp)


def read_reference_picks(paths) -> ReferencePicks:
    """Read pick files and folders of them (see the module docstring for the formats).

    A folder is walked for files with a pick suffix (``.csv .picks .xml .qml .quakeml .obs .nll
    .hyp .phs``; a CSV only when its header is a picks table's). Raises :class:`InputError`
    naming the file that cannot be read, or when no P or S pick is found at all.
    """
    files = []
    for p in [paths] if isinstance(paths, (str, Path)) else list(paths):
        p = Path(p)
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.suffix.lower() in PICK_SUFFIXES)
            files += [f for f in found if f.suffix.lower() != ".csv" or _is_pick_csv(f)]
        elif p.is_file():
            files.append(p)
        else:
            raise InputError(f"picks: {p} does not exist")
    tables = [_read_one(f) for f in files]
    table = ReferencePicks.concatenate(tables)
    if not table.picked.any():
        raise InputError(f"picks: no P or S pick in {[str(f) for f in files][:5]}")
    return table


def _is_pick_csv(path: Path) -> bool:
    """A CSV in a walked folder is read only if its header is that of a picks table."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            head = {c.strip() for c in fh.readline().split(",")}
    except OSError:
        return False
    return {"Station", "Phase", "PickTime"} <= head or {"station", "phase", "time"} <= head


def _read_one(path: Path) -> ReferencePicks:
    suffix = path.suffix.lower()
    try:
        if suffix in QUAKEML_SUFFIXES:
            return _read_quakeml(path)
        if suffix in NLL_SUFFIXES:
            return _read_nonlinloc(path)
        head = path.read_text(errors="replace").splitlines()[:1]
        if suffix == ".picks" or (head and head[0].startswith("Station,Phase,ModelledTime")):
            return _read_quakemigrate(path)
        return _read_seiscore_csv(path)
    except InputError:
        raise
    except Exception as exc:  # a reader's own error types (pandas, ObsPy, ValueError …)
        raise InputError(f"{path}: cannot read picks ({type(exc).__name__}: {exc})") from None


def _read_quakemigrate(path: Path) -> ReferencePicks:
    """QuakeMigrate ``.picks``: the event id is the file's stem; ``PickTime`` -1: unpicked."""
    import pandas as pd

    df = pd.read_csv(path, dtype=str)
    missing = {"Station", "Phase", "ModelledTime", "PickTime"} - set(df.columns)
    if missing:
        raise InputError(f"{path}: not a QuakeMigrate picks file (no columns {sorted(missing)})")
    rows = []
    for sta, ph, modelled, picked in df[["Station", "Phase", "ModelledTime", "PickTime"]].values:
        phase = _phase(ph)
        if phase is None:
            continue
        made = str(picked).strip() not in ("-1", "nan", "")
        rows.append(("", sta, "", phase, _epoch(picked if made else modelled), path.stem, made))
    return ReferencePicks.from_rows(rows)


def _read_seiscore_csv(path: Path) -> ReferencePicks:
    """seiscore's picks CSV; ``event_id`` (when present, -1 = unassociated) names the event,
    otherwise every pick is its own event until :func:`merge_duplicates` or the window grouping
    joins them."""
    import pandas as pd

    from ..io.catalog import read_picks_csv

    picks = read_picks_csv(path)
    seconds = picks.time.astype("datetime64[ns]").astype(np.int64) / 1e9
    events = None
    header = pd.read_csv(path, nrows=0).columns
    if "event_id" in header:
        events = pd.read_csv(path, usecols=["event_id"])["event_id"].astype(str).to_numpy()
        events = events[: len(picks)]
    rows = []
    for i in range(len(picks)):
        phase = _phase(str(picks.phase[i]))
        if phase is None:
            continue
        event = events[i] if events is not None and events[i] not in ("-1", "nan") else ""
        event = f"{path.stem}:{event}" if event else f"{path.stem}:pick{i}"
        net, sta, loc = (str(x) for x in (picks.network[i], picks.station[i], picks.location[i]))
        rows.append((net, sta, loc, phase, float(seconds[i]), event, True))
    return ReferencePicks.from_rows(rows)


def _read_quakeml(path: Path) -> ReferencePicks:
    import obspy

    rows = []
    for k, event in enumerate(obspy.read_events(str(path))):
        name = str(event.resource_id).rsplit("/", 1)[-1] or f"{path.stem}:{k}"
        for p in event.picks:
            phase = _phase(p.phase_hint or "")
            if phase is None or p.time is None:
                continue
            w = p.waveform_id
            net, sta, loc = (w.network_code or ""), (w.station_code or ""), (w.location_code or "")
            rows.append((net, sta, loc, phase, float(p.time.timestamp), name, True))
    return ReferencePicks.from_rows(rows)


_NLL_LINE = re.compile(r"^\s*(\S+)\s+\S+\s+\S+\s+\S+\s+(\S+)\s+\S+\s+(\d{8})\s+(\d{4})\s+([\d.]+)")


def _read_nonlinloc(path: Path) -> ReferencePicks:
    """NonLinLoc ``NLLOC_OBS`` phase lines: ``station instrument component onset phase
    first-motion YYYYMMDD hhmm ss.ssss …``; a blank line (or ``PUBLIC_ID``) starts a new event."""
    import obspy

    rows, event = [], 0
    for line in path.read_text(errors="replace").splitlines():
        if not line.strip() or line.startswith("PUBLIC_ID"):
            event += 1 if rows else 0
            continue
        if line.lstrip().startswith("#"):
            continue
        m = _NLL_LINE.match(line)
        if not m:
            continue
        sta, ph, day, hm, sec = m.groups()
        phase = _phase(ph)
        if phase is None:
            continue
        t0 = obspy.UTCDateTime(f"{day[:4]}-{day[4:6]}-{day[6:]}T{hm[:2]}:{hm[2:]}:00")
        rows.append(
            ("", sta, "", phase, float(t0.timestamp) + float(sec), f"{path.stem}:{event}", True)
        )
    return ReferencePicks.from_rows(rows)


def merge_duplicates(picks: ReferencePicks, merge_s: float) -> ReferencePicks:
    """One pick for the picks of one station and phase closer than ``merge_s`` seconds (their
    median time; picked if any of them is), with their events joined under one name."""
    order = np.lexsort((picks.time, picks.phase, picks.station, picks.network))
    p = picks.take(order)
    parent: dict[str, str] = {e: e for e in p.event.tolist()}

    def root(e: str) -> str:
        while parent[e] != e:
            parent[e] = parent[parent[e]]
            e = parent[e]
        return e

    groups, start = [], 0
    for i in range(1, len(p) + 1):
        same = (
            i < len(p)
            and (p.network[i], p.station[i], p.phase[i])
            == (p.network[i - 1], p.station[i - 1], p.phase[i - 1])
            and p.time[i] - p.time[i - 1] <= merge_s
        )
        if not same:
            groups.append(np.arange(start, i))
            start = i
    for g in groups:
        for j in g[1:]:
            parent[root(p.event[j])] = root(p.event[g[0]])
    rows = []
    for g in groups:
        made = g[p.picked[g]]
        use = made if len(made) else g
        rows.append(
            (
                p.network[g[0]],
                p.station[g[0]],
                p.location[g[0]],
                p.phase[g[0]],
                float(np.median(p.time[use])),
                root(p.event[g[0]]),
                bool(len(made)),
            )
        )
    return ReferencePicks.from_rows(rows)
