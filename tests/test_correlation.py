"""Noise cross-correlation: every kernel against a NumPy/SciPy/ObsPy reference, properties of
the correlation (symmetry, time reversal, delays), and correlate() end to end against a plain
NumPy implementation of the same pipeline on synthetic records."""

from __future__ import annotations

import numpy as np
import obspy
import pytest
import scipy.fft
import scipy.signal

from seiscore import InputError, _core
from seiscore import correlation as corr
from seiscore.containers import Stations, Waveforms

FS = 20.0
T0 = obspy.UTCDateTime(2022, 1, 2)


# ------------------------------------------------------------------ NumPy / SciPy references


def ref_taper(n: int, fraction: float) -> np.ndarray:
    m = int(np.floor(fraction * n))
    w = np.ones(n)
    if m > 0:
        ramp = 0.5 * (1 - np.cos(np.pi * np.arange(m) / m))
        w[:m] *= ramp
        w[n - m :] *= ramp[::-1]
    return w


def ref_quality(row, max_over_std=0.0, max_flat=0) -> int:
    if not np.isfinite(row).all():
        return 1
    runs = np.diff(np.flatnonzero(np.concatenate([[True], np.diff(row) != 0, [True]])))
    if max_flat and runs.max() >= max_flat:
        return 2
    d = row.astype(np.float64) - row.astype(np.float64).mean()
    sd = np.sqrt(np.mean(d * d))
    if not sd > 0:
        return 2
    if max_over_std and np.abs(d).max() > max_over_std * sd:
        return 3
    return 0


def ref_preprocess(
    x,
    fs,
    *,
    freqmin=None,
    freqmax=None,
    corners=4,
    detrend=True,
    demean=True,
    taper=0.05,
    temporal_norm="none",
    ram_half=0,
    clip_factor=3.0,
    max_over_std=0.0,
    max_flat=0,
):
    out = np.array(x, dtype=np.float64)
    status = np.zeros(len(out), np.int8)
    sos = None
    if freqmin is not None and freqmax is not None:
        sos = scipy.signal.butter(corners, [freqmin, freqmax], btype="band", fs=fs, output="sos")
    for r, row in enumerate(out):
        status[r] = ref_quality(np.asarray(x[r], np.float32), max_over_std, max_flat)
        if status[r]:
            continue
        y = (
            scipy.signal.detrend(row, type="linear")
            if detrend
            else (row - row.mean() if demean else row)
        )
        y = y * ref_taper(len(y), taper)
        if sos is not None:
            y = scipy.signal.sosfilt(sos, scipy.signal.sosfilt(sos, y)[::-1])[::-1]
        if temporal_norm == "onebit":
            y = np.sign(y)
        elif temporal_norm == "ram":
            k = np.ones(2 * ram_half + 1)
            w = np.convolve(np.abs(y), k, "same") / np.convolve(np.ones_like(y), k, "same")
            y = np.divide(y, w, out=np.zeros_like(y), where=w > 0)
        elif temporal_norm == "clip":
            lim = clip_factor * np.sqrt(np.mean(y * y))
            y = np.clip(y, -lim, lim)
        out[r] = y
    return out, status


def ref_band(band4, f):
    f1, f2, f3, f4 = band4
    g = np.zeros_like(f)
    up = (f >= f1) & (f < f2)
    g[up] = 0.5 * (1 - np.cos(np.pi * (f[up] - f1) / (f2 - f1)))
    g[(f >= f2) & (f <= f3)] = 1.0
    dn = (f > f3) & (f <= f4)
    g[dn] = 0.5 * (1 - np.cos(np.pi * (f4 - f[dn]) / (f4 - f3)))
    return g


def ref_whiten(spec, fs, nfft, band4=None, smooth_bins=0, shift=None):
    s = np.array(spec, dtype=np.complex128)
    f = np.arange(s.shape[1]) * fs / nfft
    if shift is not None:
        s *= np.exp(-2j * np.pi * f[None, :] * np.asarray(shift)[:, None])
    if band4 is not None:
        a = np.abs(s)
        if smooth_bins:
            k = np.ones(2 * smooth_bins + 1)
            a = np.stack(
                [np.convolve(r, k, "same") / np.convolve(np.ones_like(r), k, "same") for r in a]
            )
        g = ref_band(band4, f)
        s = np.divide(s * g, a, out=np.zeros_like(s), where=a > 0)
    w = np.full(s.shape[1], 2.0)
    w[0] = 1.0
    if nfft % 2 == 0:
        w[-1] = 1.0
    energy = (np.abs(s) ** 2 * w).sum(axis=1) / nfft
    return s, energy


def ref_xcorr(a, b, max_lag, method="direct"):
    """ccf[max_lag + tau] = sum_t a[t] b[t + tau], by scipy.signal.correlate."""
    full = scipy.signal.correlate(b, a, mode="full", method=method)  # index n-1 is lag 0
    mid = len(a) - 1
    return full[mid - max_lag : mid + max_lag + 1]


def ref_robust(d, epsilon=1e-4, max_iter=10):
    d = np.asarray(d, np.float64)
    b = np.median(d, axis=0)
    dn = np.linalg.norm(d, axis=1)
    for _ in range(max_iter):
        bn = np.linalg.norm(b)
        if not bn > 0:
            break
        a = d @ b / bn
        r = np.maximum(np.sqrt(np.maximum(dn**2 - a**2, 0)), 1e-12 * dn)
        w = np.where(dn > 0, np.abs(a) / (dn * r), 0.0)
        w = w / w.sum()
        new = w @ d
        conv = np.abs(new - b).sum() / np.abs(new).sum()
        b = new
        if conv < epsilon:
            break
    return b


def ref_selective(d, threshold):
    d = np.asarray(d, np.float64)
    m = d.sum(axis=0)
    cc = d @ m / (np.linalg.norm(d, axis=1) * np.linalg.norm(m))
    keep = cc >= threshold
    return (d[keep].mean(axis=0) if keep.any() else np.full(d.shape[1], np.nan)), int(keep.sum())


def ref_pws(d, power):
    d = np.asarray(d, np.float64)
    z = scipy.signal.hilbert(d, axis=1)
    ph = np.abs(np.mean(z / np.abs(z), axis=0))
    return d.mean(axis=0) * ph**power


# ------------------------------------------------------------------ synthetic records


def make_waveforms(
    n_stations=3, hours=2.0, delays=None, seed=1, components=("E", "N", "Z"), start=T0, noise=0.5
):
    """Stations recording one common random source, delayed by ``delays[i]`` samples, plus noise."""
    rng = np.random.default_rng(seed)
    n = int(hours * 3600 * FS)
    delays = list(range(0, 7 * n_stations, 7)) if delays is None else delays
    pad = max(delays) + 10
    src = rng.standard_normal((len(components), n + pad)).astype(np.float32)
    out = []
    for i, dly in enumerate(delays):
        data = src[:, pad - dly : pad - dly + n] + noise * rng.standard_normal(
            (len(components), n)
        ).astype(np.float32)
        out.append(
            Waveforms(
                "XX",
                f"S{i}",
                "",
                "HH",
                start,
                FS,
                tuple(components),
                np.ascontiguousarray(data),
                np.ones(len(components), bool),
            )
        )
    return out


def ref_pipeline(
    ws,
    *,
    window_s,
    max_lag,
    prep,
    whiten_band4=None,
    smooth_bins=0,
    methods=("linear",),
    pws_power=2.0,
    threshold=0.3,
    comps=("ZZ",),
):
    """Plain NumPy correlate(): windows on the common grid (all records start together), per
    window rfft, whitening, per pair and window irfft, coefficient normalisation, stacks."""
    n_win = int(round(window_s * FS))
    nfft = scipy.fft.next_fast_len(n_win + max_lag, real=True)
    ids = sorted(w.id for w in ws)
    by_id = {w.id: w for w in ws}
    n_w = min(w.n_samples for w in ws) // n_win
    spec = {}
    for sid in ids:
        w = by_id[sid]
        for c, letter in enumerate(w.components):
            rows = np.stack([w.data[c, k * n_win : (k + 1) * n_win] for k in range(n_w)])
            proc, status = ref_preprocess(rows, FS, **prep)
            s = np.fft.rfft(proc, n=nfft, axis=1)
            s, energy = ref_whiten(s, FS, nfft, whiten_band4, smooth_bins)
            spec[sid, letter] = (s, energy, status)
    result = {}
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            for comp in comps:
                sa, ea, qa = spec[a, comp[0]]
                sb, eb, qb = spec[b, comp[1]]
                ok = (qa == 0) & (qb == 0)
                c = np.fft.irfft(np.conj(sa[ok]) * sb[ok], n=nfft, axis=1)
                c = np.concatenate([c[:, nfft - max_lag :], c[:, : max_lag + 1]], axis=1)
                c /= np.sqrt(ea[ok] * eb[ok])[:, None]
                res = {"windows": c, "linear": c.mean(axis=0)}
                if "pws" in methods:
                    res["pws"] = ref_pws(c, pws_power)
                if "robust" in methods:
                    res["robust"] = ref_robust(c)
                if "selective" in methods:
                    res["selective"] = ref_selective(c, threshold)[0]
                result[f"{a}:{b}", comp] = res
    return result


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
    band4 = corr._whiten_band(band, FS) if band is not None else None
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


# ------------------------------------------------------------------ stacks


def test_stacks_match_numpy(rng):
    base = np.sin(np.linspace(0, 12, 201))
    d = (base + 0.8 * rng.standard_normal((15, 201))).astype(np.float32)
    d[3] = -3 * base  # an outlier window
    lin, n = corr.stack(d, "linear")
    np.testing.assert_allclose(lin, d.mean(axis=0), atol=1e-6)
    assert n == 15
    pws, _ = corr.stack(d, "pws", pws_power=2)
    np.testing.assert_allclose(pws, ref_pws(d, 2), atol=2e-5)
    rob, _ = corr.stack(d, "robust")
    np.testing.assert_allclose(rob, ref_robust(d), atol=2e-5)
    sel, kept = corr.stack(d, "selective", selective_threshold=0.3)
    ref_sel, ref_kept = ref_selective(d, 0.3)
    assert kept == ref_kept
    assert kept < 15
    np.testing.assert_allclose(sel, ref_sel, atol=1e-5)
    # windows of a clean signal plus three of loud noise: the robust stack down-weights the noise
    d = (base + 0.3 * rng.standard_normal((12, 201))).astype(np.float32)
    d[:3] = 6 * rng.standard_normal((3, 201))

    def misfit(x):
        return np.linalg.norm(x / np.linalg.norm(x) - base / np.linalg.norm(base))

    assert misfit(corr.stack(d, "robust")[0]) < 0.5 * misfit(corr.stack(d, "linear")[0])


def test_stacks_by_group(rng):
    d = rng.standard_normal((12, 31)).astype(np.float32)
    g = np.array([2, 0, 2, 1, 0, 2, 2, 1, 0, 0, 1, 2])
    for method in ("linear", "robust", "selective", "pws"):
        out, counts = corr.stack(d, method, groups=g, selective_threshold=0.0)
        for k in range(3):
            one, c1 = corr.stack(d[g == k], method, selective_threshold=0.0)
            np.testing.assert_allclose(out[k], one, atol=1e-6)
            assert counts[k] == c1


def test_stack_kernels_empty_groups_and_bad_offsets(rng):
    d = rng.standard_normal((4, 9)).astype(np.float32)
    offsets = np.array([0, 2, 2, 4], np.int64)
    out, n_iter = _core.correlation.stack_robust(d, offsets, 1e-4, 10)
    assert np.isnan(out[1]).all()
    assert n_iter[1] == 0
    out, kept = _core.correlation.stack_selective(d, offsets, 0.0)
    assert np.isnan(out[1]).all()
    assert kept[1] == 0
    lin, pre, pim = _core.correlation.stack_sums(d, None, offsets)
    assert pre is None
    assert not lin[1].any()
    with pytest.raises(ValueError, match="offsets"):
        _core.correlation.stack_sums(d, None, np.array([0, 3, 2], np.int64))
    with pytest.raises(ValueError, match="exceeds"):
        _core.correlation.stack_sums(d, None, np.array([0, 5], np.int64))
    with pytest.raises(InputError, match="method"):
        corr.stack(d, "median")


# ------------------------------------------------------------------ correlate(), end to end


PREP = dict(freqmin=0.2, freqmax=5.0, temporal_norm="onebit")


def test_correlate_matches_numpy_pipeline():
    ws = make_waveforms(3, hours=2.0, delays=[0, 9, 23])
    methods = ("linear", "pws", "robust", "selective")
    ds = corr.correlate(
        ws,
        window_s=1200,
        max_lag_s=5.0,
        components=["ZZ", "NE"],
        stack=methods,
        whiten=True,
        whiten_smooth_hz=0.05,
        keep_windows=True,
        max_over_std=None,
        **PREP,
    )
    nfft = int(ds.attrs["nfft"])
    band4 = corr._whiten_band((0.2, 5.0), FS)
    smooth = int(round(0.05 / (FS / nfft) / 2))
    ref = ref_pipeline(
        ws,
        window_s=1200,
        max_lag=100,
        prep=dict(PREP),
        whiten_band4=band4,
        smooth_bins=smooth,
        methods=methods,
        comps=("ZZ", "NE"),
    )
    assert ds.sizes == {
        "pair": 3,
        "component": 2,
        "lag": 201,
        "day": 1,
        "window": 6,
        "station": 3,
        "channel": 3,
    }
    for (pair, comp), r in ref.items():
        sel = dict(pair=pair, component=comp)
        assert int(ds.n_windows.sel(**sel)) == 6
        for m in methods:
            np.testing.assert_allclose(
                ds[f"ccf_{m}"].sel(**sel), r[m], atol=3e-5, err_msg=f"{pair} {comp} {m}"
            )
            np.testing.assert_allclose(ds[f"daily_{m}"].sel(**sel).isel(day=0), r[m], atol=3e-5)
        np.testing.assert_allclose(ds.ccf_windows.sel(**sel), r["windows"], atol=3e-5)
    # the common source: station i is delayed by delays[i] samples
    zz = ds.ccf_linear.sel(component="ZZ")
    peaks = ds.lag.values[zz.argmax("lag").values]
    np.testing.assert_allclose(peaks, np.array([9, 23, 14]) / FS)


def test_linear_frequency_domain_path_equals_per_window_path():
    ws = make_waveforms(4, hours=1.0)
    kw = dict(window_s=600, max_lag_s=3.0, components="all", whiten=True, **PREP)
    fast = corr.correlate(ws, **kw)
    slow = corr.correlate(ws, keep_windows=True, **kw)
    np.testing.assert_allclose(fast.ccf_linear, slow.ccf_linear, atol=1e-6)
    np.testing.assert_array_equal(fast.n_windows, slow.n_windows)
    np.testing.assert_allclose(slow.ccf_windows.mean("window"), slow.ccf_linear, atol=1e-6)


def test_gaps_and_glitches_are_skipped_and_counted():
    ws = make_waveforms(3, hours=1.0, components=("Z",))
    n_win = 6000  # 300 s windows: 12 per station
    ws[0].data[0, 2 * n_win + 17] = np.nan  # gap in window 2
    ws[1].data[0, 5 * n_win + 100 : 5 * n_win + 200] = 0.0  # flat run of 5 s in window 5
    ws[2].data[0, 7 * n_win + 3000] = 1e4  # spike in window 7
    ws[2].data[0, 11 * n_win :] = np.nan  # the last window of S2 missing entirely... as NaN: a gap
    ds = corr.correlate(ws, window_s=300, max_lag_s=2.0, stack=("linear", "robust"), **PREP)
    assert ds.windows_used.sel(channel="Z").values.tolist() == [11, 11, 10]
    assert ds.windows_gap.sel(channel="Z").values.tolist() == [1, 0, 1]
    assert ds.windows_flat.sel(channel="Z").values.tolist() == [0, 1, 0]
    assert ds.windows_spike.sel(channel="Z").values.tolist() == [0, 0, 1]
    n = ds.n_windows.sel(component="ZZ")
    assert n.sel(pair="XX.S0.:XX.S1.") == 10  # windows 2 and 5 lost
    assert n.sel(pair="XX.S0.:XX.S2.") == 9  # 2, 7, 11
    assert n.sel(pair="XX.S1.:XX.S2.") == 9  # 5, 7, 11
    assert np.isfinite(ds.ccf_linear).all()
    assert np.isfinite(ds.ccf_robust).all()


def test_records_that_end_early_count_absent_windows():
    ws = make_waveforms(2, hours=1.0, components=("Z",))
    short = ws[1]
    ws[1] = Waveforms(
        short.network,
        short.station,
        short.location,
        short.band,
        short.starttime,
        FS,
        ("Z",),
        np.ascontiguousarray(short.data[:, : 6000 * 7 + 10]),
        short.present,
    )
    ds = corr.correlate(ws, window_s=300, max_lag_s=2.0)
    assert ds.windows_used.values[:, 0].tolist() == [12, 7]
    assert ds.windows_gap.values[:, 0].tolist() == [0, 1]  # window 7 covered by 10 samples only
    assert ds.windows_absent.values[:, 0].tolist() == [0, 4]
    assert ds.n_windows.item() == 7


def test_substacks_per_day_and_overall():
    start = obspy.UTCDateTime(2022, 1, 2, 22, 0, 0)
    ws = make_waveforms(2, hours=4.0, components=("Z",), start=start)
    ds = corr.correlate(
        ws,
        window_s=1800,
        max_lag_s=2.0,
        stack=("linear", "pws", "selective"),
        selective_threshold=0.0,
        keep_windows=True,
        **PREP,
    )
    assert ds.sizes["day"] == 2
    assert ds.daily_n_windows.values[:, 0, 0].tolist() == [4, 4]
    np.testing.assert_array_equal(
        ds.day.values, np.array(["2022-01-02", "2022-01-03"], dtype="datetime64[ns]")
    )
    w = ds.ccf_windows.values[:, 0, 0]
    np.testing.assert_allclose(
        ds.daily_linear.values[:, 0, 0], [w[:4].mean(0), w[4:].mean(0)], atol=1e-6
    )
    np.testing.assert_allclose(ds.ccf_linear.values[0, 0], w.mean(0), atol=1e-6)
    np.testing.assert_allclose(ds.ccf_pws.values[0, 0], ref_pws(w, 2.0), atol=2e-5)
    np.testing.assert_allclose(ds.daily_pws.values[1, 0, 0], ref_pws(w[4:], 2.0), atol=2e-5)
    np.testing.assert_allclose(ds.ccf_selective.values[0, 0], ref_selective(w, 0.0)[0], atol=1e-5)
    none = corr.correlate(ws, window_s=1800, max_lag_s=2.0, substacks=False)
    assert "daily_linear" not in none
    assert "day" not in none.dims


def test_subsample_offsets_are_removed():
    """Station B samples 0.4 sample later than A; the shift puts the peak back at the true lag."""
    rng = np.random.default_rng(5)
    up = 10
    n = int(3600 * FS)
    fine = scipy.signal.resample_poly(rng.standard_normal(n + 400), up, 1)  # band-limited source
    a = fine[200 * up :: up][:n].astype(np.float32)
    off = 4  # B samples 0.4 sample (0.02 s) after A's grid
    true_delay = 7  # samples: b(t) = a(t - 7 / fs) in true time
    b = fine[(200 - true_delay) * up + off :: up][:n].astype(np.float32)
    wa = Waveforms("XX", "A", "", "HH", T0, FS, ("Z",), a[None, :], np.array([True]))
    wb = Waveforms(
        "XX", "B", "", "HH", T0 + off / (up * FS), FS, ("Z",), b[None, :], np.array([True])
    )
    kw = dict(window_s=600, max_lag_s=1.0, freqmin=0.5, freqmax=6.0)
    shifted = corr.correlate([wa, wb], **kw)
    plain = corr.correlate([wa, wb], subsample_shift=False, **kw)

    def peak(ds):  # sub-sample peak of the band-limited CCF (upsampled 100 times), in samples
        c = scipy.signal.resample_poly(ds.ccf_linear.values[0, 0].astype(np.float64), 100, 1)
        return np.argmax(c) / 100 - 20

    assert abs(peak(shifted) - true_delay) < 0.05
    assert abs(peak(plain) - (true_delay - 0.4)) < 0.05


def test_rotation_to_rtz_matches_rotated_records():
    """ENZ records built from known R, T, Z signals: the RTZ components equal correlating those."""
    rng = np.random.default_rng(11)
    n = int(1800 * FS)
    lat = np.array([35.0, 35.3])
    lon = np.array([-118.0, -117.6])
    from obspy.geodetics import gps2dist_azimuth

    _, az, baz = gps2dist_azimuth(lat[0], lon[0], lat[1], lon[1])
    sig = {k: rng.standard_normal(n + 50).astype(np.float32) for k in "RTZ"}
    recs = {}
    for name, ang, dly in (("A", np.radians(az), 0), ("B", np.radians(baz), 13)):
        r, t, z = (sig[k][50 - dly : 50 - dly + n] for k in "RTZ")
        if name == "A":  # R_A = (sin az, cos az), T_A = (cos az, -sin az) in (E, N)
            e = r * np.sin(ang) + t * np.cos(ang)
            nn = r * np.cos(ang) - t * np.sin(ang)
        else:  # R_B = (-sin baz, -cos baz), T_B = (-cos baz, sin baz)
            e = -r * np.sin(ang) - t * np.cos(ang)
            nn = -r * np.cos(ang) + t * np.sin(ang)
        recs[name] = (np.stack([e, nn, z]).astype(np.float32), np.stack([r, t, z]))
    ws = [
        Waveforms("XX", k, "", "HH", T0, FS, ("E", "N", "Z"), v[0], np.ones(3, bool))
        for k, v in recs.items()
    ]
    st = Stations(
        np.array(["XX", "XX"], object),
        np.array(["A", "B"], object),
        np.array(["", ""], object),
        lat,
        lon,
        np.zeros(2),
        np.full(2, np.nan),
        np.full(2, np.nan),
    )
    kw = dict(window_s=600, max_lag_s=2.0, normalize="none", taper=0.0, detrend=False)
    ds = corr.correlate(ws, st, components="RTZ", **kw)
    ra, rb = recs["A"][1], recs["B"][1]
    for i, x in enumerate("RTZ"):
        for j, y in enumerate("RTZ"):
            wins = [
                (
                    ra[i, k * 12000 : (k + 1) * 12000].astype(float),
                    rb[j, k * 12000 : (k + 1) * 12000].astype(float),
                )
                for k in range(3)
            ]
            want = np.mean(
                [ref_xcorr(u - u.mean(), v - v.mean(), 40, "fft") for u, v in wins], axis=0
            )
            got = ds.ccf_linear.sel(component=x + y).values[0]
            np.testing.assert_allclose(got, want, atol=0.5, err_msg=x + y)  # values up to ~12000
    assert ds.sizes["component"] == 9
    assert ds.distance_km.item() > 40
    assert np.argmax(ds.ccf_linear.sel(component="RR").values[0]) - 40 == 13


def test_pairs_selection_and_distances():
    ws = make_waveforms(4, hours=0.5, components=("Z",))
    lat = np.array([35.0, 35.01, 35.5, 36.2])
    lon = np.array([-118.0, -118.0, -118.0, -118.0])
    st = Stations(
        np.array(["XX"] * 4, object),
        np.array([f"S{i}" for i in range(4)], object),
        np.array([""] * 4, object),
        lat,
        lon,
        np.zeros(4),
        np.full(4, np.nan),
        np.full(4, np.nan),
    )
    kw = dict(window_s=600, max_lag_s=1.0)
    near = corr.correlate(ws, st, max_distance_km=60, **kw)
    assert near.pair.values.tolist() == ["XX.S0.:XX.S1.", "XX.S0.:XX.S2.", "XX.S1.:XX.S2."]
    np.testing.assert_allclose(near.distance_km.values, [1.11, 55.46, 54.35], atol=0.05)
    np.testing.assert_allclose(near.azimuth_deg.values, [0, 0, 0], atol=1e-6)
    listed = corr.correlate(ws, st, pairs=[("XX.S3.", "XX.S0."), "XX.S1.:XX.S1."], **kw)
    assert listed.source.values.tolist() == ["XX.S3.", "XX.S1."]
    assert listed.ccf_linear.sel(pair="XX.S1.:XX.S1.", lag=0.0).item() == pytest.approx(
        1.0, abs=1e-6
    )
    auto = corr.correlate(ws, pairs="auto", **kw)
    assert auto.sizes["pair"] == 4
    with pytest.raises(InputError, match="XX.S9."):
        corr.correlate(ws, pairs=[("XX.S0.", "XX.S9.")], **kw)
    with pytest.raises(InputError, match="coordinates"):
        corr.correlate(ws, max_distance_km=10, **kw)
    with pytest.raises(InputError, match="coordinates"):
        corr.correlate(make_waveforms(2, hours=0.5), components="RTZ", **kw)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        (dict(window_s=0), "window_s"),
        (dict(window_s=600, overlap=1.0), "overlap"),
        (dict(window_s=600, max_lag_s=600), "max_lag_s"),
        (dict(window_s=600.01), "whole number"),
        (dict(stack="mean"), "stack"),
        (dict(components="ZQ"), "components"),
        (dict(normalize="max"), "normalize"),
        (dict(whiten=True), "whiten"),
        (dict(sampling_rate=7.0), "integer multiple"),
        (dict(sampling_rate=40.0), "integer multiple"),
        (dict(window_s=7200), "no complete"),
        (dict(pairs="some"), "pairs"),
        (dict(workers=-2), "workers"),
        (dict(device="tpu"), "device"),
    ],
)
def test_correlate_bad_parameters(kw, match):
    ws = make_waveforms(2, hours=1.0, components=("Z",))
    with pytest.raises((InputError, ValueError), match=match):
        corr.correlate(ws, **kw)


def test_correlate_bad_inputs():
    ws = make_waveforms(2, hours=0.5, components=("Z",))
    with pytest.raises(InputError, match="Waveforms"):
        corr.correlate([ws[0], "not a record"])
    with pytest.raises(InputError, match="no records"):
        corr.correlate([])
    w = ws[1]
    other = Waveforms(
        w.network, w.station, w.location, w.band, w.starttime, 40.0, w.components, w.data, w.present
    )
    with pytest.raises(InputError, match="different sampling rates"):
        corr.correlate([ws[0], other], window_s=600)
    band2 = Waveforms(
        w.network, w.station, w.location, "BH", w.starttime, FS, w.components, w.data, w.present
    )
    with pytest.raises(InputError, match="XX.S1.: records of several bands"):
        corr.correlate(ws + [band2], window_s=600)
    with pytest.raises(InputError, match="loader"):
        corr.correlate(lambda a, b: ws, window_s=600)


def test_decimation_inside_correlate_equals_decimating_first():
    ws = make_waveforms(2, hours=0.5, components=("Z",))
    fast = [
        Waveforms(
            w.network,
            w.station,
            w.location,
            w.band,
            w.starttime,
            2 * FS,
            w.components,
            np.repeat(w.data, 2, axis=1),
            w.present,
        )
        for w in ws
    ]
    ds = corr.correlate(fast, sampling_rate=FS, window_s=600, max_lag_s=1.0)
    pre = [
        Waveforms(
            w.network,
            w.station,
            w.location,
            w.band,
            w.starttime,
            FS,
            w.components,
            corr.decimate(w.data, 2),
            w.present,
        )
        for w in fast
    ]
    ref = corr.correlate(pre, window_s=600, max_lag_s=1.0)
    np.testing.assert_allclose(ds.ccf_linear, ref.ccf_linear, atol=1e-6)


def test_loader_and_dask_client_give_the_same_result(tmp_path):
    distributed = pytest.importorskip("distributed")
    start = obspy.UTCDateTime(2022, 1, 2, 23, 0, 0)
    ws = make_waveforms(3, hours=2.0, components=("Z",), start=start)
    kw = dict(window_s=1200, max_lag_s=2.0, stack=("linear", "robust"), **PREP)
    local = corr.correlate(ws, **kw)
    loader = _Loader(ws)
    loaded = corr.correlate(
        loader,
        stations=[w.id for w in ws],
        starttime=start,
        endtime=start + 7200,
        sampling_rate=FS,
        **kw,
    )
    for v in ("ccf_linear", "ccf_robust", "n_windows", "daily_linear"):
        np.testing.assert_allclose(loaded[v], local[v], atol=1e-6)
    with distributed.Client(
        processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None
    ) as client:
        dist = corr.correlate(ws, client=client, **kw)
    assert dist.sizes["day"] == 2
    for v in ("ccf_linear", "ccf_robust", "daily_linear", "daily_robust", "windows_used"):
        np.testing.assert_allclose(dist[v], local[v], atol=1e-6)


class _Loader:
    """A picklable loader: the records cut to the requested span."""

    def __init__(self, ws):
        self.ws = ws

    def __call__(self, t0, t1):
        out = []
        for w in self.ws:
            start = np.datetime64(w.starttime.ns, "ns")
            a = max(0, int((t0 - start) / np.timedelta64(1, "ns") * FS / 1e9))
            b = min(
                w.n_samples, int(np.ceil((t1 - start) / np.timedelta64(1, "ns") * FS / 1e9)) + 1
            )
            out.append(
                Waveforms(
                    w.network,
                    w.station,
                    w.location,
                    w.band,
                    w.starttime + a / FS,
                    FS,
                    w.components,
                    np.ascontiguousarray(w.data[:, a:b]),
                    w.present,
                )
            )
        return out


# ------------------------------------------------------------------ output


def test_write_read_netcdf_and_to_obspy(tmp_path):
    ws = make_waveforms(3, hours=1.0, components=("Z",))
    st = Stations(
        np.array(["XX"] * 3, object),
        np.array(["S0", "S1", "S2"], object),
        np.array([""] * 3, object),
        np.array([35.0, 35.1, 35.3]),
        np.array([-118.0, -118.1, -117.9]),
        np.zeros(3),
        np.full(3, np.nan),
        np.full(3, np.nan),
    )
    ds = corr.correlate(ws, st, window_s=600, max_lag_s=2.0, stack=("linear", "pws"), **PREP)
    path = corr.write(ds, tmp_path / "ccfs.nc")
    back = corr.read(path)
    for v in ("ccf_linear", "ccf_pws", "daily_linear", "n_windows", "windows_used", "distance_km"):
        np.testing.assert_array_equal(back[v].values, ds[v].values)
    assert back.attrs["freqmin"] == 0.2
    assert back.attrs["temporal_norm"] == "onebit"
    assert list(back.pair.values) == list(ds.pair.values)
    stream = corr.to_obspy(back)
    assert len(stream) == 3
    tr = stream.select(station="S1")[0]
    assert tr.stats.channel == "ZZ"
    assert tr.stats.correlation["source"] == "XX.S0."
    assert tr.stats.sac["b"] == -2.0
    assert tr.stats.sac["dist"] == pytest.approx(float(ds.distance_km[0]))
    np.testing.assert_array_equal(tr.data, ds.ccf_linear.values[0, 0])
    daily = corr.to_obspy(back, "daily_linear", day=back.day.values[0])
    assert len(daily) == 3
    with pytest.raises(InputError, match="day="):
        corr.to_obspy(back, "daily_linear")
    with pytest.raises(InputError, match="format"):
        corr.write(ds, tmp_path / "ccfs.csv")
    with pytest.raises(InputError, match="no such file"):
        corr.read(tmp_path / "missing.nc")


def test_write_zarr(tmp_path):
    pytest.importorskip("zarr")
    ds = corr.correlate(
        make_waveforms(2, hours=0.5, components=("Z",)), window_s=600, max_lag_s=1.0
    )
    back = corr.read(corr.write(ds, tmp_path / "ccfs.zarr"))
    np.testing.assert_array_equal(back.ccf_linear.values, ds.ccf_linear.values)


def test_plot_moveout(tmp_path):
    pytest.importorskip("matplotlib")
    ws = make_waveforms(3, hours=0.5, components=("Z",))
    st = Stations(
        np.array(["XX"] * 3, object),
        np.array(["S0", "S1", "S2"], object),
        np.array([""] * 3, object),
        np.array([35.0, 35.1, 35.3]),
        np.array([-118.0, -118.1, -117.9]),
        np.zeros(3),
        np.full(3, np.nan),
        np.full(3, np.nan),
    )
    ds = corr.correlate(ws, st, window_s=600, max_lag_s=2.0)
    fig = corr.plot_moveout(ds, path=tmp_path / "moveout.png")
    assert (tmp_path / "moveout.png").stat().st_size > 1000
    ys = [np.mean(line.get_ydata()) for line in fig.axes[0].lines]
    assert ys == sorted(ys)  # ordered by distance
    with pytest.raises(InputError, match="component"):
        corr.plot_moveout(ds, component="TT")
