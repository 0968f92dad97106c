"""Noise-correlation benchmark: seiscore.correlation against a NumPy/SciPy implementation of the
same algorithm, in the same run.

    python -m pytest bench/test_correlation.py --benchmark-only --benchmark-json=corr.json
    python bench/test_correlation.py corr.json          # Markdown table

Workload (synthetic, seeded): 20 stations x 1 day at 20 Hz (Z), 1-hour windows (24 per station),
all 190 pairs, lags -100..100 s, linear stack. Processing (both implementations): linear detrend,
5 % Hann taper, 4-pole zero-phase Butterworth band-pass 0.1-5 Hz, one-bit normalisation, rfft
once per station window (nfft = next fast length >= window + max lag), phase-only whitening over
0.1-5 Hz with cosine ramps, cross-spectrum per pair and window, correlation coefficients, mean
over windows.

Groups:

* ``pipeline``: the whole job from the 20 day records to the 190 stacked CCFs:
  ``seiscore.correlation.correlate`` (all cores; and ``workers=1``) against ``numpy_pipeline``.
* ``stack``: from the conditioned spectra (480 rows) and their energies to the 190 stacked CCFs:
  seiscore's C++ frequency-domain stack (one inverse FFT per pair) against the straightforward
  NumPy loop over pairs (multiply the 24 window spectra, inverse FFT each, normalise, mean).
* ``cuda``: the same ``stack`` step with the spectra on the GPU path (pair-windows per second);
  skipped without a CUDA device.

Before timing, each benchmark checks that seiscore's result equals the reference's (max abs
difference < 1e-4 on coefficients). The NumPy reference uses ``scipy.fft`` with
``workers=-1`` (all cores) and float32 data, so it is not slowed down artificially.
"""

from __future__ import annotations

import functools
import json
import sys

import numpy as np
import pytest
import scipy.fft
import scipy.signal

FS = 20.0
N_STATIONS = 20
WINDOW_S = 3600.0
MAX_LAG_S = 100.0
FREQMIN, FREQMAX = 0.1, 5.0
SEED = 20261121
REF_FFT_WORKERS = -1  # the reference's scipy.fft threads (all cores)

ROUNDS = {
    ("pipeline", "seiscore"): 5,
    ("pipeline", "seiscore-1w"): 3,
    ("pipeline", "numpy"): 2,
    ("stack", "seiscore"): 10,
    ("stack", "seiscore-1w"): 5,
    ("stack", "numpy"): 2,
    ("cuda", "seiscore-cuda"): 10,
}


@functools.cache
def day_records():
    """[20, 1 day] float32: a common random source arriving with station-dependent delays, plus
    local noise (so that the CCFs have a peak)."""
    rng = np.random.default_rng(SEED)
    n = int(86400 * FS)
    pad = 400
    src = rng.standard_normal(n + pad).astype(np.float32)
    delays = rng.integers(0, pad, N_STATIONS)
    out = np.empty((N_STATIONS, n), np.float32)
    for i, d in enumerate(delays):
        out[i] = src[pad - d : pad - d + n] + rng.standard_normal(n).astype(np.float32)
    return out


def waveforms():
    import obspy

    from seiscore.containers import Waveforms

    t0 = obspy.UTCDateTime(2022, 1, 2)
    return [
        Waveforms(
            "XX", f"S{i:02d}", "", "HH", t0, FS, ("Z",), day_records()[i : i + 1], np.array([True])
        )
        for i in range(N_STATIONS)
    ]


def seiscore_pipeline(ws, workers):
    from seiscore import correlation

    return correlation.correlate(
        ws,
        window_s=WINDOW_S,
        max_lag_s=MAX_LAG_S,
        freqmin=FREQMIN,
        freqmax=FREQMAX,
        temporal_norm="onebit",
        whiten=True,
        max_over_std=None,
        max_flat_s=None,
        workers=workers,
    )


# --------------------------------------------------------------- the NumPy/SciPy implementation


def _sizes():
    n_win = int(WINDOW_S * FS)
    max_lag = int(MAX_LAG_S * FS)
    nfft = scipy.fft.next_fast_len(n_win + max_lag, real=True)
    return n_win, max_lag, nfft


def _whitening_weights(nfft):
    f = np.arange(nfft // 2 + 1) * FS / nfft
    d = 0.1 * (FREQMAX - FREQMIN)
    f1, f2, f3, f4 = max(0.0, FREQMIN - d), FREQMIN, FREQMAX, min(FS / 2, FREQMAX + d)
    g = np.zeros_like(f)
    up = (f >= f1) & (f < f2)
    g[up] = 0.5 * (1 - np.cos(np.pi * (f[up] - f1) / (f2 - f1)))
    g[(f >= f2) & (f <= f3)] = 1.0
    dn = (f > f3) & (f <= f4)
    g[dn] = 0.5 * (1 - np.cos(np.pi * (f4 - f[dn]) / (f4 - f3)))
    return g.astype(np.float32)


def numpy_spectra(data):
    """Windows → processed → rfft once per window → whitened; returns spectra [st, win, nfreq]
    (complex64) and energies [st, win]."""
    n_win, _, nfft = _sizes()
    n_w = data.shape[1] // n_win
    x = data[:, : n_w * n_win].reshape(data.shape[0], n_w, n_win).astype(np.float64)
    x = scipy.signal.detrend(x, axis=-1, type="linear")
    m = int(0.05 * n_win)
    ramp = 0.5 * (1 - np.cos(np.pi * np.arange(m) / m))
    x[..., :m] *= ramp
    x[..., n_win - m :] *= ramp[::-1]
    sos = scipy.signal.butter(4, [FREQMIN, FREQMAX], btype="band", fs=FS, output="sos")
    x = scipy.signal.sosfilt(sos, x, axis=-1)
    x = scipy.signal.sosfilt(sos, x[..., ::-1], axis=-1)[..., ::-1]
    x = np.sign(x).astype(np.float32)
    spec = scipy.fft.rfft(x, n=nfft, axis=-1, workers=REF_FFT_WORKERS)
    amp = np.abs(spec)
    spec = np.divide(spec * _whitening_weights(nfft), amp, out=np.zeros_like(spec), where=amp > 0)
    w = np.full(spec.shape[-1], 2.0, np.float32)
    w[0] = 1.0
    if nfft % 2 == 0:
        w[-1] = 1.0
    energy = (np.abs(spec) ** 2 * w).sum(axis=-1, dtype=np.float64) / nfft
    return spec.astype(np.complex64), energy


def numpy_stack(spec, energy):
    """Per pair: multiply the window spectra, inverse FFT each window, normalise, mean."""
    _, max_lag, nfft = _sizes()
    n_st = spec.shape[0]
    out = []
    for i in range(n_st):
        for j in range(i + 1, n_st):
            c = scipy.fft.irfft(
                np.conj(spec[i]) * spec[j], n=nfft, axis=-1, workers=REF_FFT_WORKERS
            )
            c = np.concatenate([c[:, nfft - max_lag :], c[:, : max_lag + 1]], axis=1)
            c /= np.sqrt(energy[i] * energy[j])[:, None]
            out.append(c.mean(axis=0))
    return np.array(out)


def numpy_pipeline(data):
    spec, energy = numpy_spectra(data)
    return numpy_stack(spec, energy)


# --------------------------------------------------------------- seiscore's stack step


def seiscore_stack(spec2d, energy1d, n_w, workers, device="cpu"):
    """The frequency-domain linear stack of seiscore.correlation on given spectra."""
    from seiscore import _core

    _, max_lag, nfft = _sizes()
    n_st = spec2d.shape[0] // n_w
    ia, ib = np.triu_indices(n_st, 1)
    w_idx = np.arange(n_w)
    ra = (ia[None, :] * n_w + w_idx[:, None]).ravel()  # terms by window, then pair
    rb = (ib[None, :] * n_w + w_idx[:, None]).ravel()
    out_index = np.tile(np.arange(len(ia)), n_w).astype(np.int64)
    weight = (1.0 / np.sqrt(energy1d[ra] * energy1d[rb])).astype(np.float32)
    if device == "cuda":
        from seiscore import _cuda

        cs = _cuda.correlation.cross_spectra(spec2d, ra, rb, weight, out_index, len(ia))
    else:
        cs = _core.correlation.cross_spectra(spec2d, ra, rb, weight, out_index, len(ia), workers)
    c = scipy.fft.irfft(cs, n=nfft, axis=1, workers=-1 if workers == 0 else workers)
    return np.concatenate([c[:, nfft - max_lag :], c[:, : max_lag + 1]], axis=1) / n_w


@functools.cache
def spectra():
    spec, energy = numpy_spectra(day_records())
    n_st, n_w, nfreq = spec.shape
    return np.ascontiguousarray(spec.reshape(n_st * n_w, nfreq)), energy.reshape(-1), n_w


@functools.cache
def reference_pipeline():
    return numpy_pipeline(day_records())


@functools.cache
def reference_stack():
    spec2d, energy, n_w = spectra()
    return numpy_stack(spec2d.reshape(N_STATIONS, n_w, -1), energy.reshape(N_STATIONS, n_w))


def _extra(benchmark, group, impl, n_pairs, n_windows):
    _, max_lag, nfft = _sizes()
    benchmark.group = f"correlation[{group}]"
    benchmark.extra_info.update(
        workload=group,
        implementation=impl,
        n_stations=N_STATIONS,
        n_pairs=n_pairs,
        n_windows=n_windows,
        pair_windows=n_pairs * n_windows,
        nfft=nfft,
        n_lag=2 * max_lag + 1,
    )


@pytest.mark.parametrize("impl", ["seiscore", "seiscore-1w", "numpy"])
def test_pipeline(benchmark, impl):
    ws = waveforms()
    ref = reference_pipeline()
    if impl == "numpy":
        fn, args = numpy_pipeline, (day_records(),)
        got = ref
    else:
        workers = None if impl == "seiscore" else 1
        fn, args = seiscore_pipeline, (ws, workers)
        got = fn(*args).ccf_linear.values[:, 0]
    np.testing.assert_allclose(got, ref, atol=1e-4)
    _extra(benchmark, "pipeline", impl, ref.shape[0], 24)
    benchmark.pedantic(
        fn, args=args, rounds=ROUNDS["pipeline", impl], iterations=1, warmup_rounds=1
    )


@pytest.mark.parametrize("impl", ["seiscore", "seiscore-1w", "numpy"])
def test_stack(benchmark, impl):
    spec2d, energy, n_w = spectra()
    ref = reference_stack()
    if impl == "numpy":
        fn, args = (
            numpy_stack,
            (spec2d.reshape(N_STATIONS, n_w, -1), energy.reshape(N_STATIONS, n_w)),
        )
    else:
        fn, args = seiscore_stack, (spec2d, energy, n_w, 0 if impl == "seiscore" else 1)
    np.testing.assert_allclose(fn(*args), ref, atol=1e-4)
    _extra(benchmark, "stack", impl, ref.shape[0], n_w)
    benchmark.pedantic(fn, args=args, rounds=ROUNDS["stack", impl], iterations=1, warmup_rounds=1)


def _cuda_available() -> bool:
    from seiscore._backend import cuda_available

    return cuda_available()


@pytest.mark.cuda
@pytest.mark.skipif(not _cuda_available(), reason="no CUDA device (or seiscore built without CUDA)")
def test_stack_cuda(benchmark):
    spec2d, energy, n_w = spectra()
    ref = reference_stack()
    args = (spec2d, energy, n_w, 0, "cuda")
    np.testing.assert_allclose(seiscore_stack(*args), ref, atol=1e-4)
    _extra(benchmark, "cuda", "seiscore-cuda", ref.shape[0], n_w)
    benchmark.pedantic(
        seiscore_stack,
        args=args,
        rounds=ROUNDS["cuda", "seiscore-cuda"],
        iterations=1,
        warmup_rounds=1,
    )


# --------------------------------------------------------------- report

_LABEL = {
    "seiscore": "seiscore (all cores)",
    "seiscore-1w": "seiscore (workers=1)",
    "numpy": "NumPy/SciPy reference",
    "seiscore-cuda": "seiscore CUDA (cross-spectra + stack on GPU)",
}


def report(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    rows = [
        (b["extra_info"], b["stats"])
        for b in data["benchmarks"]
        if "pair_windows" in b.get("extra_info", {})
    ]
    ref = {i["workload"]: s["median"] for i, s in rows if i["implementation"] == "numpy"}
    lines = [
        "| step | implementation | median | pair-windows / s | speed-up vs NumPy |",
        "|---|---|---:|---:|---:|",
    ]
    for info, st in rows:
        med = st["median"]
        speed = f"{ref[info['workload']] / med:.1f}×" if info["workload"] in ref else "n/a"
        lines.append(
            f"| {info['workload']} | "
            f"{_LABEL.get(info['implementation'], info['implementation'])} | "
            f"{med:.3f} s | {info['pair_windows'] / med:,.0f} | {speed} |"
        )
    return "\n".join(lines)


def cpu_times(repeats: int = 3) -> str:
    """Single-threaded CPU time (``time.process_time``, best of ``repeats``) of both pipelines,
    with scipy.fft on one thread for the reference too: a comparison of the work done that a
    busy machine disturbs much less than wall-clock medians."""
    import time

    ws, data = waveforms(), day_records()

    def best(fn):
        out = []
        for _ in range(repeats):
            t = time.process_time()
            fn()
            out.append(time.process_time() - t)
        return min(out)

    global REF_FFT_WORKERS
    seis = best(lambda: seiscore_pipeline(ws, 1))
    REF_FFT_WORKERS = 1
    try:
        ref = best(lambda: numpy_pipeline(data))
    finally:
        REF_FFT_WORKERS = -1
    return (
        f"CPU time, one thread: seiscore {seis:.3f} s, NumPy/SciPy {ref:.3f} s, "
        f"ratio {ref / seis:.1f}x"
    )


if __name__ == "__main__":
    if sys.argv[1] == "--cpu":
        print(cpu_times())
    else:
        print(report(sys.argv[1]))
