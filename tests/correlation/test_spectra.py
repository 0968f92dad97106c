"""whiten_spectra(), the cross-spectrum kernel and cross_correlate() against NumPy / SciPy /
ObsPy, and properties of the correlation (symmetry, time reversal, delays)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.fft

from seiscore import InputError, _core
from seiscore import correlation as corr
from seiscore.correlation.spectra import _whiten_band

from .reference import FS, ref_whiten, ref_xcorr

# ------------------------------------------------------------------ spectra


@pytest.mark.parametrize(
    ("band", "smooth_hz", "shift"),
    [((0.5, 6.0), 0.0, False), ((0.2, 0.5, 4.0, 7.0), 0.3, True), (None, 0.0, True)],
)
def test_whiten_spectra_matches_numpy(rng, band, smooth_hz, shift):
    nfft = 1001  # odd: no Nyquist bin
    x = rng.standard_normal((4, 900)).astype(np.float32)
    spec = scipy.fft.rfft(x, n=nfft, axis=1).astype(np.complex64)
    sh = rng.uniform(-0.1, 0.1, 4) if shift else None
    band4 = _whiten_band(band, FS) if band is not None else None
    smooth = int(round(smooth_hz / (FS / nfft) / 2))
    ref, ref_e = ref_whiten(spec, FS, nfft, band4, smooth, sh)
    energy = corr.whiten_spectra(spec, FS, nfft, band=band, smooth_hz=smooth_hz, shift_s=sh)
    np.testing.assert_allclose(spec, ref, atol=2e-5 * np.abs(ref).max())
    np.testing.assert_allclose(energy, ref_e, rtol=1e-5)


def test_whiten_energy_is_parseval(rng):
    for nfft in (1000, 1001):
        x = rng.standard_normal((3, 800)).astype(np.float32)
        spec = scipy.fft.rfft(x, n=nfft, axis=1).astype(np.complex64)
        energy = corr.whiten_spectra(spec, FS, nfft)
        np.testing.assert_allclose(energy, (x.astype(np.float64) ** 2).sum(axis=1), rtol=1e-5)


def test_whiten_spectra_bad_input(rng):
    spec = np.zeros((2, 51), np.complex128)
    with pytest.raises(InputError, match="complex64"):
        corr.whiten_spectra(spec, FS, 100)
    with pytest.raises(InputError, match="bins"):
        corr.whiten_spectra(spec.astype(np.complex64), FS, 90)
    with pytest.raises(InputError, match="whitening band"):
        corr.whiten_spectra(spec.astype(np.complex64), FS, 100, band=(5.0, 2.0))
    with pytest.raises(ValueError, match="whitening band"):
        _core.correlation.condition_spectra(
            spec.astype(np.complex64),
            nfft=100,
            df=0.2,
            whiten=True,
            band=np.array([1.0, 0.5, 2.0, 3.0]),
            smooth_bins=0,
        )


def test_cross_spectra_sum_matches_numpy(rng):
    spec = (rng.standard_normal((6, 300)) + 1j * rng.standard_normal((6, 300))).astype(np.complex64)
    a = rng.integers(0, 6, 40).astype(np.int64)
    b = rng.integers(0, 6, 40).astype(np.int64)
    w = rng.uniform(0.5, 2, 40).astype(np.float32)
    out_index = rng.integers(0, 5, 40).astype(np.int64)
    out_index[out_index == 3] = 2  # output 3 gets no term: zeros
    got = _core.correlation.cross_spectra(spec, a, b, w, out_index, 5, 2)
    ref = np.zeros((5, 300), np.complex128)
    np.add.at(ref, out_index, w[:, None] * np.conj(spec[a]).astype(np.complex128) * spec[b])
    np.testing.assert_allclose(got, ref, atol=1e-4)
    assert not got[3].any()
    per_term = _core.correlation.cross_spectra(spec, a, b, w)
    np.testing.assert_allclose(
        per_term, w[:, None] * np.conj(spec[a]) * spec[b], rtol=1e-6, atol=1e-6
    )
    with pytest.raises(ValueError, match="row index out of range"):
        _core.correlation.cross_spectra(spec, a + 6, b)
    with pytest.raises(ValueError, match="output index"):
        _core.correlation.cross_spectra(spec, a, b, w, out_index, 2)


# ------------------------------------------------------------------ correlation properties


def test_cross_correlate_matches_direct_and_obspy(rng):
    from obspy.signal.cross_correlation import correlate as obspy_correlate

    a = rng.standard_normal((3, 500)).astype(np.float32)
    b = rng.standard_normal((3, 500)).astype(np.float32)
    got = corr.cross_correlate(a, b, 40, normalize="none")
    for r in range(3):
        np.testing.assert_allclose(
            got[r], ref_xcorr(a[r].astype(float), b[r].astype(float), 40), atol=1e-3
        )
    coef = corr.cross_correlate(a, b, 40)
    for r in range(3):
        ref = obspy_correlate(
            b[r].astype(float), a[r].astype(float), 40, demean=False, normalize="naive"
        )
        np.testing.assert_allclose(coef[r], ref, atol=2e-6)


def test_autocorrelation_is_symmetric_and_one_at_zero(rng):
    a = rng.standard_normal((4, 700)).astype(np.float32)
    ac = corr.cross_correlate(a, a, 60)
    np.testing.assert_allclose(ac, ac[:, ::-1], atol=1e-6)
    np.testing.assert_allclose(ac[:, 60], 1.0, atol=1e-6)
    assert np.all(np.abs(ac) <= 1 + 1e-6)


def test_time_reversal(rng):
    a = rng.standard_normal((2, 640)).astype(np.float32)
    b = rng.standard_normal((2, 640)).astype(np.float32)
    np.testing.assert_allclose(
        corr.cross_correlate(a, b, 50), corr.cross_correlate(b, a, 50)[:, ::-1], atol=1e-6
    )


@pytest.mark.parametrize("delay", [-17, 0, 5, 33])
def test_delayed_copy_found_at_its_lag(rng, delay):
    src = rng.standard_normal(2000).astype(np.float32)
    a = src[100:1100]
    b = src[100 - delay : 1100 - delay]  # b(t) = a(t - delay): b is later by `delay` samples
    cc = corr.cross_correlate(a, b, 50)
    assert np.argmax(cc) - 50 == delay
    assert cc.max() > 0.95


def test_cross_correlate_bad_input(rng):
    a = rng.standard_normal((2, 100)).astype(np.float32)
    with pytest.raises(InputError, match="same number of rows"):
        corr.cross_correlate(a, a[:1], 5)
    with pytest.raises(InputError, match="max_lag"):
        corr.cross_correlate(a, a, -1)
    bad = a.copy()
    bad[0, 3] = np.nan
    with pytest.raises(InputError, match="NaN"):
        corr.cross_correlate(bad, a, 5)
    with pytest.raises(InputError, match="wrap"):
        corr.cross_correlate(a, a, 50, nfft=120)
