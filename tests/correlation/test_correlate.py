"""correlate() end to end against a plain NumPy implementation of the same pipeline on synthetic
records: gaps and glitches, substacks, sub-sample offsets, rotation, pair selection, bad
input, decimation, loaders and Dask."""

from __future__ import annotations

import numpy as np
import obspy
import pytest
import scipy.signal

from seiscore import InputError
from seiscore import correlation as corr
from seiscore.containers import Stations, Waveforms
from seiscore.correlation.spectra import _whiten_band

from .reference import (
    FS,
    PREP,
    T0,
    make_waveforms,
    ref_pipeline,
    ref_pws,
    ref_selective,
    ref_xcorr,
)

# ------------------------------------------------------------------ correlate(), end to end


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
    band4 = _whiten_band((0.2, 5.0), FS)
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
