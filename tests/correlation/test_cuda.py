"""The CUDA twin of the correlation kernels (whitening, cross-spectra and their frequency-domain
stack, on spectra computed on the CPU) against the C++ kernels. Runs only where a CUDA device is
visible (the ``cuda`` marker); the last test checks the message where none is."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.fft

from seiscore import BackendUnavailable, _core
from seiscore import correlation as corr
from seiscore._backend import cuda_available

from .reference import PREP, make_waveforms


def _cuda():
    from seiscore import _cuda

    return _cuda.correlation


def _spectra(rng, rows=7, n=900, nfft=1000):
    x = rng.standard_normal((rows, n)).astype(np.float32)
    return scipy.fft.rfft(x, n=nfft, axis=1).astype(np.complex64), nfft


@pytest.mark.cuda
@pytest.mark.parametrize(("whiten", "smooth"), [(False, 0), (True, 0), (True, 5)])
def test_condition_spectra_parity(rng, whiten, smooth):
    spec, nfft = _spectra(rng)
    shift = rng.uniform(-0.2, 0.2, spec.shape[0])
    band = np.array([0.5, 1.0, 6.0, 8.0])
    cpu, gpu = spec.copy(), spec.copy()
    kw = dict(nfft=nfft, df=20.0 / nfft, whiten=whiten, band=band, smooth_bins=smooth, shift=shift)
    e_cpu = _core.correlation.condition_spectra(cpu, **kw)
    e_gpu = _cuda().condition_spectra(gpu, **kw)
    np.testing.assert_allclose(gpu, cpu, atol=1e-5 * np.abs(cpu).max())
    np.testing.assert_allclose(e_gpu, e_cpu, rtol=1e-5)


@pytest.mark.cuda
def test_cross_spectra_parity(rng):
    spec, _ = _spectra(rng, rows=10)
    a = rng.integers(0, 10, 60).astype(np.int64)
    b = rng.integers(0, 10, 60).astype(np.int64)
    w = rng.uniform(0.5, 2.0, 60).astype(np.float32)
    out_index = rng.integers(0, 8, 60).astype(np.int64)
    for args in ((w, out_index, 8), (w, None, 60), (None, None, -1)):
        cpu = _core.correlation.cross_spectra(spec, a, b, *args)
        gpu = _cuda().cross_spectra(spec, a, b, *args)
        np.testing.assert_allclose(gpu, cpu, atol=1e-5 * np.abs(cpu).max())
    strided = np.zeros((10, 600), np.complex64)
    strided[:, :501] = spec
    np.testing.assert_allclose(
        _cuda().cross_spectra(strided[:, :501], a, b, w, out_index, 8),
        _core.correlation.cross_spectra(spec, a, b, w, out_index, 8),
        rtol=1e-5,
        atol=1e-4,
    )


@pytest.mark.cuda
def test_correlate_on_cuda_equals_cpu():
    ws = make_waveforms(3, hours=1.0)
    kw = dict(
        window_s=600, max_lag_s=3.0, components="all", whiten=True, stack=("linear", "pws"), **PREP
    )
    cpu = corr.correlate(ws, device="cpu", **kw)
    gpu = corr.correlate(ws, device="cuda", **kw)
    assert gpu.attrs["device"] == "cuda"
    for v in ("ccf_linear", "ccf_pws", "daily_linear"):
        np.testing.assert_allclose(gpu[v], cpu[v], atol=2e-5)
    np.testing.assert_array_equal(gpu.n_windows, cpu.n_windows)


@pytest.mark.skipif(cuda_available(), reason="a CUDA device is visible")
def test_cuda_request_without_device_is_explained():
    ws = make_waveforms(2, hours=0.5, components=("Z",))
    with pytest.raises(BackendUnavailable, match="CUDA"):
        corr.correlate(ws, window_s=600, max_lag_s=1.0, device="cuda")
