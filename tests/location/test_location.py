"""Location: the migration kernel against NumPy, onsets, detection, and known hypocentres
(synthetic, and QuakeMigrate's Iceland icequake)."""

from __future__ import annotations

import numpy as np
import pytest
from obspy import UTCDateTime

from seiscore import InputError, _core, geo
from seiscore import location as loc
from seiscore import traveltime as tt
from seiscore.containers import Annotations, Grid3D, Locations, Stations, Waveforms
from seiscore.location.onsets import _sta_lta_centred

from ..conftest import shared_file

# ------------------------------------------------------------------ NumPy reference


def ref_coalescence(onsets, ttimes, active, first, n_out, stacking):
    """coa[node, i] by explicit gathering (float64)."""
    n_st, n_ph, ns = onsets.shape
    rows = onsets.reshape(n_st * n_ph, ns).astype(np.float64)
    t = ttimes.reshape(ttimes.shape[0], -1)
    act = np.flatnonzero(active.ravel())
    idx = first + np.arange(n_out)[None, None, :] + t[:, act, None]
    vals = rows[act[None, :, None], idx]
    m = vals.mean(axis=1)
    return np.exp(m) if stacking == "geometric" else m


def _problem(rng, n_st=5, n_ph=2, ns=900, n_nodes=1500, spread=200):
    onsets = rng.random((n_st, n_ph, ns), dtype=np.float32)
    ttimes = rng.integers(-20, spread, (n_nodes, n_st, n_ph)).astype(np.int32)
    return onsets, ttimes


@pytest.mark.parametrize("stacking", ["mean", "geometric"])
@pytest.mark.parametrize("n_out", [1, 7, 64, 517, 600])
def test_migrate_max_matches_numpy(rng, stacking, n_out):
    onsets, ttimes = _problem(rng)
    active = np.ones(onsets.shape[:2], np.uint8)
    active[1, 0] = 0
    first = 25
    got = _core.location.migrate_max(onsets, ttimes, active, first, n_out, stacking, 0)
    coa = ref_coalescence(onsets, ttimes, active, first, n_out, stacking)
    np.testing.assert_allclose(got["max_coa"], coa.max(axis=0), rtol=2e-6)
    np.testing.assert_array_equal(got["max_node"], coa.argmax(axis=0))
    np.testing.assert_allclose(got["norm_coa"], coa.max(axis=0) / coa.mean(axis=0), rtol=2e-5)
    vol = _core.location.migrate_map(onsets, ttimes, active, first, n_out, stacking, 0)
    np.testing.assert_allclose(vol, coa.T, rtol=2e-6)


def test_migrate_many_nodes_and_workers(rng):
    # more nodes than one summation chunk; results independent of the thread count
    onsets, ttimes = _problem(rng, n_st=3, n_ph=2, ns=250, n_nodes=40_000, spread=100)
    a = _core.location.migrate_max(onsets, ttimes, None, 20, 120, "mean", 1)
    b = _core.location.migrate_max(onsets, ttimes, None, 20, 120, "mean", 3)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    coa = ref_coalescence(onsets, ttimes, np.ones((3, 2), bool), 20, 120, "mean")
    np.testing.assert_allclose(a["max_coa"], coa.max(axis=0), rtol=2e-6)
    np.testing.assert_allclose(a["norm_coa"], coa.max(axis=0) / coa.mean(axis=0), rtol=1e-5)


def test_ties_pick_the_lowest_node():
    onsets = np.ones((2, 1, 50), np.float32)
    ttimes = np.zeros((1200, 2, 1), np.int32)
    got = _core.location.migrate_max(onsets, ttimes, None, 0, 10, "mean", 0)
    assert (got["max_node"] == 0).all()
    assert np.allclose(got["norm_coa"], 1.0)


def test_migrate_rejects_bad_input(rng):
    onsets, ttimes = _problem(rng, ns=300, spread=50)
    with pytest.raises(ValueError, match="reads past the last onset sample.*need at least"):
        _core.location.migrate_max(onsets, ttimes, None, 30, 300, "mean", 0)
    with pytest.raises(ValueError, match="reads before the first onset sample"):
        _core.location.migrate_max(onsets, ttimes, None, 0, 10, "mean", 0)
    with pytest.raises(ValueError, match="dtype"):
        _core.location.migrate_max(onsets.astype(np.float64), ttimes, None, 30, 10, "mean", 0)
    with pytest.raises(ValueError, match="do not match"):
        _core.location.migrate_max(
            onsets, np.ascontiguousarray(ttimes[:, :2]), None, 30, 10, "mean", 0
        )
    with pytest.raises(ValueError, match="no available onsets"):
        _core.location.migrate_max(
            onsets, ttimes, np.zeros(onsets.shape[:2], np.uint8), 30, 10, "mean", 0
        )
    with pytest.raises(ValueError, match="stacking"):
        _core.location.migrate_max(onsets, ttimes, None, 30, 10, "median", 0)
    with pytest.raises(ValueError, match="C-contiguous"):
        _core.location.migrate_max(onsets[:, :, ::2], ttimes, None, 30, 10, "mean", 0)


@pytest.mark.cuda
@pytest.mark.parametrize("stacking", ["mean", "geometric"])
def test_cuda_migrate_parity(rng, stacking):
    from seiscore import _cuda

    onsets, ttimes = _problem(rng, n_st=7, n_ph=2, ns=1200, n_nodes=20_000, spread=300)
    active = np.ones(onsets.shape[:2], np.uint8)
    active[3, 1] = 0
    cpu = _core.location.migrate_max(onsets, ttimes, active, 25, 800, stacking, 0)
    gpu = _cuda.location.migrate_max(onsets, ttimes, active, 25, 800, stacking, 0)
    np.testing.assert_allclose(gpu["max_coa"], cpu["max_coa"], rtol=1e-5)
    np.testing.assert_allclose(gpu["norm_coa"], cpu["norm_coa"], rtol=1e-4)
    assert np.mean(gpu["max_node"] == cpu["max_node"]) > 0.99
    np.testing.assert_allclose(
        _cuda.location.migrate_map(onsets, ttimes, active, 25, 5, stacking, 0),
        _core.location.migrate_map(onsets, ttimes, active, 25, 5, stacking, 0),
        rtol=1e-5,
    )


# ------------------------------------------------------------------ synthetic network

REF = (46.0, 8.0)
START = UTCDateTime(2024, 1, 1)


def _stations(xy, elev):
    lat, lon = geo.unproject(xy[:, 0], xy[:, 1], *REF)
    n = len(xy)
    return Stations(
        np.array(["XX"] * n, object),
        np.array([f"S{i:02d}" for i in range(n)], object),
        np.array([""] * n, object),
        np.asarray(lat),
        np.asarray(lon),
        np.asarray(elev, float),
        np.full(n, np.nan),
        np.full(n, np.nan),
    )


@pytest.fixture(scope="module")
def synthetic():
    rng = np.random.default_rng(7)
    model = tt.VelocityModel(
        [0.0, 4.0, 15.0], [5.0, 6.0, 6.8], [2.9, 3.5, 3.9], name="synthetic 1-D"
    )
    table = tt.build_table(model, 60.0, 25.0, 0.25, 0.25)
    sxy = rng.uniform(-14, 14, (12, 2))
    stations = _stations(sxy, rng.uniform(0, 800, 12))
    grid = Grid3D((-15.0, -15.0, 0.0), (1.0, 1.0, 1.0), (31, 31, 21), REF)
    fs = 50.0
    n = int(100 * fs)
    events = [(20.3, (3.3, -4.6, 7.4)), (55.7, (-8.2, 6.1, 12.6)), (80.05, (10.4, 9.3, 3.2))]
    data = np.abs(rng.normal(0, 0.02, (12, 2, n))).astype(np.float32)
    t = np.arange(n) / fs
    for ot, (x, y, z) in events:
        d = np.hypot(sxy[:, 0] - x, sxy[:, 1] - y)
        for p, ph in enumerate("PS"):
            arrival = ot + tt.travel_times(table, ph, d, z, stations.elevation_m)
            data[:, p] += np.exp(-0.5 * ((t[None, :] - arrival[:, None]) / 0.08) ** 2)
    onsets = loc.Onsets(data, np.ones((12, 2), bool), START, fs, tuple(stations.ids), ("P", "S"))
    ttg = tt.station_grids(table, stations, grid, sampling_rate=fs)
    return dict(table=table, stations=stations, grid=grid, onsets=onsets, tt=ttg, events=events)


def test_synthetic_events_recovered(synthetic):
    s = synthetic
    locs, coa, trig = loc.scan(
        s["onsets"],
        s["tt"],
        s["grid"],
        min_separation_s=5.0,
        marginal_window_s=0.3,
        table=s["table"],
        stations=s["stations"],
    )
    assert isinstance(locs, Locations)
    assert len(locs) == 3
    for k, (ot, (x, y, z)) in enumerate(s["events"]):
        err = np.abs(np.array([locs.x_km[k] - x, locs.y_km[k] - y, locs.depth_km[k] - z]))
        assert np.all(err <= np.array(s["grid"].spacing_km)), (k, err)
        dt = (locs.time[k] - np.datetime64((START + ot).ns, "ns")) / np.timedelta64(1, "s")
        assert abs(dt) <= 0.05, (k, dt)
        lat, lon = geo.unproject(locs.x_km[k], locs.y_km[k], *REF)
        assert locs.latitude[k] == pytest.approx(float(lat))
        assert locs.longitude[k] == pytest.approx(float(lon))
    assert (locs.n_p == 12).all()
    assert (locs.n_s == 12).all()
    assert np.all(np.isfinite(locs.err_x_km))
    assert np.all(locs.cov_z_km > 0)
    assert len(locs.to_events()) == 3


def test_synthetic_without_table_is_within_a_cell(synthetic):
    s = synthetic
    ot, (x, y, z) = s["events"][0]
    locs = loc.locate(
        s["onsets"],
        s["tt"],
        s["grid"],
        np.datetime64((START + ot + 0.1).ns, "ns"),
        marginal_window_s=0.3,
    )
    err = np.abs(np.array([locs.x_km[0] - x, locs.y_km[0] - y, locs.depth_km[0] - z]))
    assert np.all(err <= 1.0), err


def test_coalescence_trace_matches_reference(synthetic):
    s = synthetic
    on = s["onsets"]
    sub = loc.Onsets(
        on.data[:, :, :700].copy(),
        on.available,
        on.starttime,
        on.sampling_rate,
        on.station_ids,
        on.phases,
    )
    coa = loc.coalescence(sub, s["tt"])
    first = max(0, -int(s["tt"].min()))
    n_out = 700 - int(s["tt"].max()) - first
    ref = ref_coalescence(sub.data, s["tt"], sub.available, first, n_out, "mean")
    np.testing.assert_allclose(coa.max_coa, ref.max(axis=0), rtol=2e-6)
    assert coa.first_sample == first
    assert coa.starttime == on.starttime + first / on.sampling_rate
    with pytest.raises(InputError, match="onsets too short"):
        loc.coalescence(
            loc.Onsets(
                on.data[:, :, :50].copy(),
                on.available,
                on.starttime,
                50.0,
                on.station_ids,
                on.phases,
            ),
            s["tt"],
        )
    with pytest.raises(InputError, match="int32 sample offsets"):
        loc.coalescence(sub, s["tt"].astype(np.float32))


def test_detect_threshold_and_separation():
    norm = np.zeros(1000, np.float32)
    norm[[100, 130, 500, 999]] = [3.0, 4.0, 2.5, 5.0]
    coa = loc.Coalescence(START, 100.0, norm.copy(), norm, np.arange(1000))
    trig = loc.detect(coa, 2.0, min_separation_s=0.5, statistic="normalised")
    np.testing.assert_array_equal(trig.sample, [130, 500, 999])
    assert trig.time[0] == np.datetime64((START + 1.3).ns, "ns")
    assert len(loc.detect(coa, 4.5, statistic="normalised")) == 1
    assert len(loc.detect(coa, 4.5, normalised=False)) == 1  # the older spelling
    with pytest.raises(InputError, match="no detection statistic"):
        loc.detect(coa)


def test_onsets_from_annotations(synthetic):
    s = synthetic
    st = s["stations"]
    prob = np.full((2, 100), 0.5, np.float32)
    prob[0, 10:20] = np.nan
    anns = [
        Annotations("XX", "S01", "", "HH", START + 1.0, 50.0, ("P", "S"), prob.copy()),
        Annotations("XX", "S03", "", "HH", START, 50.0, ("P", "S"), prob.copy()),
    ]
    on = loc.onsets_from_annotations(anns, st)
    assert on.starttime == START
    assert on.data.shape == (12, 2, 150)
    assert on.available.sum() == 4
    assert on.available[1].all()
    assert on.available[3].all()
    assert on.data[1, 0, 50] == 0.5
    assert on.data[1, 0, 60] == 0.0
    assert on.data[1, 0, 10] == 0.0
    assert on.data[0].max() == 0
    assert np.isfinite(on.data).all()
    with pytest.raises(InputError, match="off the common time grid"):
        loc.onsets_from_annotations(
            [anns[0], Annotations("XX", "S02", "", "HH", START + 0.013, 50.0, ("P", "S"), prob)], st
        )


def test_sta_lta_onsets_follow_quakemigrate_recipe():
    from obspy import Trace
    from obspy.signal.trigger import classic_sta_lta

    rng = np.random.default_rng(5)
    x = rng.normal(0, 1, (3, 3000)).astype(np.float32)
    x[:, 1500:1600] *= 20
    w = Waveforms("XX", "S00", "", "HH", START, 100.0, ("E", "N", "Z"), x, np.ones(3, bool))
    st = _stations(np.zeros((1, 2)), [0.0])
    on = loc.stalta_onsets(
        [w],
        st,
        bandpass={"P": (2, 20, 2), "S": (2, 20, 2)},
        windows={"P": (0.1, 1.0), "S": (0.2, 2.0)},
        position="classic",
    )
    assert on.stacking == "geometric"
    assert on.data.shape == (1, 2, 3000)

    def one(comp, sta, lta):
        tr = Trace(
            x[("E", "N", "Z").index(comp)].astype(np.float64), header={"sampling_rate": 100.0}
        )
        tr.detrend("linear")
        tr.detrend("constant")
        tr.taper(type="cosine", max_percentage=0.05)
        tr.filter("bandpass", freqmin=2, freqmax=20, corners=2, zerophase=True)
        return np.log(np.clip(1 + classic_sta_lta(tr.data, sta, lta), 0.8, None))

    # the recipe inside; the tapered ends and the first LTA window are neutral (the median)
    taper = 150  # 5 % of 30 s
    for p, ref, nlta in (
        (0, one("Z", 11, 101), 101),
        (1, np.sqrt((one("N", 21, 201) ** 2 + one("E", 21, 201) ** 2) / 2), 201),
    ):
        inside = slice(taper + nlta, 3000 - taper)
        np.testing.assert_allclose(on.data[0, p, inside], ref[inside], rtol=1e-5, atol=1e-6)
        edges = np.r_[on.data[0, p, : taper + nlta], on.data[0, p, 3000 - taper :]]
        np.testing.assert_allclose(edges, np.median(ref[inside]), rtol=1e-5)
    assert 1500 <= np.argmax(on.data[0, 0]) < 1620


def test_centred_sta_lta_matches_loop(rng):
    x = rng.normal(0, 1, 400)
    got = _sta_lta_centred(x, 5, 40)
    ref = np.zeros(400)
    for i in range(400):
        if i + 5 <= 400 and i + 1 >= 40:
            lta = np.mean(x[i + 1 - 40 : i + 1] ** 2)
            ref[i] = np.mean(x[i : i + 5] ** 2) / lta
    np.testing.assert_allclose(got, ref, rtol=1e-10)


def test_onsets_save_load(tmp_path, synthetic):
    on = synthetic["onsets"]
    on.save(tmp_path / "on.npz")
    back = loc.Onsets.load(tmp_path / "on.npz")
    np.testing.assert_array_equal(back.data, on.data)
    assert back.starttime == on.starttime
    assert back.station_ids == on.station_ids
    assert back.stacking == "mean"
    with pytest.raises(InputError, match="not found"):
        loc.Onsets.load(tmp_path / "none.npz")


# ------------------------------------------------------------------ QuakeMigrate's icequake


@pytest.fixture(scope="module")
def iceland():
    """QuakeMigrate's Skeiðarárjökull example: stations, grid, table and travel times with the
    parameters of its SOURCE_NOTES.md."""
    from seiscore.io.stations import read_stations

    root = shared_file("quakemigrate_iceland")
    stations = read_stations(root / "inputs" / "iceland_stations.txt")
    # SOURCE_NOTES.md: homogeneous vp 3.630, vs 1.833 km/s; grid lon -17.24..-17.204, lat
    # 64.322..64.336, depth -1.4..0 km, 0.025 km; STA/LTA onsets at 250 Hz, 10-124 Hz (4 corners),
    # P [0.01, 0.25] s, S [0.05, 0.5] s, centred for locate; marginal window 0.06 s
    ref = (64.329, -17.222)
    x0, y0 = geo.project(64.322, -17.24, *ref)
    x1, y1 = geo.project(64.336, -17.204, *ref)
    d = 0.025
    shape = (int(round((x1 - x0) / d)) + 1, int(round((y1 - y0) / d)) + 1, int(round(1.4 / d)) + 1)
    grid = Grid3D((float(x0), float(y0), -1.4), (d, d, d), shape, ref)
    table = tt.build_table(
        tt.VelocityModel.homogeneous(3.630, 1.833), 3.0, 0.05, 0.01, 0.01, min_depth_km=-1.45
    )
    ttg = tt.station_grids(table, stations, grid, sampling_rate=250.0)
    return root, stations, grid, table, ttg


def _iceland_onsets(root, stations, start, end):
    import obspy

    from seiscore.io.waveforms import to_waveforms

    stream = obspy.read(
        str(root / "inputs" / "mSEED" / "2014" / "180" / "*.m"),
        starttime=UTCDateTime(start) if start else None,
        endtime=UTCDateTime(end) if end else None,
    )
    waveforms, _ = to_waveforms(stream)
    return loc.stalta_onsets(
        waveforms,
        stations,
        sampling_rate=250.0,
        bandpass={"P": (10, 124, 4), "S": (10, 124, 4)},
        windows={"P": (0.01, 0.25), "S": (0.05, 0.5)},
        position="centred",
    )


def test_iceland_icequake_within_50_m_of_quakemigrate(iceland):
    root, stations, grid, table, ttg = iceland
    onsets = _iceland_onsets(root, stations, "2014-06-29T18:42:06", "2014-06-29T18:42:14")
    assert onsets.available.sum() == 24  # 12 stations with data (SKG09 has none) x P, S
    coa = loc.coalescence(
        onsets,
        ttg,
        starttime=UTCDateTime("2014-06-29T18:42:09.8"),
        endtime=UTCDateTime("2014-06-29T18:42:10.8"),
    )
    trig = loc.detect(coa, 2.15, min_separation_s=0.12, statistic="normalised")
    main = int(np.argmax(trig.coherence_norm))
    locs = loc.locate(
        onsets, ttg, grid, trig.time[main], marginal_window_s=0.06, table=table, stations=stations
    )
    # QuakeMigrate's reference event 20140629184210344: lon -17.222065, lat 64.329895,
    # depth -0.645 km, origin 18:42:10.356
    horiz = geo.distance_km(64.329895, -17.222065, locs.latitude[0], locs.longitude[0])
    dist_m = 1000 * float(np.hypot(horiz, locs.depth_km[0] - (-0.645)))
    assert dist_m <= 50.0, dist_m
    dt = (locs.time[0] - np.datetime64("2014-06-29T18:42:10.356")) / np.timedelta64(1, "s")
    assert abs(dt) < 0.05, dt


@pytest.mark.slow
def test_iceland_detections_match_quakemigrate_one_to_one(iceland):
    """The whole 2-minute record scanned with the default statistic and threshold (QuakeMigrate's
    minimum event interval, 0.12 s, and marginal window): within QuakeMigrate's detect window
    (18:42:05-18:42:15) exactly its three triggered events, each once, the largest within 50 m
    of its reference location; nothing else in the record."""
    root, stations, grid, table, ttg = iceland
    onsets = _iceland_onsets(root, stations, None, None)
    res = loc.scan(
        onsets,
        ttg,
        grid,
        min_separation_s=0.12,
        marginal_window_s=0.06,
        table=table,
        stations=stations,
        full=True,
    )
    # example_run_2014_180_TriggeredEvents.csv (QuakeMigrate's trigger, newest version)
    ref = np.array(
        ["2014-06-29T18:42:08.376", "2014-06-29T18:42:09.388", "2014-06-29T18:42:10.344"],
        "datetime64[ns]",
    )
    got = res.locations.time
    assert len(got) == 3, got
    dt = np.abs((got[:, None] - ref[None, :]) / np.timedelta64(1, "s"))
    assert (dt.argmin(axis=1) == [0, 1, 2]).all()  # one to one, in order
    assert dt.min(axis=1).max() < 0.1, dt
    assert not res.triggers.on_edge.any()
    k = int(np.argmax(res.triggers.statistic))
    horiz = geo.distance_km(
        64.329895, -17.222065, res.locations.latitude[k], res.locations.longitude[k]
    )
    assert 1000 * float(np.hypot(horiz, res.locations.depth_km[k] + 0.645)) <= 50.0
