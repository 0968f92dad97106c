"""How the default significance threshold of ``seiscore.association`` was chosen (issue 13).

The default ``min_significance`` is ``log10(trials per hour) + SIGNIFICANCE_MARGIN`` (see
``seiscore.association.config.default_min_significance``). This script runs synthetic
scenarios only — dense and sparse networks, quiet and aftershock-like event rates, 0–50 % false
picks, pure noise — with the threshold at ``log10(trials) + margin`` for several margins, the
threshold inside the search (as in use), and reports per margin: F1 and recall against the
truth, and the null-test rate (two seeded 30-min windows of station-shifted picks) as a
percentage of the true event rate; for pure noise, events per hour. No real data set enters.

    python bench/association_tuning.py [SCENARIO ...] [--margins -0.5,0,0.5,1] > tuning.md

Scenarios (``seiscore.synthetic``, homogeneous vp 6.3, vs 3.7 km/s, 0.1 s timing noise):

* ``day-f50``: 50 stations, 200 x 200 km, 2000 events/day (6 h), 50 % false picks, the
  benchmark's acceptance (>= 10 picks, >= 4 stations with P and S, tolerance 0.5 s);
* ``dense-f10``, ``dense-f50``: the same network, 10,000 events/day in a cloud (1 h), 10 % and
  50 % false picks;
* ``dense-defaults-f10``, ``dense-defaults-f50``: the dense case with ``associate()``'s own
  defaults (>= 8 picks, >= 2 stations with both, tolerance 1 s) and events as weak as that;
* ``sparse-f50``: 16 stations in 120 x 120 km, 1000 events/day (6 h), defaults, 50 % false;
* ``sparse-dense-f10``: 16 stations, 5000 events/day in a cloud (1 h), defaults;
* ``noise``: Poisson picks at the dense case's rate (430 per station and hour), no events, 1 h,
  the benchmark's acceptance.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from seiscore import synthetic
from seiscore.association import associate
from seiscore.association.config import SIGNIFICANCE_MARGIN
from seiscore.containers import TravelTimeTable

VP, VS = 6.3, 3.7
BENCH = dict(tolerance_s=0.5, min_picks=10, min_p=2, min_s=2, min_p_and_s=4)
BOX = dict(xlim=(-110, 110), ylim=(-110, 110), zlim=(0, 30))
TT = synthetic.homogeneous_travel_time(VP, VS)
CLOUD = (0, 0, 10, 10, 4)


def table() -> TravelTimeTable:
    dist = np.arange(0.0, 401.0)
    dep = np.arange(0.0, 51.0)
    r = np.hypot(*np.meshgrid(dist, dep))
    return TravelTimeTable(
        ("P", "S"), dist, dep, np.stack([r / VP, r / VS]).astype(np.float32), {"P": VP, "S": VS}
    )


def _dense(false, seed, **kw):
    return synthetic.catalogue(
        50, 417, duration_s=3600.0, cluster=CLOUD, false_fraction=false, seed=seed,
        travel_time=TT, **kw,
    )  # fmt: skip


def _sparse(n_events, hours, false, seed, cluster=None):
    return synthetic.catalogue(
        16, n_events, duration_s=3600.0 * hours, xlim=(-60, 60), ylim=(-60, 60), zlim=(0, 20),
        cluster=cluster, radius_a_km=60.0, radius_b_km=40.0, min_picks=8, min_p_and_s=2,
        false_fraction=false, seed=seed, travel_time=TT,
    )  # fmt: skip


SCENARIOS = {
    "day-f50": lambda: (
        synthetic.catalogue(
            50, 500, duration_s=6 * 3600.0, false_fraction=0.5, seed=11, travel_time=TT
        ),
        dict(BENCH, **BOX),
    ),  # fmt: skip
    "dense-f10": lambda: (_dense(0.1, 12), dict(BENCH, **BOX)),
    "dense-f50": lambda: (_dense(0.5, 12), dict(BENCH, **BOX)),
    "dense-defaults-f10": lambda: (_dense(0.1, 14, min_picks=8, min_p_and_s=2), dict(BOX)),
    "dense-defaults-f50": lambda: (_dense(0.5, 14, min_picks=8, min_p_and_s=2), dict(BOX)),
    "sparse-f50": lambda: (_sparse(250, 6, 0.5, 13), dict(zlim=(0, 20))),
    "sparse-dense-f10": lambda: (_sparse(208, 1, 0.1, 15, (0, 0, 8, 6, 3)), dict(zlim=(0, 20))),
}


def run_scenario(name: str, margins) -> list[str]:
    cat, kw = SCENARIOS[name]()
    hours = cat.config["duration_s"] / 3600.0
    true_rate = len(cat.events) / hours
    tab = table()
    first = cat.picks.select(np.arange(50))  # the threshold depends on the settings, not picks
    base = associate(first, cat.stations, tab, **kw).config["min_significance"]
    base -= SIGNIFICANCE_MARGIN
    rows = []
    for m in margins:
        t = time.perf_counter()
        res = associate(
            cat.picks, cat.stations, tab, min_significance=base + m, null_test=2,
            null_test_window_s=1800.0, **kw,
        )  # fmt: skip
        sc = synthetic.score(cat.pick_event, res.event_id, n_true_events=len(cat.events))
        null = res.null_test
        rows.append(
            f"| {name} | {m:+.1f} | {base + m:.2f} | {len(cat.events)} | {sc['f1']:.3f} "
            f"| {sc['recall']:.3f} | {null.events_per_hour:.1f} "
            f"| {100 * null.events_per_hour / true_rate:.2f} % "
            f"| {time.perf_counter() - t:.0f} |"
        )
        print(rows[-1], file=sys.stderr, flush=True)
    return rows


def run_noise(margins, hours: float = 1.0) -> list[str]:
    st = synthetic.network(50, xlim=(-100, 100), ylim=(-100, 100), seed=5)
    picks = synthetic.noise_picks(st, 430.0, duration_s=3600.0 * hours, seed=1)
    kw = dict(BENCH, **BOX)
    tab = table()
    base = associate(picks.select(np.arange(50)), st, tab, **kw).config["min_significance"]
    base -= SIGNIFICANCE_MARGIN
    rows = []
    for m in margins:
        t = time.perf_counter()
        res = associate(picks, st, tab, min_significance=base + m, **kw)
        rows.append(
            f"| noise | {m:+.1f} | {base + m:.2f} | 0 | | | {len(res.events) / hours:.1f} | "
            f"| {time.perf_counter() - t:.0f} |"
        )
        print(rows[-1], file=sys.stderr, flush=True)
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scenarios", nargs="*", default=[*SCENARIOS, "noise"])
    ap.add_argument("--margins", default="-0.5,0,0.5,1")
    args = ap.parse_args(argv)
    margins = [float(m) for m in args.margins.split(",")]
    out = [
        "| scenario | margin | threshold | true events | F1 | recall | null events/h "
        "| null / true rate | time (s) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in args.scenarios:
        out += run_noise(margins) if name == "noise" else run_scenario(name, margins)
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
