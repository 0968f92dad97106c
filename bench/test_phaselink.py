"""PhaseLink benchmark: a linker trained per network on synthetic picks, then PhaseLink against
the grid search (and PyOcto) on the association benchmark's catalogues and the real Italy day.

    python -m bench.test_phaselink train          # train the three linkers (cached), ~30 min
    python -m pytest bench/test_phaselink.py --benchmark-only --benchmark-json=pl.json
    python -m bench.test_phaselink pl.json        # the Markdown tables for RESULTS.md

* **Training** (``train[day]``, ``train[dense]``, ``train[italy]``): one linker per network, as
  ``seiscore train-associator`` makes it (``linker_network`` → ``generator_settings`` →
  ``fit_linker`` → ``export_linker``): the default transformer, :data:`TRAIN` (a step count and
  a time budget), 2 threads; synthetic picks only. ``day`` and ``dense`` are the 50-station
  networks of ``bench/test_association.py`` (different random stations, so two linkers) with its
  homogeneous model; ``italy`` the 60 stations of ``shared/data/real_italy/Data/station.dat``
  with REAL's 1-D model ``itvel.nd``, depths 0–25 km. Linkers are cached outside git
  (:data:`CACHE`, ``SEISCORE_BENCH_CACHE``) with a fingerprint of their settings; the recorded
  training time is the card's (the run that made the linker).
* **Synthetic** (``associate[day|dense]``): ``phaselink`` vs ``grid`` (seiscore's grid search)
  vs ``pyocto-tight`` (PyOcto with 0.5 s tolerances, its best row in the association benchmark;
  run in its own venv as there), with the association benchmark's acceptance (≥ 10 picks,
  ≥ 2 P, ≥ 2 S, ≥ 4 stations with both), tolerance 0.5 s, the same box; its scoring.
* **Italy** (``italy``): both seiscore methods on REAL's PhaseNet picks of 2016-10-14 with the
  association benchmark's settings (tolerance 1 s, depth 0–25 km, default acceptance); events
  matched one to one (origin times within :data:`MATCH_S`, hypocentres within
  :data:`MATCH_KM`): found by both, by one only.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from seiscore import association, geo
from seiscore.association import associate, associate_phaselink

from .test_association import (
    PEERS,
    PEERS_PYTHON,
    SEARCH,
    SEISCORE_CONFIG,
    SHARED,
    THREADS,
    homogeneous_table,
    italy_picks,
    make_case,
    run_peer,
    score,
)

CACHE = Path(os.environ.get("SEISCORE_BENCH_CACHE", "/tmp/seiscore-bench")) / "phaselink"
#: Training settings of every linker: steps, batch, learning rate, the time budget (minutes; the
#: best weights so far are kept when it runs out first), validation sequences, seed, threads.
TRAIN = dict(architecture="transformer", steps=2500, batch_size=64, lr=1e-3, minutes=12.0,
             val_sequences=1024, seed=0, threads=THREADS, max_picks=256)  # fmt: skip
#: PhaseLink's settings on the synthetic cases: the grid search's of the association benchmark
#: less its grid-only ones (cells, blocks).
PHASELINK_CONFIG = dict(SEISCORE_CONFIG)
ITALY = SHARED / "real_italy"
ITALY_CONFIG = dict(zlim=(0.0, 25.0), tolerance_s=1.0, unknown_stations="skip", workers=THREADS)
MATCH_S, MATCH_KM = 2.0, 15.0


# ------------------------------------------------------------------------------- the linkers


def _network(name: str):
    """(stations, velocity model, volume) of a linker."""
    if name == "italy":
        from seiscore import traveltime
        from seiscore.io.stations import read_stations

        stations = read_stations(ITALY / "Data" / "station.dat")
        model = traveltime.VelocityModel.from_file(ITALY / "tt_db" / "itvel.nd")
        return stations, model, dict(zlim=ITALY_CONFIG["zlim"])
    return make_case(name).stations, homogeneous_table(), dict(SEARCH)


def _fingerprint(name: str) -> str:
    stations, _, volume = _network(name)
    what = {"name": name, "train": TRAIN, "volume": {k: list(v) for k, v in volume.items()},
            "stations": [str(s) for s in stations.ids]}  # fmt: skip
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:16]


def train_linker(name: str, progress: bool = False) -> Path:
    """Train the linker of ``name`` (the steps of ``seiscore train-associator``) into the cache;
    returns its path."""
    import torch

    from seiscore.training import phaselink as tlink

    torch.manual_seed(TRAIN["seed"])
    stations, model, volume = _network(name)
    t0 = time.perf_counter()
    net = association.linker_network(stations, model, max_picks=TRAIN["max_picks"],
                                     workers=THREADS, **volume)  # fmt: skip
    gen = association.generator_settings(net)

    def sample(n, first):
        return association.synthetic_sequences(net, n, seed=TRAIN["seed"], first=first,
                                               settings=gen, workers=THREADS)  # fmt: skip

    linker = tlink.build_linker(TRAIN["architecture"])
    config = tlink.LinkerTrainConfig(
        steps=TRAIN["steps"], batch_size=TRAIN["batch_size"], lr=TRAIN["lr"],
        val_sequences=TRAIN["val_sequences"], max_minutes=TRAIN["minutes"], seed=TRAIN["seed"],
        threads=THREADS,
    )  # fmt: skip
    out = CACHE / f"{name}.onnx"
    result = tlink.fit_linker(linker, sample, config, checkpoint_dir=CACHE / f"{name}_ck",
                              progress=progress)  # fmt: skip
    linker.load_state_dict(result.best_state)
    best = next(h for h in result.history if h["step"] == result.best_step)
    training = {
        "steps": result.steps_done, "best_step": result.best_step,
        "seconds": round(result.seconds, 1), "total_seconds": round(time.perf_counter() - t0, 1),
        "config": config.as_dict(), "history": result.history,
        "validation": {k: best[k] for k in ("val_loss", "precision", "recall")},
        "bench_fingerprint": _fingerprint(name),
        "parameters": int(sum(p.numel() for p in linker.parameters())),
    }  # fmt: skip
    card = association.linker_card(
        net, name=f"bench-{name}", generator=gen, model=dict(linker.settings), training=training,
        provenance=f"bench/test_phaselink.py: {len(stations)} stations ({name}); synthetic "
        "picks only",
    )  # fmt: skip
    tlink.export_linker(linker, out, card, result.validation[0])
    return out


def linker_path(name: str, progress: bool = False) -> Path:
    """The cached linker of ``name``, trained first when missing or made with other settings
    (skips without torch)."""
    path = CACHE / f"{name}.onnx"
    if path.is_file():
        card = association.read_linker_card(path)
        if card["training"].get("bench_fingerprint") == _fingerprint(name):
            return path
    pytest.importorskip("torch")
    return train_linker(name, progress)


@functools.lru_cache(maxsize=None)
def _linker(name: str):
    return association.Linker.load(linker_path(name), threads=THREADS)


@pytest.mark.parametrize("name", ["day", "dense", "italy"])
def test_train(benchmark, name):
    if name == "italy" and not ITALY.exists():
        pytest.skip(f"shared data not available: {ITALY}")
    holder = {}

    def fn():
        holder["path"] = linker_path(name)

    benchmark.pedantic(fn, rounds=1, iterations=1, warmup_rounds=0)
    card = association.read_linker_card(holder["path"])
    t = card["training"]
    stations = card["network"]["stations"]
    benchmark.group = "train"
    benchmark.extra_info.update(
        case=name, kind="train", n_stations=len(stations), train_s=t["seconds"],
        total_s=t["total_seconds"], steps=t["steps"], best_step=t["best_step"],
        parameters=t["parameters"], window_s=card["network"]["features"]["window_s"],
        **{f"val_{k}" if k != "val_loss" else k: v for k, v in t["validation"].items()},
        onnx_max_abs_diff=t["onnx_max_abs_diff"],
    )  # fmt: skip


# ------------------------------------------------------------------------------- synthetic


def _events_xyz_t(cat, res):
    ev = res.events
    t = (ev.time - cat.starttime) / np.timedelta64(1, "ns") * 1e-9
    return np.c_[ev.x_km, ev.y_km, ev.depth_km], t


RUNS = [(case, impl) for case in ("day", "dense") for impl in ("phaselink", "grid", "pyocto-tight")]


@pytest.mark.parametrize(("case", "impl"), RUNS)
def test_associate(benchmark, tmp_path, case, impl):
    cat = make_case(case)
    n = len(cat.picks)
    benchmark.group = f"phaselink[{case}]"
    benchmark.extra_info.update(case=case, impl=impl, kind="synthetic", n_picks=n,
                                n_events_true=len(cat.events), threads=THREADS)  # fmt: skip
    holder = {}
    if impl == "pyocto-tight":
        if not Path(PEERS_PYTHON).exists():
            pytest.skip(f"peer environment not found: {PEERS_PYTHON}")
        which, settings = PEERS[impl]

        def fn():
            holder["r"] = run_peer(which, settings, cat, tmp_path)

        benchmark.pedantic(fn, rounds=1, iterations=1, warmup_rounds=0)
        pred, xyz, t, seconds, _ = holder["r"]
    else:
        linker = _linker(case) if impl == "phaselink" else None

        def fn():
            if impl == "phaselink":
                holder["r"] = associate_phaselink(cat.picks, cat.stations, homogeneous_table(),
                                                  linker, **PHASELINK_CONFIG)  # fmt: skip
            else:
                holder["r"] = associate(cat.picks, cat.stations, homogeneous_table(),
                                        **SEISCORE_CONFIG)  # fmt: skip

        benchmark.pedantic(fn, rounds=1, iterations=1, warmup_rounds=0)
        res = holder["r"]
        pred = res.event_id
        xyz, t = _events_xyz_t(cat, res)
        seconds = benchmark.stats.stats.median
        if impl == "phaselink":
            benchmark.extra_info.update(
                {k: res.stats[k] for k in ("link_s", "n_sequences", "n_clusters", "n_located")}
            )
    metrics = score(cat, pred, xyz, t)
    benchmark.extra_info.update(associate_s=seconds, picks_per_s=n / seconds, **metrics)
    assert metrics["n_pred"] > 0


# ------------------------------------------------------------------------------------ Italy


def match_events(a, b, match_s: float = MATCH_S, match_km: float = MATCH_KM):
    """One-to-one pairs (i in a, j in b) of events with origin times within ``match_s`` and
    hypocentres within ``match_km``, closest in time first."""
    ta = a.time.astype("datetime64[ns]").astype(np.int64) * 1e-9
    tb = b.time.astype("datetime64[ns]").astype(np.int64) * 1e-9
    order = np.argsort(tb)
    tb_sorted = tb[order]
    pairs = []
    for i in range(len(ta)):
        lo = np.searchsorted(tb_sorted, ta[i] - match_s)
        hi = np.searchsorted(tb_sorted, ta[i] + match_s, side="right")
        for j in order[lo:hi]:
            dh = geo.distance_km(a.latitude[i], a.longitude[i], b.latitude[j], b.longitude[j])
            if np.hypot(dh, a.depth_km[i] - b.depth_km[j]) <= match_km:
                pairs.append((abs(ta[i] - tb[j]), i, int(j)))
    out, used_a, used_b = [], set(), set()
    for _, i, j in sorted(pairs):
        if i not in used_a and j not in used_b:
            out.append((i, j))
            used_a.add(i)
            used_b.add(j)
    return out


def test_italy(benchmark):
    if not ITALY.exists():
        pytest.skip(f"shared data not available: {ITALY}")
    from seiscore import traveltime
    from seiscore.io.stations import read_stations

    picks = italy_picks()
    stations = read_stations(ITALY / "Data" / "station.dat")
    model = traveltime.VelocityModel.from_file(ITALY / "tt_db" / "itvel.nd")
    linker = _linker("italy")
    holder = {}

    def fn():
        holder["pl"] = associate_phaselink(picks, stations, model, linker, **ITALY_CONFIG)

    benchmark.group = "phaselink[italy]"
    benchmark.pedantic(fn, rounds=1, iterations=1, warmup_rounds=0)
    pl_s = benchmark.stats.stats.median
    t = time.perf_counter()
    grid = associate(picks, stations, model, **ITALY_CONFIG)
    grid_s = time.perf_counter() - t
    pl = holder["pl"]
    pairs = match_events(pl.events, grid.events)
    both = len(pairs)
    ia = np.array([i for i, _ in pairs], int)
    jb = np.array([j for _, j in pairs], int)
    only_pl = np.setdiff1d(np.arange(len(pl.events)), ia)
    only_grid = np.setdiff1d(np.arange(len(grid.events)), jb)

    def median_picks(ev, idx):
        return float(np.median(ev.n_p[idx] + ev.n_s[idx])) if len(idx) else float("nan")

    benchmark.extra_info.update(
        case="italy", kind="italy", n_picks=len(picks), n_stations=len(stations),
        phaselink_s=pl_s, grid_s=grid_s, n_phaselink=len(pl.events), n_grid=len(grid.events),
        n_both=both, n_phaselink_only=len(only_pl), n_grid_only=len(only_grid),
        assoc_phaselink=int(pl.stats["n_associated"]), assoc_grid=int(grid.stats["n_associated"]),
        median_picks_both=median_picks(pl.events, ia),
        median_picks_phaselink_only=median_picks(pl.events, only_pl),
        median_picks_grid_only=median_picks(grid.events, only_grid),
        median_rms_phaselink=float(np.median(pl.events.rms_s)),
        median_rms_grid=float(np.median(grid.events.rms_s)),
        notes=list(pl.notes),
    )  # fmt: skip
    assert both > 0


# ------------------------------------------------------------------------------------ report


def report(path) -> str:
    """Markdown tables from a pytest-benchmark JSON of this file."""
    data = [b["extra_info"] for b in json.loads(Path(path).read_text())["benchmarks"]]
    rows = [
        "| network | stations | training (s) | steps | window (s) | val. link precision "
        "| val. link recall | ONNX vs torch |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for e in (e for e in data if e.get("kind") == "train"):
        rows.append(
            f"| {e['case']} | {e['n_stations']} | {e['train_s']:.0f} | {e['steps']} "
            f"| {e['window_s']:g} | {e['val_precision']:.3f} | {e['val_recall']:.3f} "
            f"| {e['onnx_max_abs_diff']:.1e} |"
        )
    rows += [
        "",
        "| case | associator | picks | time (s) | picks/s | precision | recall | F1 "
        "| pick prec. | pick rec. | loc. error (km) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    synth = [e for e in data if e.get("kind") == "synthetic"]
    for e in sorted(synth, key=lambda e: (e["case"], e["impl"])):
        rows.append(
            f"| {e['case']} | {e['impl']} | {e['n_picks']:,} | {e['associate_s']:.2f} "
            f"| {e['picks_per_s']:,.0f} | {e['precision']:.3f} | {e['recall']:.3f} "
            f"| {e['f1']:.3f} | {e['pick_precision']:.3f} | {e['pick_recall']:.3f} "
            f"| {e.get('location_error_km', float('nan')):.2f} |"
        )
    for e in (e for e in data if e.get("kind") == "italy"):
        rows += [
            "",
            f"italy: {e['n_picks']:,} picks at {e['n_stations']} stations. PhaseLink "
            f"{e['n_phaselink']:,} events ({e['assoc_phaselink']:,} picks associated, "
            f"{e['phaselink_s']:.1f} s); grid search {e['n_grid']:,} events "
            f"({e['assoc_grid']:,} picks, {e['grid_s']:.1f} s). Found by both: {e['n_both']:,} "
            f"(median {e['median_picks_both']:.0f} picks); PhaseLink only: "
            f"{e['n_phaselink_only']:,} (median {e['median_picks_phaselink_only']:.0f} picks); "
            f"grid only: {e['n_grid_only']:,} (median {e['median_picks_grid_only']:.0f} "
            f"picks). Median RMS {e['median_rms_phaselink']:.3f} s / {e['median_rms_grid']:.3f} s.",
        ]
    return "\n".join(rows)


if __name__ == "__main__":  # pragma: no cover
    if sys.argv[1] == "train":
        for name in sys.argv[2:] or ["day", "dense", "italy"]:
            p = linker_path(name, progress=True)
            t = association.read_linker_card(p)["training"]
            print(name, p, f"{t['seconds']:.0f} s, {t['steps']} steps", t["validation"])
    else:
        print(report(sys.argv[1]))
