"""NumPy / SciPy references of the correlation steps, and synthetic records: one common random
source recorded by every station with known delays. Shared by the tests of this folder."""

from __future__ import annotations

import numpy as np
import obspy
import scipy.fft
import scipy.signal

from seiscore.containers import Waveforms

FS = 20.0
T0 = obspy.UTCDateTime(2022, 1, 2)
# the processing most correlate() tests use
PREP = dict(freqmin=0.2, freqmax=5.0, temporal_norm="onebit")


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
