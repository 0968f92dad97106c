"""Pick-extraction benchmark: seiscore.picking.extract_picks vs a scipy.signal.find_peaks loop.

Run from the repository root:

    python -m pytest bench/test_picking.py --benchmark-only --benchmark-json=out.json
    python bench/report.py out.json

Workloads (synthetic, PhaseNet-like probabilities, reproducible from a seeded rng):

* ``day``:   one station-day of P and S probabilities at 100 Hz, shape [1, 2, 8_640_000]
* ``batch``: 1000 traces x 2 phases x 30_000 samples (e.g. 1000 five-minute windows)

Both are picked with height=0.3 and distance=100 samples (1 s at 100 Hz) for both phases.
Implementations: seiscore with all cores (``workers=None``), seiscore with ``workers=1``, and
the reference, a Python loop over traces and phases calling ``scipy.signal.find_peaks``.
Before timing, each benchmark checks that seiscore's pick indices equal SciPy's.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
import scipy.signal

from seiscore.picking import extract_picks

SAMPLING_RATE = 100.0  # Hz
HEIGHT = 0.3
DISTANCE = 100  # samples (1 s at 100 Hz)

# name -> (n_traces, n_phases, n_samples, seed)
WORKLOADS = {
    "day": (1, 2, 8_640_000, 20261121),
    "batch": (1000, 2, 30_000, 20261122),
}

# Rounds per implementation (each round is one full call over the workload). Sized so that the
# whole file runs in well under two minutes on a 2-core machine.
ROUNDS = {
    ("day", "seiscore"): 30,
    ("day", "seiscore-1w"): 20,
    ("day", "scipy-loop"): 7,
    ("batch", "seiscore"): 20,
    ("batch", "seiscore-1w"): 10,
    ("batch", "scipy-loop"): 5,
}


def synthetic_probabilities(
    n_traces: int,
    n_phases: int,
    n_samples: int,
    seed: int,
    *,
    sampling_rate: float = SAMPLING_RATE,
    event_interval_s: float = 120.0,
) -> np.ndarray:
    """PhaseNet-like phase probabilities, float32 ``[n_traces, n_phases, n_samples]``.

    * Background: a low, smooth, slightly noisy level between ~1e-4 and ~1e-2 (log-normal
      around 1e-3: a slow drift plus short-correlated wiggles), so it has many small local
      maxima (about one every 6 samples), as real picker outputs do.
    * Events: a Poisson process with one event per ``event_interval_s`` on average. Each event
      has a P bump at time t0 and, on phase 1, an S bump 2-15 s later; each bump is a Gaussian
      with sigma uniform in [10, 30] samples and peak height uniform in [0.05, 1]. A bump b is
      mixed in as ``b + (1 - b) * background`` so values stay in [0, 1] with no clipping.
    """
    rng = np.random.default_rng(seed)
    shape = (n_traces, n_phases, n_samples)
    # Short-correlated wiggles: white noise smoothed with a 5-tap binomial kernel, std 0.2
    # (in log10 units).
    w = rng.standard_normal(shape, dtype=np.float32)
    k = np.array([1, 4, 6, 4, 1], dtype=np.float32) * np.float32(0.2 / np.sqrt(70.0))
    z = k[2] * w
    for j, kj in ((1, k[1]), (2, k[0])):
        z[..., j:] += kj * w[..., :-j]
        z[..., :-j] += kj * w[..., j:]
    del w
    # Slow drift of the level: a mean-reverting AR(1) process sampled every 10 s (std 0.35,
    # correlation time ~100 s), linearly interpolated.
    step = int(10 * sampling_rate)
    n_knots = n_samples // step + 2
    a = 0.9
    innov = rng.normal(0.0, 0.35 * np.sqrt(1 - a * a), (n_traces, n_phases, n_knots))
    innov[..., 0] = rng.normal(0.0, 0.35, (n_traces, n_phases))
    knots = scipy.signal.lfilter([1.0], [1.0, -a], innov, axis=-1)
    knots = np.clip(knots, -0.8, 0.8).astype(np.float32)
    t = np.arange(n_samples, dtype=np.float32) / np.float32(step)
    i0 = t.astype(np.int64)
    frac = t - i0
    drift = knots[..., i0] * (1 - frac) + knots[..., i0 + 1] * frac
    # log10(background) = -3 + drift + wiggles -> ~1e-4 .. 1e-2
    z += drift
    z -= np.float32(3.0)
    z *= np.float32(np.log(10.0))
    prob = np.exp(z, out=z)
    del drift

    # Events.
    sig_max = 30
    half = 4 * sig_max
    for tr in range(n_traces):
        n_ev = rng.poisson(n_samples / (event_interval_s * sampling_rate))
        t0 = rng.uniform(0, n_samples, n_ev)
        s_delay = rng.uniform(2.0, 15.0, n_ev) * sampling_rate
        for ph in range(n_phases):
            centres = t0 if ph == 0 else t0 + s_delay
            sig = rng.uniform(10.0, 30.0, n_ev)
            amp = rng.uniform(0.05, 1.0, n_ev)
            x = prob[tr, ph]
            for c, s, a in zip(centres, sig, amp, strict=True):
                lo, hi = max(0, int(c) - half), min(n_samples, int(c) + half + 1)
                if lo >= hi:
                    continue
                b = a * np.exp(-0.5 * ((np.arange(lo, hi) - c) / s) ** 2)
                x[lo:hi] = b + (1.0 - b) * x[lo:hi]
    return prob


@functools.cache
def workload(name: str) -> np.ndarray:
    return synthetic_probabilities(*WORKLOADS[name])


def scipy_loop(prob: np.ndarray) -> list[list[np.ndarray]]:
    """The reference: scipy.signal.find_peaks per trace and phase."""
    n_traces, n_phases, _ = prob.shape
    return [
        [
            scipy.signal.find_peaks(prob[t, p], height=HEIGHT, distance=DISTANCE)[0]
            for p in range(n_phases)
        ]
        for t in range(n_traces)
    ]


def seiscore_picks(prob: np.ndarray, workers: int | None):
    return extract_picks(prob, method="peaks", height=HEIGHT, distance=DISTANCE, workers=workers)


def check_same_as_scipy(prob: np.ndarray, picks, reference) -> None:
    n_traces, n_phases, _ = prob.shape
    series = [(t, p) for t in range(n_traces) for p in range(n_phases)]
    ref_trace = np.concatenate([np.full(len(reference[t][p]), t) for t, p in series])
    ref_phase = np.concatenate([np.full(len(reference[t][p]), p) for t, p in series])
    ref_index = np.concatenate([reference[t][p] for t, p in series])
    assert len(ref_index) > 0
    np.testing.assert_array_equal(picks.trace, ref_trace)
    np.testing.assert_array_equal(picks.phase, ref_phase)
    np.testing.assert_array_equal(picks.index, ref_index)
    np.testing.assert_array_equal(picks.probability, prob[ref_trace, ref_phase, ref_index])


IMPLEMENTATIONS = {
    "seiscore": lambda prob: seiscore_picks(prob, None),
    "seiscore-1w": lambda prob: seiscore_picks(prob, 1),
    "scipy-loop": scipy_loop,
}


@pytest.mark.parametrize("impl", list(IMPLEMENTATIONS))
@pytest.mark.parametrize("name", list(WORKLOADS))
def test_extract_picks(benchmark, name, impl):
    prob = workload(name)
    n_traces, n_phases, n_samples = prob.shape
    reference = scipy_loop(prob)
    picks = seiscore_picks(prob, None if impl == "seiscore" else 1)
    check_same_as_scipy(prob, picks, reference)

    benchmark.group = f"extract_picks[{name}]"
    benchmark.extra_info.update(
        workload=name,
        implementation=impl,
        n_traces=n_traces,
        n_phases=n_phases,
        n_samples=n_samples,
        bytes=int(prob.nbytes),
        n_picks=int(len(picks.index)),
        height=HEIGHT,
        distance=DISTANCE,
    )
    fn = IMPLEMENTATIONS[impl]
    benchmark.pedantic(fn, args=(prob,), rounds=ROUNDS[name, impl], iterations=1, warmup_rounds=1)
