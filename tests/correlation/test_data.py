"""Noise cross-correlation on real records from ../shared/data: a real day at CI.CCA / CI.HEC
against ObsPy window by window, ANXCOR's stored autocorrelation, and ANXCOR's nodal records with
gaps."""

from __future__ import annotations

import numpy as np
import obspy
import pytest
import scipy.signal
from obspy.signal.cross_correlation import correlate as obspy_correlate

from seiscore import correlation as corr
from seiscore.containers import Stations
from seiscore.io import read_waveform_files, to_waveforms

from ..conftest import shared_file

NOISEPY = ("noisepy", "cc")
FREQMIN, FREQMAX = 0.1, 1.0


@pytest.fixture(scope="module")
def noisepy_day():
    paths = [shared_file(*NOISEPY, f"CI{s}__BHN___2022002.ms") for s in ("CCA", "HEC")]
    stream, messages = read_waveform_files(paths, errors="raise")
    ws, msgs = to_waveforms(stream, components=("N",), require=("N",))
    assert not messages
    assert not msgs
    return ws


def obspy_window(x: np.ndarray, fs: float) -> np.ndarray:
    """The same preprocessing done by ObsPy on one window."""
    tr = obspy.Trace(x.astype(np.float64))
    tr.stats.sampling_rate = fs
    tr.detrend("demean")
    tr.detrend("linear")
    tr.taper(0.05, type="hann")
    tr.filter("bandpass", freqmin=FREQMIN, freqmax=FREQMAX, corners=4, zerophase=True)
    return np.sign(tr.data)


def test_real_day_matches_obspy_window_by_window(noisepy_day):
    """CI.CCA ⋆ CI.HEC (BHN, 40 Hz) on 2022-01-02, 1-hour windows, one-bit, ±100 s."""
    cca, hec = noisepy_day
    fs = cca.sampling_rate
    ds = corr.correlate(
        noisepy_day,
        components="NN",
        window_s=3600,
        max_lag_s=100,
        freqmin=FREQMIN,
        freqmax=FREQMAX,
        temporal_norm="onebit",
        keep_windows=True,
    )
    assert ds.sizes["window"] == 24
    used = np.isfinite(ds.ccf_windows.values[:, 0, 0, 0])
    # windows skipped for glitches are counted, and are exactly the ones left out of the stack
    skipped = int(ds.windows_spike.sum() + ds.windows_flat.sum() + ds.windows_gap.sum())
    assert used.sum() == ds.n_windows.item() >= 24 - skipped
    assert used.sum() >= 20
    n = int(3600 * fs)
    # both records start within 2 microseconds: window k is samples [k n, (k + 1) n) of each
    assert abs(cca.starttime - hec.starttime) < 1e-5
    for k in np.flatnonzero(used):
        a = obspy_window(cca.data[0, k * n : (k + 1) * n], fs)
        b = obspy_window(hec.data[0, k * n : (k + 1) * n], fs)
        ref = obspy_correlate(
            b, a, 4000, demean=False, normalize="naive"
        )  # ObsPy's lag sign is ours reversed
        ours = ds.ccf_windows.values[k, 0, 0]
        assert np.corrcoef(ref, ours)[0, 1] > 0.9999, k
        assert np.argmax(ref) == np.argmax(ours), k
    np.testing.assert_allclose(
        ds.ccf_linear.values[0, 0], ds.ccf_windows.values[used, 0, 0].mean(axis=0), atol=1e-6
    )


def test_real_day_decimated_with_stations(noisepy_day):
    """The same day decimated to 20 Hz with StationXML coordinates: distance and azimuths, A⋆B is
    B⋆A reversed (whitened), and the stack's symmetric part peaks at a surface-wave lag."""
    from seiscore.io.stations import read_stations

    tables = [read_stations(shared_file("noisepy", "CI", f"CI_{s}.xml")) for s in ("CCA", "HEC")]
    st = Stations(
        *[
            np.concatenate([getattr(t, f) for t in tables])
            for f in (
                "network",
                "station",
                "location",
                "latitude",
                "longitude",
                "elevation_m",
                "x_km",
                "y_km",
            )
        ]
    )
    kw = dict(
        components="NN",
        window_s=3600,
        max_lag_s=100,
        sampling_rate=20.0,
        freqmin=FREQMIN,
        freqmax=FREQMAX,
        temporal_norm="onebit",
        whiten=True,
    )
    ab = corr.correlate(noisepy_day, st, pairs=[("CI.CCA.", "CI.HEC.")], **kw)
    ba = corr.correlate(noisepy_day, st, pairs=[("CI.HEC.", "CI.CCA.")], **kw)
    np.testing.assert_allclose(
        ab.ccf_linear.values[0, 0], ba.ccf_linear.values[0, 0, ::-1], atol=1e-6
    )
    dist = ab.distance_km.item()
    from obspy.geodetics import gps2dist_azimuth

    want, az, baz = gps2dist_azimuth(35.15252, -118.01649, st.latitude[1], st.longitude[1])
    assert dist == pytest.approx(want / 1000)
    assert 150 < dist < 165
    assert ab.azimuth_deg.item() == pytest.approx(az)
    assert ba.azimuth_deg.item() == pytest.approx(baz)
    assert ab.attrs["sampling_rate"] == 20.0
    assert ab.sizes["lag"] == 4001
    # without whitening the day's 0.1-1 Hz envelope peaks at the surface-wave lag (~60 s, 2.6 km/s)
    kw.pop("whiten")
    c = corr.correlate(noisepy_day, st, pairs=[("CI.CCA.", "CI.HEC.")], **kw).ccf_linear.values[
        0, 0
    ]
    env = np.abs(scipy.signal.hilbert(c + c[::-1]))[2000:]
    lag_peak = ab.lag.values[2000 + np.argmax(env)]
    assert 2.0 < dist / lag_peak < 4.0  # group velocity, km/s


def test_anxcor_autocorrelation_matches_stored_result():
    """ANXCOR's test: the full autocorrelation of a 600 s nodal record (250 Hz), no processing."""
    src = shared_file(
        "anxcor",
        "test_data",
        "test_anxcor_database",
        "test_auto_correlation",
        "src_auto",
        "2016122203600.1-0000.EHZ.sac",
    )
    target = shared_file(
        "anxcor",
        "test_data",
        "test_anxcor_database",
        "test_auto_correlation",
        "expected_result_corr",
        "target_auto_corr.sac",
    )
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # SAC sample-spacing rounding notice
        stream, _ = read_waveform_files([src], errors="raise")
        want = obspy.read(str(target))[0].data.astype(np.float64)
    ws, _ = to_waveforms(stream, components=("Z",))
    ds = corr.correlate(
        ws,
        pairs="auto",
        window_s=600,
        max_lag_s=599.996,
        detrend=False,
        taper=0.0,
        normalize="none",
        max_over_std=None,
    )
    got = ds.ccf_linear.values[0, 0].astype(np.float64)
    assert got.shape == want.shape == (299999,)
    assert np.corrcoef(got, want)[0, 1] > 0.9999
    assert np.argmax(got) == np.argmax(want) == 149999
    assert got.max() == pytest.approx(want.max(), rel=1e-4)
    np.testing.assert_allclose(got, got[::-1], atol=1e-6 * got.max())


def test_anxcor_nodal_records_with_gaps():
    """Three 3-C nodes (50 Hz, 10 min in 2-min files, some files missing): gaps are counted per
    station and channel, never filled; the nine components are computed where data exist."""
    folder = shared_file(
        "anxcor", "test_data", "test_anxcor_database", "test_waveforms_multi_station"
    )
    stream, messages = read_waveform_files(sorted(folder.glob("*.mseed")), errors="raise")
    ws, msgs = to_waveforms(stream)
    assert [w.id for w in ws] == ["AX.1.", "AX.2.", "AX.3."]
    rows = [
        ln.split()
        for ln in shared_file(
            "anxcor", "test_data", "correlation_integration_testing", "nodal_stationlist.txt"
        )
        .read_text()
        .splitlines()
        if ln.strip()
    ]
    st = Stations(
        np.array(["AX"] * len(rows), object),
        np.array([r[0] for r in rows], object),
        np.array([""] * len(rows), object),
        np.array([float(r[2]) for r in rows]),
        np.array([float(r[3]) for r in rows]),
        np.zeros(len(rows)),
        np.full(len(rows), np.nan),
        np.full(len(rows), np.nan),
    )
    ds = corr.correlate(
        ws,
        st,
        components="all",
        window_s=60,
        max_lag_s=5,
        freqmin=0.5,
        freqmax=10.0,
        temporal_norm="onebit",
        max_over_std=None,
    )
    # 10 windows of 60 s. AX.2 lacks N from 2 to 6 min, E and Z from 4 to 6 min, Z from 7:30 to
    # 8:00 (a short file), and ends at 9:30 (to_waveforms masks all components where one lacks
    # data); AX.3 ends at 9:12.
    np.testing.assert_array_equal(ds.windows_used.values, [[10, 10, 10], [4, 4, 4], [9, 9, 9]])
    np.testing.assert_array_equal(ds.windows_gap.values, [[0, 0, 0], [6, 6, 6], [1, 1, 1]])
    assert int(ds.windows_absent.sum() + ds.windows_flat.sum() + ds.windows_spike.sum()) == 0
    n = ds.n_windows.sel(component="ZZ").values
    np.testing.assert_array_equal(n, [4, 9, 4])  # 1-2, 1-3, 2-3
    assert np.isfinite(ds.ccf_linear.values).all()
    d = ds.distance_km.values
    assert 0.5 < d[0] < 1.0
    assert np.isnan(d[1:]).all()
