"""Association you can trust (issue 13): the null test, measured by seiscore itself, and PyOcto on
the very same station-shifted picks; pure noise; the real Italy day.

    python -m pytest bench/test_association_null.py --benchmark-only --benchmark-json=null.json
    python -m bench.test_association_null null.json     # the Markdown for RESULTS.md

Cases (the catalogues of ``bench/test_association.py``, same settings: tolerance 0.5 s, >= 10
picks, >= 2 P, >= 2 S, >= 4 stations with both, and the default significance threshold):

* ``null[day|dense]``: seiscore's association with ``null_test=3`` (three seeded windows of
  station-shifted picks: an hour each on the day, 40 min each on the 2-h dense case), scored
  against the truth; the null-test rate as events per hour and as a fraction of the true events;
* ``null-peer[case-pyocto|pyocto-tight]``: PyOcto (peers' venv) on the same shifted windows
  (``seiscore.association.null_test.shifted_windows`` with seiscore's seed and step), events with
  their origin inside the windows, per hour;
* ``noise``: random picks (Poisson, no events) at the dense case's pick rate per station, 2 h:
  seiscore's events per hour (every one false), and PyOcto-tight's;
* ``italy``: the real day (``shared/data/real_italy``, REAL's PhaseNet picks, ``itvel.nd``) at
  the defaults with a null test (three 1-h windows): events, associated-pick fraction, the null
  rate; and the first 50 minutes with and without the significance threshold (the issue's
  numbers: 129 events from the picks, 117-123 from station-shifted ones, before).
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from seiscore import synthetic
from seiscore.association import associate
from seiscore.association.null_test import shifted_windows

from .test_association import (
    HERE,
    ITALY_CONFIG,
    PEERS_PYTHON,
    PYOCTO_SHALLOW,
    PYOCTO_TIGHT,
    SEARCH,
    SEISCORE_CONFIG,
    SHARED,
    THREADS,
    VP,
    VS,
    homogeneous_table,
    italy_picks,
    make_case,
    score,
)

WINDOW_S = {"day": 3600.0, "dense": 2400.0}
REPEATS = 3
NOISE_HOURS = 2.0


@functools.lru_cache(maxsize=None)
def seiscore_null(case: str):
    """seiscore on ``case`` with its null test (cached: the peers reuse its windows)."""
    cat = make_case(case)
    res = associate(
        cat.picks,
        cat.stations,
        homogeneous_table(),
        null_test=REPEATS,
        null_test_window_s=WINDOW_S[case],
        **SEISCORE_CONFIG,
    )
    return cat, res


def _hours(cat) -> float:
    return float(cat.config["duration_s"]) / 3600.0


@pytest.mark.parametrize("case", ["day", "dense"])
def test_null(benchmark, case):
    holder = {}

    def fn():
        seiscore_null.cache_clear()
        holder["r"] = seiscore_null(case)

    benchmark.group = "association null test"
    benchmark.pedantic(fn, rounds=1, iterations=1, warmup_rounds=0)
    cat, res = holder["r"]
    ev = res.events
    t = (ev.time - cat.starttime) / np.timedelta64(1, "ns") * 1e-9
    m = score(cat, res.event_id, np.c_[ev.x_km, ev.y_km, ev.depth_km], t)
    null = res.null_test
    true_per_hour = len(cat.events) / _hours(cat)
    benchmark.extra_info.update(
        case=case,
        impl="seiscore",
        n_picks=len(cat.picks),
        n_true=len(cat.events),
        f1=m["f1"],
        precision=m["precision"],
        recall=m["recall"],
        min_significance=res.config["min_significance"],
        null_events=null.n_events,
        null_hours=null.hours,
        null_per_hour=null.events_per_hour,
        null_pct_of_true=100.0 * null.events_per_hour / true_per_hour,
        associate_s=res.stats["elapsed_s"] - null.elapsed_s,
        null_s=null.elapsed_s,
        offset_step_s=null.offset_step_s,
    )
    assert m["f1"] >= 0.97
    assert null.events_per_hour <= 0.01 * true_per_hour


def _export(stations, names, phases, times, folder: Path, peer_config: dict) -> Path:
    """Picks (station names, phases, seconds) and stations as association_peers.py reads them."""
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(
        folder / "stations.npz",
        id=stations.station.astype(str),
        x_km=stations.x_km,
        y_km=stations.y_km,
        elevation_m=stations.elevation_m,
    )
    np.savez(
        folder / "picks.npz",
        pick_idx=np.arange(len(times)),
        station=np.asarray(names).astype(str),
        phase=np.asarray(phases).astype(str),
        time=np.asarray(times, float),
        probability=np.ones(len(times)),
    )
    (folder / "config.json").write_text(
        json.dumps(dict(SEARCH, vp=VP, vs=VS, threads=THREADS, pyocto=peer_config))
    )
    return folder


def _pyocto_origins(stations, names, phases, times, folder: Path, settings: dict):
    """PyOcto's origin times (s) and its association time on these picks."""
    data = _export(stations, names, phases, times, folder / "data", settings)
    out = folder / "out"
    proc = subprocess.run(
        [PEERS_PYTHON, str(HERE / "peers" / "association_peers.py"), "pyocto", str(data), str(out)],
        capture_output=True,
        text=True,
        env=dict(os.environ, OMP_NUM_THREADS=str(THREADS)),
    )
    if proc.returncode != 0:
        raise RuntimeError(f"pyocto failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    ev = dict(np.load(out / "events.npz"))
    timing = json.loads((out / "timing.json").read_text())
    return np.asarray(ev["time"], float), float(timing["associate_s"])


PEER_SETTINGS = {"pyocto": PYOCTO_SHALLOW, "pyocto-tight": PYOCTO_TIGHT}


@pytest.mark.parametrize("case", ["day", "dense"])
@pytest.mark.parametrize("peer", ["pyocto", "pyocto-tight"])
def test_null_peer(benchmark, tmp_path, case, peer):
    """PyOcto on seiscore's station-shifted windows of ``case``."""
    if not Path(PEERS_PYTHON).exists():
        pytest.skip(f"peer environment not found: {PEERS_PYTHON}")
    cat, res = seiscore_null(case)
    row_of = {s: i for i, s in enumerate(cat.stations.station)}
    row = np.array([row_of[s] for s in cat.picks.station])
    null = res.null_test
    windows, _, _ = shifted_windows(
        row,
        cat.pick_seconds(),
        step_s=null.offset_step_s,
        margin_s=null.offset_step_s,
        repeats=REPEATS,
        window_s=WINDOW_S[case],
        seed=null.seed,
    )
    counts = {}

    def fn():
        n, seconds = 0, 0.0
        for k, w in enumerate(windows):
            origin, s = _pyocto_origins(
                cat.stations,
                cat.picks.station[w.index],
                cat.picks.phase[w.index],
                w.time_s,
                tmp_path / f"w{k}",
                PEER_SETTINGS[peer],
            )
            n += int(((origin >= w.margin_s) & (origin < w.margin_s + w.length_s)).sum())
            seconds += s
        counts.update(n=n, seconds=seconds)

    benchmark.group = "association null test"
    benchmark.pedantic(fn, rounds=1, iterations=1, warmup_rounds=0)
    hours = sum(w.length_s for w in windows) / 3600.0
    true_per_hour = len(cat.events) / _hours(cat)
    benchmark.extra_info.update(
        case=case,
        impl=peer,
        n_true=len(cat.events),
        null_events=counts["n"],
        null_hours=hours,
        null_per_hour=counts["n"] / hours,
        null_pct_of_true=100.0 * counts["n"] / hours / true_per_hour,
        null_s=counts["seconds"],
    )


@functools.lru_cache(maxsize=None)
def noise_case():
    """Poisson picks at the dense case's rate per station and phase, no events, 2 h."""
    dense = make_case("dense")
    per_station_hour = len(dense.picks) / len(dense.stations) / _hours(dense)
    picks = synthetic.noise_picks(
        dense.stations, per_station_hour, duration_s=3600.0 * NOISE_HOURS, seed=5
    )
    return dense.stations, picks, per_station_hour


@pytest.mark.parametrize("impl", ["seiscore", "pyocto-tight"])
def test_noise(benchmark, tmp_path, impl):
    stations, picks, rate = noise_case()
    holder = {}
    t = (picks.time - picks.time.min()) / np.timedelta64(1, "ns") * 1e-9
    if impl != "seiscore" and not Path(PEERS_PYTHON).exists():
        pytest.skip(f"peer environment not found: {PEERS_PYTHON}")

    def fn():
        if impl == "seiscore":
            res = associate(picks, stations, homogeneous_table(), **SEISCORE_CONFIG)
            holder.update(n=len(res.events), threshold=res.config["min_significance"])
        else:
            origin, _ = _pyocto_origins(
                stations, picks.station, picks.phase, t, tmp_path, PYOCTO_TIGHT
            )
            holder.update(n=len(origin), threshold=None)

    benchmark.group = "association null test"
    benchmark.pedantic(fn, rounds=1, iterations=1, warmup_rounds=0)
    benchmark.extra_info.update(
        case="noise",
        impl=impl,
        n_picks=len(picks),
        picks_per_station_hour=rate,
        hours=NOISE_HOURS,
        events=holder["n"],
        events_per_hour=holder["n"] / NOISE_HOURS,
        min_significance=holder["threshold"],
    )
    if impl == "seiscore":
        assert holder["n"] / NOISE_HOURS <= 1.0


def test_italy(benchmark):
    """The real day at the defaults, with a null test; and its first 50 minutes with and
    without the significance threshold."""
    root = SHARED / "real_italy"
    if not root.exists():
        pytest.skip(f"shared data not available: {root}")
    from seiscore import traveltime
    from seiscore.io.stations import read_stations

    picks = italy_picks()
    stations = read_stations(root / "Data" / "station.dat")
    model = traveltime.VelocityModel.from_file(root / "tt_db" / "itvel.nd")
    holder = {}

    def fn():
        holder["day"] = associate(picks, stations, model, null_test=REPEATS, **ITALY_CONFIG)

    benchmark.group = "association null test"
    benchmark.pedantic(fn, rounds=1, iterations=1, warmup_rounds=0)
    res = holder["day"]
    t = (picks.time - picks.time.min()) / np.timedelta64(1, "s")
    head = picks.select(t < 50 * 60)
    heads = {
        label: associate(head, stations, model, null_test=REPEATS, **dict(ITALY_CONFIG, **kw))
        for label, kw in (("defaults", {}), ("no threshold", dict(min_significance=0)))
    }
    null = res.null_test
    benchmark.extra_info.update(
        case="italy",
        impl="seiscore",
        n_picks=len(picks),
        n_events=len(res.events),
        associated_fraction=res.stats["n_associated"] / len(picks),
        min_significance=res.config["min_significance"],
        events_per_hour=res.stats["events_per_hour"],
        null_per_hour=null.events_per_hour,
        null_events=null.n_events,
        null_hours=null.hours,
        null_pct_of_found=100.0 * null.events_per_hour / res.stats["events_per_hour"],
        associate_s=res.stats["elapsed_s"] - null.elapsed_s,
        null_s=null.elapsed_s,
        median_depth_km=float(np.median(res.events.depth_km)),
        head={
            label: dict(
                n_picks=len(head),
                events=len(r.events),
                null_events=r.null_test.n_events,
                null_hours=r.null_test.hours,
                null_events_per_50_min=r.null_test.events_per_hour * 50 / 60,
                min_significance=r.config["min_significance"],
            )
            for label, r in heads.items()
        },
    )


def report(path) -> str:
    """Markdown from a pytest-benchmark JSON of this file."""
    data = json.loads(Path(path).read_text())
    rows = [
        "| case | associator | F1 | null events / h | null rate / true rate | null test time (s) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    lines = []
    for b in data["benchmarks"]:
        e = b["extra_info"]
        if e.get("case") in ("day", "dense"):
            f1 = f"{e['f1']:.3f}" if "f1" in e else ""
            rows.append(
                f"| {e['case']} | {e['impl']} | {f1} | {e['null_per_hour']:.2f} "
                f"({e['null_events']} in {e['null_hours']:.1f} h) "
                f"| {e['null_pct_of_true']:.2f} % | {e['null_s']:.1f} |"
            )
        elif e.get("case") == "noise":
            lines.append(
                f"noise ({e['picks_per_station_hour']:.0f} picks per station and hour, "
                f"{e['hours']:g} h): {e['impl']} {e['events']} events "
                f"({e['events_per_hour']:.2f}/h)"
            )
        elif e.get("case") == "italy":
            lines.append(f"italy: {json.dumps(e)}")
    return "\n".join(rows + [""] + lines)


if __name__ == "__main__":  # pragma: no cover
    print(report(sys.argv[1]))
