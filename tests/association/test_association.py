"""Association: the C++ scoring against NumPy references, the search against synthetic truth,
and the errors users see."""

from __future__ import annotations

import numpy as np
import pytest

from seiscore import ConfigError, InputError, _core, synthetic
from seiscore.association import Association, associate
from seiscore.containers import Picks, Stations, TravelTimeTable

VP, VS = 6.3, 3.7


def homogeneous_table(
    vp=VP, vs=VS, max_distance_km=300.0, max_depth_km=40.0, step=1.0
) -> TravelTimeTable:
    dist = np.arange(0.0, max_distance_km + step / 2, step)
    dep = np.arange(0.0, max_depth_km + step / 2, step)
    r = np.hypot(*np.meshgrid(dist, dep))
    return TravelTimeTable(
        ("P", "S"),
        dist,
        dep,
        np.stack([r / vp, r / vs]).astype(np.float32),
        {"P": vp, "S": vs},
        "homogeneous",
    )


# ------------------------------------------------------------------- NumPy references


def ref_travel_time(times, axes, phase, d, z):
    """Bilinear interpolation of times[phase, depth, distance]; NaN outside the table."""
    depth0, ddep, dist0, ddist = axes
    t = times[phase].astype(np.float64)
    nz, nd = t.shape
    fd = (np.asarray(d, float) - dist0) / ddist
    fz = (np.asarray(z, float) - depth0) / ddep
    inside = (fd >= -1e-9) & (fd <= nd - 1 + 1e-9) & (fz >= -1e-9) & (fz <= nz - 1 + 1e-9)
    i = np.clip(np.floor(fd), 0, nd - 2).astype(int)
    j = np.clip(np.floor(fz), 0, nz - 2).astype(int)
    a = np.clip(fd - i, 0, 1)
    b = np.clip(fz - j, 0, 1)
    v = (1 - b) * ((1 - a) * t[j, i] + a * t[j, i + 1]) + b * (
        (1 - a) * t[j + 1, i] + a * t[j + 1, i + 1]
    )
    return np.where(inside, v, np.nan)


def ref_score_origins(station, phase, time, weight, sx, sy, delay, times, axes, cfg, origins):
    """Brute force: for every origin, station and phase, the best matching pick's
    weight * (1 - (r / tol)^2); counts of stations with a matching P / S."""
    tol_s, frac = cfg["tolerance_s"], cfg.get("tolerance_fraction", 0.0)
    maxd = cfg.get("max_distance_km", np.inf)
    out = np.zeros(len(origins))
    n_p = np.zeros(len(origins), int)
    n_s = np.zeros(len(origins), int)
    for o, (x, y, z, t0) in enumerate(origins):
        d = np.hypot(sx - x, sy - y)
        for ph in (0, 1):
            tt = ref_travel_time(times, axes, ph, d, np.full(len(d), z)) + delay[:, ph]
            for s in range(len(sx)):
                if not (d[s] <= maxd) or not np.isfinite(tt[s]):
                    continue
                tol = tol_s + frac * max(tt[s], 0.0)
                sel = (station == s) & (phase == ph)
                r = time[sel] - t0 - tt[s]
                ok = np.abs(r) <= tol
                if ok.any():
                    out[o] += np.max(weight[sel][ok] * (1 - (r[ok] / tol) ** 2))
                    if ph == 0:
                        n_p[o] += 1
                    else:
                        n_s[o] += 1
    return out, n_p, n_s


def _columns(rng, n_st=8, n_picks=300, span=200.0):
    sx = rng.uniform(-50, 50, n_st)
    sy = rng.uniform(-50, 50, n_st)
    delay = rng.uniform(-0.1, 0.3, (n_st, 2)).astype(np.float32)
    station = rng.integers(0, n_st, n_picks).astype(np.int32)
    phase = rng.integers(0, 2, n_picks).astype(np.int8)
    time = rng.uniform(0, span, n_picks)
    weight = rng.uniform(0.2, 1.0, n_picks).astype(np.float32)
    return station, phase, time, weight, sx, sy, delay


def _table_arrays(table: TravelTimeTable):
    axes = (
        float(table.depth_km[0]),
        float(table.depth_km[1] - table.depth_km[0]),
        float(table.distance_km[0]),
        float(table.distance_km[1] - table.distance_km[0]),
    )
    return np.ascontiguousarray(table.times, np.float32), axes


# ------------------------------------------------------------- kernel vs references


def test_travel_time_matches_bilinear_reference(rng):
    times = rng.uniform(0, 50, (2, 7, 11)).astype(np.float32)
    times[1, 3, 4] = np.nan
    axes = (-1.0, 2.5, 3.0, 4.0)  # depths -1..14, distances 3..43
    d = rng.uniform(0, 48, 500)
    z = rng.uniform(-3, 17, 500)
    d[:5] = [3.0, 43.0, 2.99, 43.01, 20.0]
    z[:5] = [-1.0, 14.0, 5.0, 5.0, 14.0]
    for ph in (0, 1):
        got = _core.association.travel_time(times, axes, ph, d, z)
        want = ref_travel_time(times, axes, ph, d, z)
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-5, equal_nan=True)
    assert np.isnan(_core.association.travel_time(times, axes, 0, d[2:4], z[2:4])).all()


def test_score_origins_matches_bruteforce(rng):
    station, phase, time, weight, sx, sy, delay = _columns(rng)
    times, axes = _table_arrays(homogeneous_table(max_distance_km=150.0))
    cfg = dict(tolerance_s=2.0, tolerance_fraction=0.05, max_distance_km=60.0)
    origins = np.c_[
        rng.uniform(-60, 60, 60),
        rng.uniform(-60, 60, 60),
        rng.uniform(0, 30, 60),
        rng.uniform(-20, 200, 60),
    ]
    got = _core.association.score_origins(
        station, phase, time, weight, sx, sy, delay, times, axes, cfg, np.ascontiguousarray(origins)
    )
    want, n_p, n_s = ref_score_origins(
        station, phase, time, weight, sx, sy, delay, times, axes, cfg, origins
    )
    assert (want > 0).sum() > 20  # the test exercises matches, not only empty windows
    np.testing.assert_allclose(got["score"], want, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(got["n_p"], n_p)
    np.testing.assert_array_equal(got["n_s"], n_s)


def test_score_origins_one_pick_per_station_and_phase():
    # two P picks at one station both match: only the better one counts
    times, axes = _table_arrays(homogeneous_table(max_distance_km=100.0))
    sx, sy = np.array([0.0]), np.array([0.0])
    delay = np.zeros((1, 2), np.float32)
    tt = 10.0 / VP
    time = np.array([tt + 0.1, tt - 0.3])
    got = _core.association.score_origins(
        np.zeros(2, np.int32),
        np.zeros(2, np.int8),
        time,
        np.ones(2, np.float32),
        sx,
        sy,
        delay,
        times,
        axes,
        dict(tolerance_s=1.0),
        np.array([[10.0, 0.0, 0.0, 0.0]]),
    )
    assert got["n_p"][0] == 1
    assert got["n_s"][0] == 0
    assert got["score"][0] == pytest.approx(1 - 0.1**2, rel=1e-5)


def test_distance_criterion_drops_isolated_far_picks():
    """30 stations on a line; an event picked at the 5 nearest, plus one pick at the farthest
    that fits its predicted time exactly: dropped with min_pick_fraction=0.25 (6/30 < 0.25),
    kept with 0."""
    n = 30
    sx = np.arange(n) * 8.0
    stations = Stations(
        network=np.array(["XX"] * n, object),
        station=np.array([f"S{i:02d}" for i in range(n)], object),
        location=np.array([""] * n, object),
        latitude=np.full(n, np.nan),
        longitude=np.full(n, np.nan),
        elevation_m=np.zeros(n),
        x_km=sx,
        y_km=np.zeros(n),
    )
    src = np.array([2.0, 3.0, 5.0])
    rows = []
    for i in [0, 1, 2, 3, 4, n - 1]:
        d = np.hypot(sx[i] - src[0], src[1])
        for ph, v in (("P", VP), ("S", VS)):
            rows.append((f"S{i:02d}", ph, 100.0 + np.hypot(d, src[2]) / v))
    t0 = np.datetime64("2024-01-01T00:00:00", "ns")
    k = len(rows)
    picks = Picks(
        network=np.array(["XX"] * k, object),
        station=np.array([r[0] for r in rows], object),
        location=np.array([""] * k, object),
        phase=np.array([r[1] for r in rows], object),
        time=t0 + np.array([round(r[2] * 1e9) for r in rows]).astype("timedelta64[ns]"),
        probability=np.ones(k, np.float32),
        amplitude=np.zeros(k, np.float32),
        snr=np.zeros(k, np.float32),
    )
    kw = dict(
        xlim=(-10, 60),
        ylim=(-20, 20),
        zlim=(0, 10),
        tolerance_s=0.3,
        min_picks=6,
        reference=(0.0, 0.0),
    )
    strict = associate(picks, stations, homogeneous_table(), **kw)
    loose = associate(picks, stations, homogeneous_table(), min_pick_fraction=0.0, **kw)
    assert len(strict.events) == len(loose.events) == 1
    far = picks.station == f"S{n - 1:02d}"
    assert (strict.event_id[far] == -1).all()
    assert (strict.event_id[~far] == 0).all()
    assert (loose.event_id == 0).all()


# ------------------------------------------------------------------ the search


@pytest.fixture(scope="module")
def small_case():
    cat = synthetic.catalogue(
        20,
        60,
        duration_s=3 * 3600.0,
        xlim=(-50, 50),
        ylim=(-50, 50),
        zlim=(0, 20),
        radius_a_km=40.0,
        radius_b_km=40.0,
        seed=7,
    )
    res = associate(
        cat.picks,
        cat.stations,
        homogeneous_table(),
        xlim=(-55, 55),
        ylim=(-55, 55),
        zlim=(0, 20),
        tolerance_s=0.5,
        min_picks=8,
        min_p=3,
        min_s=2,
        min_p_and_s=2,
    )
    return cat, res


def _score(cat, res):
    ev = res.events
    return synthetic.score(
        cat.pick_event,
        res.event_id,
        n_true_events=len(cat.events),
        n_pred_events=len(ev),
        true_xyz=np.c_[cat.events.x_km, cat.events.y_km, cat.events.depth_km],
        pred_xyz=np.c_[ev.x_km, ev.y_km, ev.depth_km],
        true_time_s=cat.event_seconds(),
        pred_time_s=(ev.time - cat.starttime) / np.timedelta64(1, "s"),
    )


def test_recovers_synthetic_truth(small_case):
    cat, res = small_case
    m = _score(cat, res)
    assert isinstance(res, Association)
    assert m["precision"] >= 0.95, m
    assert m["recall"] >= 0.95, m
    assert m["pick_precision"] >= 0.95, m
    assert m["pick_recall"] >= 0.9, m
    assert m["location_error_km"] < 2.0, m
    assert m["time_error_s"] < 0.2, m
    assert res.stats["n_associated"] + res.stats["n_unassociated"] == len(cat.picks)
    assert res.stats["n_unassociated"] == res.n_unassociated == int((res.event_id < 0).sum())


def test_event_picks_are_consistent(small_case):
    """Every event: one pick per station and phase, residuals recomputed from its origin within
    the tolerance, counts and RMS as reported, acceptance criteria met."""
    cat, res = small_case
    ev = res.events
    table = homogeneous_table()
    times, axes = _table_arrays(table)
    sid = {s: i for i, s in enumerate(cat.stations.station)}
    st = np.array([sid[s] for s in cat.picks.station])
    ph = (cat.picks.phase == "S").astype(int)
    t = cat.pick_seconds()
    for e in range(len(ev)):
        mine = np.flatnonzero(res.event_id == e)
        keys = set(zip(st[mine], ph[mine], strict=False))
        assert len(keys) == len(mine)
        assert int((ph[mine] == 0).sum()) == ev.n_p[e]
        assert int((ph[mine] == 1).sum()) == ev.n_s[e]
        both = len({s for s, p in keys if p == 0} & {s for s, p in keys if p == 1})
        assert len(mine) >= 8
        assert ev.n_p[e] >= 3
        assert ev.n_s[e] >= 2
        assert both >= 2
        d = np.hypot(
            cat.stations.x_km[st[mine]] - ev.x_km[e], cat.stations.y_km[st[mine]] - ev.y_km[e]
        )
        tt = np.array(
            [
                ref_travel_time(times, axes, p, [di], [ev.depth_km[e]])[0]
                for p, di in zip(ph[mine], d, strict=False)
            ]
        )
        t0 = (ev.time[e] - cat.starttime) / np.timedelta64(1, "ns") * 1e-9
        r = t[mine] - t0 - tt
        np.testing.assert_allclose(res.residual_s[mine], r, atol=2e-3)
        assert np.all(np.abs(r) <= 0.5 + 2e-3)
        assert ev.rms_s[e] == pytest.approx(np.sqrt(np.mean(r**2)), abs=2e-3)
    assert np.isnan(res.residual_s[res.event_id < 0]).all()
    assert (np.diff(ev.time.astype(np.int64)) >= 0).all()
    np.testing.assert_array_equal(ev.event_id, np.arange(len(ev)))


def test_nothing_qualifies_after_the_search(small_case):
    """Brute-force scan of the leftover picks: no origin on a 2.5 km grid, at any origin time
    implied by a leftover pick, collects enough picks for an event."""
    cat, res = small_case
    left = res.event_id < 0
    table = homogeneous_table()
    times, axes = _table_arrays(table)
    sid = {s: i for i, s in enumerate(cat.stations.station)}
    st = np.array([sid[s] for s in cat.picks.station[left]], np.int32)
    ph = (cat.picks.phase[left] == "S").astype(np.int8)
    t = cat.pick_seconds()[left]
    gx, gy, gz = np.meshgrid(
        np.arange(-55, 56, 2.5), np.arange(-55, 56, 2.5), np.arange(0, 21, 2.5), indexing="ij"
    )
    nodes = np.c_[gx.ravel(), gy.ravel(), gz.ravel()]
    sx, sy = cat.stations.x_km, cat.stations.y_km
    delay = np.zeros((len(sx), 2), np.float32)
    origins = []
    for x, y, z in nodes:
        d = np.hypot(sx[st] - x, sy[st] - y)
        tt = np.where(ph == 0, np.hypot(d, z) / VP, np.hypot(d, z) / VS)
        t0 = np.unique(np.round(t - tt, 1))
        origins.append(np.c_[np.full((len(t0), 3), (x, y, z)), t0])
    origins = np.ascontiguousarray(np.concatenate(origins))
    out = _core.association.score_origins(
        st,
        ph,
        t,
        np.ones(len(t), np.float32),
        sx,
        sy,
        delay,
        times,
        axes,
        dict(tolerance_s=0.5),
        origins,
    )
    best = int((out["n_p"] + out["n_s"]).max(initial=0))
    assert best < 8, best


def test_result_does_not_depend_on_workers(small_case):
    cat, res = small_case
    kw = dict(
        xlim=(-55, 55),
        ylim=(-55, 55),
        zlim=(0, 20),
        tolerance_s=0.5,
        min_picks=8,
        min_p=3,
        min_s=2,
        min_p_and_s=2,
    )
    for workers in (1, 3):
        other = associate(cat.picks, cat.stations, homogeneous_table(), workers=workers, **kw)
        np.testing.assert_array_equal(other.event_id, res.event_id)
        np.testing.assert_array_equal(other.events.time, res.events.time)
        np.testing.assert_array_equal(other.events.x_km, res.events.x_km)


def test_short_blocks_find_the_same_events(small_case):
    """Many block boundaries (block_s far below the 3 h span): no event lost or duplicated."""
    cat, res = small_case
    short = associate(
        cat.picks,
        cat.stations,
        homogeneous_table(),
        xlim=(-55, 55),
        ylim=(-55, 55),
        zlim=(0, 20),
        tolerance_s=0.5,
        min_picks=8,
        min_p=3,
        min_s=2,
        min_p_and_s=2,
        block_s=60.0,
    )
    assert short.stats["n_blocks"] > 2 * res.stats["n_blocks"]
    m = _score(cat, short)
    assert m["precision"] >= 0.95, m
    assert m["recall"] >= 0.95, m
    assert abs(len(short.events) - len(res.events)) <= 1


def test_dense_cluster_overlapping_events():
    """An aftershock-like burst: 200 events in 30 minutes (10,000 a day) within a ~10 km cloud,
    while S travel times reach 40 s across the 50-station network, so events overlap and hide
    each other in the histogram. Each accepted event must uncover the ones it hid (without the
    histogram updates recall falls to ~0.85)."""
    cat = synthetic.catalogue(
        50,
        200,
        duration_s=1800.0,
        xlim=(-100, 100),
        ylim=(-100, 100),
        zlim=(0, 30),
        cluster=(0, 0, 10, 10, 4),
        seed=6,
        travel_time=synthetic.homogeneous_travel_time(VP, VS),
    )
    res = associate(
        cat.picks,
        cat.stations,
        homogeneous_table(max_distance_km=400.0),
        xlim=(-110, 110),
        ylim=(-110, 110),
        zlim=(0, 30),
        tolerance_s=0.5,
        min_picks=10,
        min_p=2,
        min_s=2,
        min_p_and_s=4,
    )
    m = _score(cat, res)
    assert m["recall"] >= 0.93, m
    assert m["f1"] >= 0.95, m
    assert m["pick_precision"] >= 0.93, m


def test_station_elevation_and_probability_weights():
    """Stations up to 2 km high: the elevation correction keeps residuals at the noise level."""
    stations = synthetic.network(
        15, xlim=(-40, 40), ylim=(-40, 40), elevation_m=(0.0, 2000.0), seed=3
    )
    cat = synthetic.picks(
        stations,
        20,
        duration_s=1800.0,
        xlim=(-40, 40),
        ylim=(-40, 40),
        zlim=(2, 15),
        radius_a_km=40.0,
        radius_b_km=60.0,
        timing_noise_s=0.05,
        seed=4,
    )
    res = associate(
        cat.picks,
        cat.stations,
        homogeneous_table(),
        zlim=(0, 20),
        tolerance_s=0.3,
        use_probability=True,
        min_picks=8,
    )
    m = _score(cat, res)
    assert m["f1"] >= 0.95, m
    assert np.nanstd(res.residual_s) < 0.08
    # without the correction (elevations zeroed) residuals grow by up to 2 km / vs = 0.54 s
    flat = Stations(**{f: getattr(cat.stations, f) for f in Stations.__dataclass_fields__})
    flat.elevation_m = np.zeros(len(flat))
    res_flat = associate(
        cat.picks, flat, homogeneous_table(), zlim=(0, 20), tolerance_s=0.3, min_picks=8
    )
    assert np.nanstd(res_flat.residual_s) > np.nanstd(res.residual_s)


def test_projects_stations_without_xy(small_case):
    cat, res = small_case
    st = Stations(**{f: getattr(cat.stations, f) for f in Stations.__dataclass_fields__})
    st.x_km = np.full(len(st), np.nan)
    st.y_km = np.full(len(st), np.nan)
    other = associate(
        cat.picks,
        st,
        homogeneous_table(),
        tolerance_s=0.5,
        min_picks=8,
        min_p=3,
        min_s=2,
        min_p_and_s=2,
        zlim=(0, 20),
    )
    m = _score(cat, other)
    assert m["f1"] >= 0.95
    # lat/lon of events agree with the first run (same reference recovered from x/y)
    np.testing.assert_allclose(
        np.median(res.events.latitude), np.median(other.events.latitude), atol=0.05
    )


def test_events_have_geographic_coordinates(small_case):
    cat, res = small_case
    from seiscore import geo

    x, y = geo.project(res.events.latitude, res.events.longitude, *synthetic.DEFAULT_REFERENCE)
    np.testing.assert_allclose(x, res.events.x_km, atol=1e-6)
    np.testing.assert_allclose(y, res.events.y_km, atol=1e-6)
    assert res.reference == pytest.approx(synthetic.DEFAULT_REFERENCE, abs=1e-6)
    df = res.picks_dataframe()
    assert {"event_id", "residual_s"} <= set(df.columns)
    assert len(df) == len(cat.picks)


def test_sparse_days_stream_through():
    """Two short bursts 20 days apart: the empty blocks between cost nothing."""
    stations = synthetic.network(12, xlim=(-30, 30), ylim=(-30, 30), seed=5)
    a = synthetic.picks(
        stations,
        5,
        duration_s=600.0,
        xlim=(-30, 30),
        ylim=(-30, 30),
        zlim=(0, 10),
        starttime="2024-01-01",
        seed=6,
    )
    b = synthetic.picks(
        stations,
        5,
        duration_s=600.0,
        xlim=(-30, 30),
        ylim=(-30, 30),
        zlim=(0, 10),
        starttime="2024-01-21",
        seed=8,
    )
    picks = Picks.concatenate([a.picks, b.picks])
    res = associate(
        picks, stations, homogeneous_table(), zlim=(0, 10), tolerance_s=0.5, block_s=600.0
    )
    assert res.stats["n_blocks"] > 2000
    assert len(res.events) == 10
    assert res.stats["elapsed_s"] < 10


# ------------------------------------------------------------------------ bad input


def _tiny():
    stations = synthetic.network(6, xlim=(-20, 20), ylim=(-20, 20), seed=1)
    cat = synthetic.picks(
        stations,
        3,
        duration_s=300.0,
        xlim=(-20, 20),
        ylim=(-20, 20),
        zlim=(0, 10),
        min_picks=4,
        min_p_and_s=2,
        seed=2,
    )
    return cat


def test_unknown_station_is_named():
    cat = _tiny()
    picks = cat.picks.select(np.arange(len(cat.picks)))
    picks.station = picks.station.copy()
    picks.station[0] = "NOPE"
    with pytest.raises(InputError, match=r"SY\.NOPE"):
        associate(picks, cat.stations, homogeneous_table(), min_picks=4, min_p_and_s=1)
    res = associate(
        picks,
        cat.stations,
        homogeneous_table(),
        min_picks=4,
        min_p_and_s=1,
        unknown_stations="skip",
    )
    assert res.stats["n_unknown_station"] == 1
    assert res.event_id[0] == -1
    assert "not in the station table" in res.summary()
    # nothing known at all: no events, every pick reported as not associated
    picks.station[:] = "NOPE"
    res = associate(picks, cat.stations, homogeneous_table(), unknown_stations="skip")
    assert len(res.events) == 0
    assert res.stats["n_unassociated"] == len(picks) == res.stats["n_unknown_station"]


def test_other_phases_are_counted_not_dropped():
    cat = _tiny()
    picks = cat.picks.select(np.arange(len(cat.picks)))
    picks.phase = picks.phase.copy()
    picks.phase[:3] = "Pn"
    res = associate(picks, cat.stations, homogeneous_table(), min_picks=4, min_p_and_s=1)
    assert res.stats["n_other_phase"] == 3
    assert (res.event_id[:3] == -1).all()
    assert res.stats["n_unassociated"] >= 3


def test_station_location_code_falls_back_to_network_station():
    cat = _tiny()
    picks = cat.picks.select(np.arange(len(cat.picks)))
    picks.location = np.array(["00"] * len(picks), dtype=object)
    res = associate(picks, cat.stations, homogeneous_table(), min_picks=4, min_p_and_s=1)
    assert res.stats["n_unknown_station"] == 0
    assert len(res.events) >= 1


def test_empty_input_is_an_error():
    cat = _tiny()
    with pytest.raises(InputError, match="no picks"):
        associate(Picks.empty(), cat.stations, homogeneous_table())
    empty_st = cat.stations.select(np.zeros(len(cat.stations), bool))
    with pytest.raises(InputError, match="station table is empty"):
        associate(cat.picks, empty_st, homogeneous_table())


def test_table_that_cannot_reach_the_stations():
    cat = _tiny()
    with pytest.raises(InputError, match="cannot reach the stations"):
        associate(cat.picks, cat.stations, homogeneous_table(max_distance_km=10.0), zlim=(0, 10))
    with pytest.raises(InputError, match="depths"):
        associate(cat.picks, cat.stations, homogeneous_table(max_depth_km=5.0), zlim=(0, 10))
    t = homogeneous_table()
    no_s = TravelTimeTable(("P",), t.distance_km, t.depth_km, t.times[:1], {"P": VP})
    with pytest.raises(InputError, match="needs P and S"):
        associate(cat.picks, cat.stations, no_s)
    nan_s = TravelTimeTable(t.phases, t.distance_km, t.depth_km, t.times.copy(), t.surface_velocity)
    nan_s.times[1] = np.nan
    with pytest.raises(InputError, match="no finite S"):
        associate(cat.picks, cat.stations, nan_s)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        (dict(tolerance_s=0.0), "tolerance_s"),
        (dict(tolerance_fraction=-0.1), "tolerance_fraction"),
        (dict(zlim=(10, 0)), "zlim"),
        (dict(min_picks=0), "min_picks"),
        (dict(block_s=-1.0), "block_s"),
        (dict(unknown_stations="drop"), "unknown_stations"),
        (dict(workers=-2), "workers"),
    ],
)
def test_bad_parameters(kw, match):
    cat = _tiny()
    with pytest.raises((ConfigError, InputError), match=match):
        associate(cat.picks, cat.stations, homogeneous_table(), **kw)


def test_binding_refuses_wrong_dtypes_and_keys(rng):
    station, phase, time, weight, sx, sy, delay = _columns(rng, n_picks=20)
    times, axes = _table_arrays(homogeneous_table(max_distance_km=150.0))
    args = [station, phase, time, weight, sx, sy, delay, times, axes]
    with pytest.raises(ValueError, match="station: expected dtype int32"):
        _core.association.associate(station.astype(np.int64), *args[1:], {})
    with pytest.raises(ValueError, match="time: expected dtype float64"):
        _core.association.associate(*args[:2], time.astype(np.float32), *args[3:], {})
    with pytest.raises(ValueError, match="unknown key 'tolerance'"):
        _core.association.associate(*args, {"tolerance": 1.0})
    with pytest.raises(ValueError, match=r"2, n_depth, n_distance\]"):
        _core.association.associate(*args[:7], np.ascontiguousarray(times[:1]), axes, {})
    with pytest.raises(ValueError, match="station 0: table index 1 outside"):
        _core.association.associate(
            *args, dict(x_max_km=1.0, y_max_km=1.0, z_max_km=1.0), np.ones(len(sx), np.int32)
        )
    with pytest.raises(ValueError, match="min_significance must be finite"):
        _core.association.associate(*args, {"min_significance": -1.0})
    bad = station.copy()
    bad[3] = 99
    with pytest.raises(ValueError, match="pick 3: station index 99"):
        _core.association.associate(bad, *args[1:], dict(x_max_km=1.0, y_max_km=1.0, z_max_km=1.0))
