"""Association benchmark: seiscore.association against PyOcto and GaMMA on the same synthetic
catalogues, in one run.

    python -m pytest bench/test_association.py --benchmark-only --benchmark-json=assoc.json
    python bench/test_association.py assoc.json          # the Markdown table for RESULTS.md

Cases (``seiscore.synthetic``, seeded; PyOcto's synthetic-benchmark rules — detection radius
120 M + 80 km, Gutenberg–Richter b = 1 from M -0.5, an event must have >= 10 picks and >= 4
stations with P and S, "found" = >= 60 % of its picks in one predicted event):

* ``day``:   50 random stations in a 200 × 200 km box (PyOcto's "shallow" box, around
  21° S 69° W), 2000 events uniform in the box at 0–30 km depth over 24 h, homogeneous
  vp = 6.3, vs = 3.7 km/s, 0.1 s timing noise, 10 % of picks dropped, false picks = 10 % of the
  true picks;
* ``dense``: the same network, an aftershock-like cloud (Gaussian, sigma 10 km horizontally and
  4 km in depth around the box centre at 10 km) at 10,000 events/day, for ``DENSE_HOURS`` hours;
* ``day-head``, ``dense-head``: the first ``HEAD_HOURS[case]`` hours of each (the events with an
  origin in that span and all their picks, plus the false picks in it), because GaMMA needs far
  longer than the others (about 50 picks/s here): GaMMA runs on these only, the others on all
  four so that every associator is compared with GaMMA on the same picks;
* ``italy``: the real day of PhaseNet picks in ``shared/data/real_italy`` (57 stations, its 1-D
  model ``itvel.nd``), seiscore only: events found and time, tables built included.

The peers run in their own environment (``PEERS_PYTHON``, default ``/work/peers-venv/bin/python``
or ``/work/venv-peers/bin/python``, whichever exists; made with ``python3.11 -m venv
/work/peers-venv && /work/peers-venv/bin/pip install pyocto==0.2.2 'numpy<2' pandas``, plus
``gmma`` for GaMMA; pyocto 0.2.2 needs numpy < 2) through ``bench/peers/association_peers.py`` on
the catalogue saved as .npz; their time is that of their association call alone, as seiscore's is
that of ``associate()``. All use 2 threads and the same minimum pick counts. PyOcto and GaMMA run
with the settings of PyOcto's own benchmark for this box (``configs/associator/*_shallow.yaml``);
PyOcto additionally with its tolerances matched to the 0.1 s noise (``pyocto-tight``).
A peer that is not installed is skipped.
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
from seiscore.containers import TravelTimeTable

HERE = Path(__file__).resolve().parent
# the peers' venv: python3.11 -m venv /work/peers-venv &&
#   /work/peers-venv/bin/pip install pyocto==0.2.2 'numpy<2' pandas   (GaMMA: pip install gmma)
PEERS_PYTHON = os.environ.get(
    "PEERS_PYTHON",
    next(
        (
            p
            for p in ("/work/peers-venv/bin/python", "/work/venv-peers/bin/python")
            if Path(p).exists()
        ),
        "/work/peers-venv/bin/python",
    ),
)
THREADS = 2
VP, VS = 6.3, 3.7
BOX = dict(xlim=(-100.0, 100.0), ylim=(-100.0, 100.0), zlim=(0.0, 30.0))
SEARCH = dict(xlim=(-110.0, 110.0), ylim=(-110.0, 110.0), zlim=(0.0, 30.0))
DENSE_HOURS = 2.0
HEAD_HOURS = {"day": 2.0, "dense": 0.5}
SHARED = HERE.parent.parent / "shared" / "data"

CASES = {
    "day": dict(n_events=2000, duration_s=86400.0, cluster=None, seed=20261121),
    "dense": dict(
        n_events=int(round(10000 * DENSE_HOURS / 24)),
        duration_s=3600.0 * DENSE_HOURS,
        cluster=(0.0, 0.0, 10.0, 10.0, 4.0),
        seed=20261122,
    ),
}

# same acceptance for everyone: >= 10 picks, >= 2 P, >= 2 S, >= 4 stations with P and S
SEISCORE_CONFIG = dict(
    tolerance_s=0.5, min_picks=10, min_p=2, min_s=2, min_p_and_s=4, workers=THREADS, **SEARCH
)
PYOCTO_SHALLOW = dict(
    tolerance=2.0,
    pick_match_tolerance=2.0,
    time_before=300.0,
    association_cutoff_distance=None,
    n_picks=10,
    n_p_picks=2,
    n_s_picks=2,
    n_p_and_s_picks=4,
)
PYOCTO_TIGHT = dict(PYOCTO_SHALLOW, tolerance=0.5, pick_match_tolerance=0.5)
GAMMA_SHALLOW = dict(
    use_dbscan=True,
    method="BGMM",
    oversample_factor=4,
    dbscan_eps=25,
    dbscan_min_samples=3,
    min_picks_per_eq=10,
    min_p_picks_per_eq=2,
    min_s_picks_per_eq=2,
    max_sigma11=2.0,
    max_sigma22=1.0,
    max_sigma12=1.0,
)
PEERS = {
    "pyocto": ("pyocto", PYOCTO_SHALLOW),
    "pyocto-tight": ("pyocto", PYOCTO_TIGHT),
    "gamma": ("gamma", GAMMA_SHALLOW),
}


def homogeneous_table(vp=VP, vs=VS, max_distance_km=400.0, max_depth_km=50.0) -> TravelTimeTable:
    dist = np.arange(0.0, max_distance_km + 1.0, 1.0)
    dep = np.arange(0.0, max_depth_km + 1.0, 1.0)
    r = np.hypot(*np.meshgrid(dist, dep))
    return TravelTimeTable(
        ("P", "S"),
        dist,
        dep,
        np.stack([r / vp, r / vs]).astype(np.float32),
        {"P": vp, "S": vs},
        f"homogeneous vp={vp} vs={vs}",
    )


@functools.lru_cache(maxsize=None)
def make_case(name: str) -> synthetic.SyntheticCatalogue:
    if name.endswith("-head"):
        base = name[: -len("-head")]
        return make_case(base).head(3600.0 * HEAD_HOURS[base])
    c = CASES[name]
    return synthetic.catalogue(
        50,
        c["n_events"],
        duration_s=c["duration_s"],
        cluster=c["cluster"],
        seed=c["seed"],
        travel_time=synthetic.homogeneous_travel_time(VP, VS),
        **BOX,
    )


def export_case(cat: synthetic.SyntheticCatalogue, folder: Path, peer_config: dict) -> Path:
    """Write the catalogue as the .npz/JSON files association_peers.py reads."""
    folder.mkdir(parents=True, exist_ok=True)
    st = cat.stations
    np.savez(
        folder / "stations.npz",
        id=st.station.astype(str),
        x_km=st.x_km,
        y_km=st.y_km,
        elevation_m=st.elevation_m,
    )
    np.savez(
        folder / "picks.npz",
        pick_idx=np.arange(len(cat.picks)),
        station=cat.picks.station.astype(str),
        phase=cat.picks.phase.astype(str),
        time=cat.pick_seconds(),
        probability=cat.picks.probability.astype(float),
    )
    (folder / "config.json").write_text(
        json.dumps(dict(SEARCH, vp=VP, vs=VS, threads=THREADS, **peer_config))
    )
    return folder


def run_peer(which: str, settings: dict, cat, folder: Path):
    """(pred_pick_event, pred_xyz, pred_time_s, seconds, timing dict) from a peer run in its own
    venv; timing has ``associate_s`` (wall) and ``cpu_s`` (CPU of the process and its workers)."""
    data = export_case(cat, folder / "data", {which: settings})
    out = folder / "out"
    proc = subprocess.run(
        [PEERS_PYTHON, str(HERE / "peers" / "association_peers.py"), which, str(data), str(out)],
        capture_output=True,
        text=True,
        env=dict(os.environ, OMP_NUM_THREADS=str(THREADS)),
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{which} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    ev = dict(np.load(out / "events.npz"))
    asg = dict(np.load(out / "assignments.npz"))
    timing = json.loads((out / "timing.json").read_text())
    ids = {int(e): i for i, e in enumerate(ev["event_idx"])}
    pred = np.full(len(cat.picks), -1, np.int64)
    pred[np.asarray(asg["pick_idx"], int)] = [ids[int(e)] for e in asg["event_idx"]]
    xyz = np.c_[ev["x"], ev["y"], ev["z"]].astype(float).reshape(-1, 3)
    return pred, xyz, np.asarray(ev["time"], float), float(timing["associate_s"]), timing


def score(cat, pred, xyz, t):
    return synthetic.score(
        cat.pick_event,
        pred,
        n_true_events=len(cat.events),
        n_pred_events=len(xyz),
        true_xyz=np.c_[cat.events.x_km, cat.events.y_km, cat.events.depth_km],
        pred_xyz=xyz,
        true_time_s=cat.event_seconds(),
        pred_time_s=t,
    )


def run_seiscore(cat, workers=THREADS):
    res = associate(
        cat.picks, cat.stations, homogeneous_table(), **dict(SEISCORE_CONFIG, workers=workers)
    )
    ev = res.events
    t = (ev.time - cat.starttime) / np.timedelta64(1, "ns") * 1e-9
    return res, np.c_[ev.x_km, ev.y_km, ev.depth_km], t


def _peer_available() -> bool:
    return Path(PEERS_PYTHON).exists()


RUNS = [
    *[
        (case, impl)
        for case in CASES
        for impl in ("seiscore", "seiscore-1w", "pyocto", "pyocto-tight")
    ],
    *[
        (f"{case}-head", impl)
        for case in CASES
        for impl in ("seiscore", "pyocto", "pyocto-tight", "gamma")
    ],
]


@pytest.mark.parametrize(("case", "impl"), RUNS)
def test_association(benchmark, tmp_path, case, impl):
    cat = make_case(case)
    n = len(cat.picks)
    benchmark.group = f"associate[{case}]"
    benchmark.extra_info.update(
        case=case,
        impl=impl,
        n_picks=n,
        n_events_true=len(cat.events),
        n_false_picks=int((cat.pick_event < 0).sum()),
        threads=1 if impl == "seiscore-1w" else THREADS,
    )
    if impl.startswith("seiscore"):
        holder = {}
        workers = 1 if impl == "seiscore-1w" else THREADS

        def fn():
            holder["r"] = run_seiscore(cat, workers)

        benchmark.pedantic(fn, rounds=3, iterations=1, warmup_rounds=0)
        res, xyz, t = holder["r"]
        metrics = score(cat, res.event_id, xyz, t)
        seconds = benchmark.stats.stats.median
        benchmark.extra_info.update(
            {
                k: res.stats[k]
                for k in ("n_blocks", "n_seeds", "n_screened", "n_refined", "n_rejected")
            }
        )
    else:
        if not _peer_available():
            pytest.skip(f"peer environment not found: {PEERS_PYTHON}")
        which, settings = PEERS[impl]
        holder = {}

        def fn():
            holder["r"] = run_peer(which, settings, cat, tmp_path)

        benchmark.pedantic(fn, rounds=1, iterations=1, warmup_rounds=0)
        pred, xyz, t, seconds, timing = holder["r"]
        benchmark.extra_info["cpu_s"] = timing.get("cpu_s")
        metrics = score(cat, pred, xyz, t)
    benchmark.extra_info.update(associate_s=seconds, picks_per_s=n / seconds, **metrics)
    assert metrics["n_pred"] > 0


# ------------------------------------------------------------------------------ real data


def italy_picks():
    """REAL's PhaseNet picks of 2016-10-14 (sample indices at 100 Hz from t0) as Picks."""
    import pandas as pd

    from seiscore.containers import Picks

    df = pd.read_csv(SHARED / "real_italy" / "Pick_PhaseNet" / "results" / "picks.csv", sep="\t")
    cols = {k: [] for k in ("network", "station", "phase", "time", "probability")}
    for _, r in df.iterrows():
        *_, net, sta, _ = r["fname"].split("_")
        t0 = np.datetime64(r["t0"], "ns")
        for ph, ci, cp in (("P", "p_idx", "p_prob"), ("S", "s_idx", "s_prob")):
            idx = np.array(json.loads(r[ci]), dtype=np.int64)
            cols["time"].append(t0 + (idx * 10_000_000).astype("timedelta64[ns]"))
            cols["probability"].append(np.array(json.loads(r[cp]), dtype=np.float32))
            for k, v in (("network", net), ("station", sta), ("phase", ph)):
                cols[k].append(np.full(len(idx), v, dtype=object))
    d = {k: np.concatenate(v) for k, v in cols.items()}
    n = len(d["time"])
    return Picks(
        network=d["network"],
        station=d["station"],
        location=np.full(n, "", dtype=object),
        phase=d["phase"],
        time=d["time"],
        probability=d["probability"],
        amplitude=np.full(n, np.nan, np.float32),
        snr=np.full(n, np.nan, np.float32),
    )


ITALY_CONFIG = dict(zlim=(0.0, 25.0), tolerance_s=1.0, unknown_stations="skip", workers=THREADS)


def test_italy_day(benchmark):
    """The real Amatrice–Norcia day: read picks, stations and the 1-D model, build the tables,
    associate (all inside the timing)."""
    root = SHARED / "real_italy"
    if not root.exists():
        pytest.skip(f"shared data not available: {root}")
    from seiscore import traveltime
    from seiscore.io.stations import read_stations

    picks = italy_picks()
    stations = read_stations(root / "Data" / "station.dat")
    holder = {}

    def fn():
        model = traveltime.VelocityModel.from_file(root / "tt_db" / "itvel.nd")
        holder["r"] = associate(picks, stations, model, **ITALY_CONFIG)

    benchmark.group = "associate[italy]"
    benchmark.pedantic(fn, rounds=3, iterations=1, warmup_rounds=0)
    res = holder["r"]
    ev = res.events
    benchmark.extra_info.update(
        case="italy",
        impl="seiscore",
        n_picks=len(picks),
        n_stations=len(stations),
        associate_s=benchmark.stats.stats.median,
        picks_per_s=len(picks) / benchmark.stats.stats.median,
        n_events=len(ev),
        n_associated=res.stats["n_associated"],
        n_unassociated=res.stats["n_unassociated"],
        median_rms_s=float(np.median(ev.rms_s)),
        median_picks_per_event=float(np.median(ev.n_p + ev.n_s)),
        median_depth_km=float(np.median(ev.depth_km)),
    )
    assert len(ev) > 1000


# ------------------------------------------------------------------------------------ report


def report(path) -> str:
    """Markdown tables from a pytest-benchmark JSON of this file."""
    data = json.loads(Path(path).read_text())
    rows = [
        "| case | associator | picks | time (s) | picks/s | precision | recall | F1 "
        "| pick prec. | pick rec. | loc. error (km) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    synth = [b for b in data["benchmarks"] if b["extra_info"].get("case") != "italy"]
    for b in sorted(synth, key=lambda b: (b["extra_info"]["case"], b["extra_info"]["impl"])):
        e = b["extra_info"]
        rows.append(
            f"| {e['case']} | {e['impl']} | {e['n_picks']:,} | {e['associate_s']:.2f} "
            f"| {e['picks_per_s']:,.0f} | {e['precision']:.3f} | {e['recall']:.3f} "
            f"| {e['f1']:.3f} | {e['pick_precision']:.3f} | {e['pick_recall']:.3f} "
            f"| {e.get('location_error_km', float('nan')):.2f} |"
        )
    for b in data["benchmarks"]:
        e = b["extra_info"]
        if e.get("case") == "italy":
            rows += [
                "",
                f"italy: {e['n_picks']:,} picks at {e['n_stations']} stations -> "
                f"{e['n_events']:,} events, "
                f"{e['n_associated']:,} picks associated, {e['n_unassociated']:,} not; "
                f"{e['associate_s']:.2f} s ({e['picks_per_s']:,.0f} picks/s); median RMS "
                f"{e['median_rms_s']:.3f} s, median {e['median_picks_per_event']:.0f} picks "
                "per event, "
                f"median depth {e['median_depth_km']:.1f} km",
            ]
    return "\n".join(rows)


if __name__ == "__main__":  # pragma: no cover
    print(report(sys.argv[1]))
