"""preprocess() and decimate(): the time-domain steps against SciPy / ObsPy and a plain NumPy
reference, quality flags, in-place and strided use, bad input."""

from __future__ import annotations

import numpy as np
import obspy
import pytest
import scipy.signal

from seiscore import InputError, _core
from seiscore import correlation as corr

from .reference import FS, ref_preprocess

# ------------------------------------------------------------------ preprocess


@pytest.mark.parametrize(
    "kw",
    [
        dict(),
        dict(freqmin=0.2, freqmax=4.0, temporal_norm="onebit"),
        dict(freqmin=0.1, freqmax=2.0, temporal_norm="ram", ram_window_s=2.5, detrend=False),
        dict(freqmin=0.5, freqmax=8.0, corners=2, temporal_norm="clip", clip_factor=1.5, taper=0.2),
        dict(detrend=False, demean=False, taper=0.0),
    ],
)
def test_preprocess_matches_scipy(rng, kw):
    x = (rng.standard_normal((9, 3001)) * 100 + 5000 + np.arange(3001) * 0.3).astype(np.float32)
    out, status = corr.preprocess(x, FS, workers=2, **kw)
    ram_half = int(round(kw.get("ram_window_s", 0) * FS / 2))
    ref_kw = {k: v for k, v in kw.items() if k not in ("ram_window_s",)}
    ref, ref_status = ref_preprocess(x, FS, ram_half=ram_half, **ref_kw)
    np.testing.assert_array_equal(status, ref_status)
    if kw.get("temporal_norm") == "onebit":
        assert np.mean(out == ref) > 0.9999  # signs agree except for float32 rounding near zero
    else:
        scale = np.abs(ref).max()
        np.testing.assert_allclose(out, ref, atol=2e-5 * scale, rtol=0)
    assert not np.shares_memory(out, x)


def test_preprocess_matches_obspy_trace_processing(rng):
    x = (rng.standard_normal(4000) * 30 + 200 + 0.01 * np.arange(4000)).astype(np.float32)
    tr = obspy.Trace(x.astype(np.float64))
    tr.stats.sampling_rate = FS
    tr.detrend("linear")
    tr.taper(0.05, type="hann")
    tr.filter("bandpass", freqmin=0.3, freqmax=3.0, corners=4, zerophase=True)
    out, status = corr.preprocess(x[None, :], FS, freqmin=0.3, freqmax=3.0)
    assert status[0] == 0
    np.testing.assert_allclose(out[0], tr.data, atol=1e-5 * np.abs(tr.data).max())


def test_preprocess_quality_flags(rng):
    x = rng.standard_normal((6, 1000)).astype(np.float32)
    x[1, 500] = np.nan  # gap
    x[2, 100:160] = x[2, 100]  # flat run of 60 samples = 3 s
    x[3, 700] = 50.0  # spike: 50 standard deviations
    x[4] = 7.0  # dead channel
    before = x.copy()
    out, status = corr.preprocess(x, FS, max_over_std=10, max_flat_s=2.0)
    np.testing.assert_array_equal(status, [0, 1, 2, 3, 2, 0])
    for r in (1, 2, 3, 4):  # skipped rows come back untouched
        np.testing.assert_array_equal(out[r], before[r])
    _, status = corr.preprocess(x, FS)  # tests off: only gap and dead channel remain
    np.testing.assert_array_equal(status, [0, 1, 0, 0, 2, 0])


def test_preprocess_inplace_and_strided_rows(rng):
    big = rng.standard_normal((5, 1200)).astype(np.float32)
    view = big[:, :1000]  # rows with stride 1200
    ref, _ = corr.preprocess(np.ascontiguousarray(view), FS, freqmin=1.0, freqmax=5.0)
    out, _ = corr.preprocess(view, FS, freqmin=1.0, freqmax=5.0, inplace=True)
    assert np.shares_memory(out, big)
    np.testing.assert_array_equal(view, ref)
    with pytest.raises(InputError, match="inplace"):
        corr.preprocess(view.astype(np.float64), FS, inplace=True)  # would work on a copy


def test_preprocess_result_independent_of_workers(rng):
    x = rng.standard_normal((13, 2000)).astype(np.float32)
    a, _ = corr.preprocess(
        x, FS, freqmin=0.5, freqmax=5.0, temporal_norm="ram", ram_window_s=1.0, workers=1
    )
    b, _ = corr.preprocess(
        x, FS, freqmin=0.5, freqmax=5.0, temporal_norm="ram", ram_window_s=1.0, workers=3
    )
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        (dict(freqmin=1.0, freqmax=10.0), "Nyquist"),
        (dict(freqmin=3.0, freqmax=2.0), "freqmin"),
        (dict(taper=0.7), "taper"),
        (dict(temporal_norm="twobit"), "temporal_norm"),
        (dict(temporal_norm="ram"), "ram_window_s"),
        (dict(freqmin=1.0, freqmax=2.0, corners=0), "corners"),
    ],
)
def test_preprocess_bad_parameters(kw, match):
    with pytest.raises(InputError, match=match):
        corr.preprocess(np.zeros((2, 100), np.float32), FS, **kw)


def test_preprocess_bad_arrays():
    with pytest.raises(InputError, match="x: expected 2 dimensions"):
        corr.preprocess(np.zeros(100, np.float32), FS)
    with pytest.raises(InputError, match="real numbers"):
        corr.preprocess(np.zeros((2, 100), np.complex64), FS)
    with pytest.raises(ValueError, match="float32"):
        _core.correlation.preprocess(
            np.zeros((2, 10)),
            demean=True,
            detrend=True,
            taper=0.0,
            sos=np.zeros((0, 6)),
            zero_phase=True,
            norm=0,
            ram_half_width=0,
            clip_factor=0.0,
            max_over_std=0.0,
            max_flat=0,
        )
    with pytest.raises(ValueError, match="sos"):
        _core.correlation.preprocess(
            np.zeros((2, 10), np.float32),
            demean=True,
            detrend=True,
            taper=0.0,
            sos=np.zeros((1, 5)),
            zero_phase=True,
            norm=0,
            ram_half_width=0,
            clip_factor=0.0,
            max_over_std=0.0,
            max_flat=0,
        )


# ------------------------------------------------------------------ decimate


def ref_decimate(x, q):
    h = scipy.signal.firwin(20 * q + 1, 1.0 / q, window="hamming")
    half = len(h) // 2
    n = len(x)
    out = np.full((n - 1) // q + 1, np.nan)
    finite = np.isfinite(x)
    for j in range(len(out)):
        c = j * q
        if not finite[c]:
            continue
        s = c
        while s > 0 and finite[s - 1]:
            s -= 1
        e = c
        while e < n and finite[e]:
            e += 1
        k0, k1 = max(0, s - c + half), min(len(h), e - c + half)
        seg = x[c - half + k0 : c - half + k1]
        out[j] = (h[k0:k1] * seg).sum() * h.sum() / h[k0:k1].sum()
    return out


def test_decimate_matches_scipy_in_the_interior(rng):
    x = rng.standard_normal(20000).astype(np.float32)
    for q in (2, 5):
        ours = corr.decimate(x, q)
        ref = scipy.signal.decimate(x.astype(np.float64), q, ftype="fir", zero_phase=True)
        half = 10 * q  # interior: away from the filter's reach of the ends
        np.testing.assert_allclose(ours[half:-half], ref[half:-half], atol=2e-5)


def test_decimate_gaps_stay_gaps(rng):
    x = rng.standard_normal((2, 3001)).astype(np.float32)
    x[0, 1000:1100] = np.nan
    x[1, :7] = np.nan
    ours = corr.decimate(x, 4, workers=2)
    for r in range(2):
        np.testing.assert_allclose(
            ours[r], ref_decimate(x[r].astype(np.float64), 4), atol=2e-5, equal_nan=True
        )
    assert np.isnan(ours[0, 250:275]).all()
    assert np.isfinite(ours[0, 275:]).all()


def test_decimate_bad_input():
    with pytest.raises(InputError, match="factor"):
        corr.decimate(np.zeros(10, np.float32), 0)
    with pytest.raises(ValueError, match="odd"):
        _core.correlation.decimate(np.zeros((1, 10), np.float32), np.ones(4), 2)
