"""Association you can trust (issue 13): the significance of an event against a NumPy reference,
the acceptance threshold, the null test, the exact station-elevation correction and the depth
datum."""

from __future__ import annotations

import numpy as np
import pytest

from seiscore import ConfigError, _core, synthetic, traveltime
from seiscore.association import Association, NullTest, associate
from seiscore.association.null_test import run_null_test, windows_for
from seiscore.containers import Stations, TravelTimeTable

VP, VS = 6.3, 3.7
FRACTIONS = (1.0, 0.5, 0.25, 0.125)


def homogeneous_table(vp=VP, vs=VS, max_distance_km=300.0, min_depth_km=0.0, max_depth_km=40.0):
    dist = np.arange(0.0, max_distance_km + 0.5, 1.0)
    dep = np.arange(min_depth_km, max_depth_km + 0.25, 0.5)
    r = np.hypot(*np.meshgrid(dist, dep))
    return TravelTimeTable(
        ("P", "S"),
        dist,
        dep,
        np.stack([r / vp, r / vs]).astype(np.float32),
        {"P": vp, "S": vs},
        "homogeneous",
    )


# ------------------------------------------------------------------- NumPy reference

LOCAL_S = 300.0  # half-width of the local pick-rate window


def ref_station(t, station, phase, s, arrival, tol, own, block_rate):
    """(expected chance picks per phase, pair chance per fraction) of station ``s`` for windows at
    ``arrival[phase]`` ± ``tol[phase]`` (NaN arrival: not reached); ``own[phase]``: index of
    the event's pick (-1: none); ``block_rate[2 s + phase]``: picks/s over the block."""
    t_first, t_last = t.min(), t.max()
    expected = np.zeros(2)
    for ph in (0, 1):
        if np.isnan(arrival[ph]):
            continue
        lo, hi = max(arrival[ph] - LOCAL_S, t_first), min(arrival[ph] + LOCAL_S, t_last)
        mine = (station == s) & (phase == ph)
        count = np.count_nonzero(mine & (t >= lo) & (t <= hi)) - (own[ph] >= 0)
        local = max(count, 0) / max(hi - lo, 1.0)
        expected[ph] = max(block_rate[2 * s + ph], local) * 2 * tol[ph]
    pair = np.zeros(len(FRACTIONS))
    if not np.isnan(arrival).any():
        p_idx = np.flatnonzero((station == s) & (phase == 0) & (np.abs(t - arrival[0]) <= LOCAL_S))
        p_idx = p_idx[p_idx != own[0]]
        s_t = np.sort(t[(station == s) & (phase == 1)])
        lag = arrival[1] - arrival[0]
        miss = np.array([np.abs(s_t - (t[k] + lag)).min() if len(s_t) else np.inf for k in p_idx])
        for fi, f in enumerate(FRACTIONS):
            prior = 1 - np.exp(-f * expected[1])
            hits = np.count_nonzero(miss <= f * (tol[0] + tol[1]))
            pair[fi] = (hits + prior) / (len(p_idx) + 1)
    return expected, pair


def ref_significance(stations) -> float:
    """-log10 of the smallest chance probability over distance-ordered station prefixes and
    window fractions. ``stations``: (distance, index, reach[2], expected[2], u[2], pair[4]) per
    station reached; per fraction f a station catches none, one or both of its windows by chance
    with odds from p = 1 - exp(-f expected) and the P/S pair chance; the counts are convolved
    out in full here."""
    order = sorted(range(len(stations)), key=lambda k: (stations[k][0], stations[k][1]))
    best = 1.0
    for fi, f in enumerate(FRACTIONS):
        rows = []
        for k in order:
            _, _, reach, expected, u, pair = stations[k]
            pp = 1 - np.exp(-f * expected[0]) if reach[0] else 0.0
            ps = 1 - np.exp(-f * expected[1]) if reach[1] else 0.0
            both = min(max(pp * ps, pp * pair[fi]), min(pp, ps)) if all(reach) else 0.0
            hits = sum(1 for ph in (0, 1) if reach[ph] and u[ph] <= f)
            rows.append(([1 - pp - ps + both, pp + ps - 2 * both, both], hits))
        if not sum(h for _, h in rows):
            continue
        dist, seen = np.array([1.0]), 0
        for odds, hits in rows:
            dist = np.convolve(dist, odds)
            seen += hits
            if seen:
                best = min(best, float(dist[seen:].sum()))
    return -np.log10(max(best, 1e-300))


def _rates(station, phase, t, n_st):
    span = max(1.0, float(t.max() - t.min()))
    return np.bincount(station * 2 + phase, minlength=2 * n_st) / span


def test_significance_of_origins_matches_reference():
    rng = np.random.default_rng(3)
    n_st, n_picks = 7, 400
    sx, sy = rng.uniform(-40, 40, n_st), rng.uniform(-40, 40, n_st)
    delay = np.zeros((n_st, 2), np.float32)
    station = rng.integers(0, n_st, n_picks).astype(np.int32)
    phase = rng.integers(0, 2, n_picks).astype(np.int8)
    t = rng.uniform(0, 1200, n_picks)
    w = rng.uniform(0.2, 1.0, n_picks).astype(np.float32)
    table = homogeneous_table(max_distance_km=120.0)
    times = np.ascontiguousarray(table.times)
    axes = (0.0, 0.5, 0.0, 1.0)
    cfg = dict(tolerance_s=1.5, tolerance_fraction=0.05)
    origins = np.c_[
        rng.uniform(-30, 30, 40), rng.uniform(-30, 30, 40), rng.uniform(0, 20, 40),
        rng.uniform(0, 1200, 40),
    ]  # fmt: skip
    out = _core.association.score_origins(
        station, phase, t, w, sx, sy, delay, times, axes, cfg, np.ascontiguousarray(origins)
    )
    rate = _rates(station, phase, t, n_st)
    for o, (x, y, z, t0) in enumerate(origins):
        d = np.hypot(sx - x, sy - y)
        rows = []
        for s in range(n_st):
            arrival, tol, own, u = np.zeros(2), np.zeros(2), [-1, -1], [2.0, 2.0]
            for ph, v in ((0, VP), (1, VS)):
                tt = np.hypot(d[s], z) / v
                arrival[ph], tol[ph] = t0 + tt, 1.5 + 0.05 * tt
                idx = np.flatnonzero((station == s) & (phase == ph))
                r = t[idx] - arrival[ph]
                ok = np.abs(r) <= tol[ph]
                if ok.any():
                    k = np.argmax(np.where(ok, w[idx] * (1 - (r / tol[ph]) ** 2), -1))
                    own[ph], u[ph] = idx[k], abs(r[k]) / tol[ph]
            expected, pair = ref_station(t, station, phase, s, arrival, tol, own, rate)
            rows.append((d[s], s, (True, True), expected, u, pair))
        ref = ref_significance(rows)
        assert out["significance"][o] == pytest.approx(ref, rel=2e-3, abs=2e-3), o


@pytest.fixture(scope="module")
def short_case():
    """20 minutes, 20 stations, 30 events, 30 % false picks: one time block."""
    cat = synthetic.catalogue(
        20,
        30,
        duration_s=1200.0,
        xlim=(-50, 50),
        ylim=(-50, 50),
        zlim=(0, 20),
        radius_a_km=40.0,
        radius_b_km=40.0,
        false_fraction=0.3,
        seed=21,
    )
    kw = dict(xlim=(-55, 55), ylim=(-55, 55), zlim=(0, 20), tolerance_s=0.5)
    return cat, kw, associate(cat.picks, cat.stations, homogeneous_table(), **kw)


def test_event_significance_is_that_of_its_picks(short_case):
    """Every event's significance, recomputed from its own picks and the stations' pick rates
    over the (single) time block."""
    cat, kw, res = short_case
    assert res.stats["n_blocks"] == 1
    assert len(res.events) >= 20
    st_index = {s: i for i, s in enumerate(cat.stations.station)}
    station = np.array([st_index[s] for s in cat.picks.station])
    phase = (cat.picks.phase == "S").astype(int)
    t = cat.pick_seconds()
    rate = _rates(station, phase, t, len(cat.stations))
    ev = res.events
    t_ev = (ev.time - cat.starttime) / np.timedelta64(1, "ns") * 1e-9
    for e in range(len(ev)):
        mine = np.flatnonzero(res.event_id == e)
        d = np.hypot(cat.stations.x_km - ev.x_km[e], cat.stations.y_km - ev.y_km[e])
        rows = []
        for s in range(len(d)):
            own, u = [-1, -1], [2.0, 2.0]
            for i in mine[station[mine] == s]:
                own[phase[i]], u[phase[i]] = i, abs(res.residual_s[i]) / 0.5
            tt = np.hypot(d[s], ev.depth_km[e]) / np.array([VP, VS])
            expected, pair = ref_station(t, station, phase, s, t_ev[e] + tt, (0.5, 0.5), own, rate)
            rows.append((d[s], s, (True, True), expected, u, pair))
        ref = ref_significance(rows)
        assert res.significance[e] == pytest.approx(ref, rel=5e-3, abs=5e-3), e
    assert (res.significance >= res.config["min_significance"]).all()


def test_threshold_keeps_real_events_and_drops_chance_ones(short_case):
    cat, kw, res = short_case
    loose = associate(cat.picks, cat.stations, homogeneous_table(), min_significance=0, **kw)
    assert res.config["min_significance"] > 5  # the default: log10(trials per hour) + margin
    assert loose.config["min_significance"] == 0
    assert len(res.events) <= len(loose.events)
    assert (loose.significance < res.config["min_significance"]).any()
    m = synthetic.score(cat.pick_event, res.event_id, n_true_events=len(cat.events))
    assert m["recall"] >= 0.95, m
    assert m["precision"] >= 0.97, m


def test_pure_noise_makes_no_events():
    """Random picks at 900 per station and hour (the dense benchmark's rate is ~430): the
    minimum counts alone accept many chance coincidences, the significance threshold none."""
    st = synthetic.network(20, xlim=(-40, 40), ylim=(-40, 40), seed=2)
    picks = synthetic.noise_picks(st, 900.0, duration_s=400.0, seed=3)
    kw = dict(xlim=(-44, 44), ylim=(-44, 44), zlim=(0, 20), tolerance_s=0.5)
    table = homogeneous_table()
    loose = associate(picks, st, table, min_significance=0, **kw)
    strict = associate(picks, st, table, **kw)
    assert len(loose.events) > 20
    assert len(strict.events) == 0


# ----------------------------------------------------------------------------- null test


def test_null_test_is_reported(short_case):
    cat, kw, _ = short_case
    res = associate(cat.picks, cat.stations, homogeneous_table(), null_test=2, **kw)
    null = res.null_test
    assert isinstance(null, NullTest)
    assert null.measured
    assert null.repeats == 2
    assert null.hours > 0
    assert null.n_stations == len(np.unique(cat.picks.station))
    assert null.events_per_hour == pytest.approx(null.n_events / null.hours)
    assert res.stats["null_events_per_hour"] == null.events_per_hour
    assert "null test:" in res.summary()
    report = res.null_test_report()
    assert report["line"].startswith("null test:")
    assert "significance" not in report
    again = associate(cat.picks, cat.stations, homogeneous_table(), null_test=2, **kw)
    assert again.null_test.n_events == null.n_events  # seeded: the same shifts
    # the real events are not touched by the null test
    plain = associate(cat.picks, cat.stations, homogeneous_table(), **kw)
    np.testing.assert_array_equal(plain.event_id, res.event_id)
    assert plain.null_test is None
    assert "null_events_per_hour" not in plain.stats


def test_null_test_shifts_every_station_apart():
    """The shifted copies keep each station's picks (circularly over the span) and move the
    stations apart by distinct multiples of the step."""
    rng = np.random.default_rng(0)
    n_st, step = 12, 50.0
    base = np.sort(rng.uniform(0, 2000, 40))
    row = np.repeat(np.arange(n_st), 40)
    t = np.tile(base, n_st)  # the same picks at every station
    seen = []

    def search(r, ph, ts, w):
        seen.append((r.copy(), ts.copy()))
        return {"time": np.array([]), "significance": np.array([])}

    out = run_null_test(
        search, row, np.zeros(len(row), np.int8), t, np.ones(len(row), np.float32),
        step_s=step, margin_s=0.0, repeats=1, window_s=1e9, seed=4,
    )  # fmt: skip
    assert out.measured
    assert out.n_offset_classes == n_st
    assert out.note == ""
    r, ts = seen[0]
    t0, period = base.min(), base.max() - base.min() + 1.0
    offsets = []
    for s in range(n_st):
        mine = np.sort(ts[r == s]) + t0  # the search sees times from the window's start
        # the offset that maps the original picks onto these
        found = [
            o
            for o in np.mod(base - mine[0], period)
            if np.allclose(np.sort(t0 + np.mod(base - t0 - o, period)), mine)
        ]
        assert found, s
        offsets.append(found[0])
    gaps = np.diff(np.sort(np.mod(np.array(offsets) - offsets[0], period)))
    assert gaps.min() >= step - 1e-6


def test_null_test_not_run_on_short_spans(short_case):
    cat, kw, _ = short_case
    res = associate(cat.picks, cat.stations, homogeneous_table(), null_test="auto", **kw)
    assert not res.null_test.measured
    assert "automatic null test" in res.null_test.note
    assert res.stats["null_events_per_hour"] is None
    assert not any(n.startswith("null test not run") for n in res.notes)  # auto: quietly
    assert res.null_test.automatic
    assert res.null_test_report()["line"] == ""
    asked = associate(cat.picks, cat.stations, homogeneous_table(), null_test=True, **kw)
    assert asked.null_test.measured
    assert not asked.null_test.automatic
    n, length, note = windows_for(86400.0, "auto", None, None)
    assert n == 3
    assert 0 < length * n <= 0.01 * 86400.0
    assert note == ""
    with pytest.raises(ConfigError, match="null_test"):
        associate(cat.picks, cat.stations, homogeneous_table(), null_test="often", **kw)


# ------------------------------------------------------------ elevation and depth datum


@pytest.fixture(scope="module")
def mountain_case():
    """Stations 1–2 km above sea level, events from 1 km above to 12 km below sea level; the
    truth uses exact straight rays to the elevated stations."""
    stations = synthetic.network(
        16, xlim=(-30, 30), ylim=(-30, 30), elevation_m=(1000.0, 2000.0), seed=8
    )
    cat = synthetic.picks(
        stations,
        25,
        duration_s=1200.0,
        xlim=(-25, 25),
        ylim=(-25, 25),
        zlim=(-1.0, 12.0),
        radius_a_km=40.0,
        radius_b_km=60.0,
        timing_noise_s=0.03,
        false_fraction=0.0,
        seed=9,
    )
    table = homogeneous_table(min_depth_km=-2.0, max_depth_km=20.0)
    kw = dict(xlim=(-33, 33), ylim=(-33, 33), zlim=(-2.0, 15.0), tolerance_s=0.3, min_picks=8)
    return cat, table, kw, associate(cat.picks, cat.stations, table, **kw)


def test_exact_elevation_correction(mountain_case):
    """Residuals are those of traveltime's exact ("fermat") correction, and at the timing noise;
    the simple static (elevation / surface velocity) would be up to 2 km / vs = 0.5 s off."""
    cat, table, kw, res = mountain_case
    ev = res.events
    st = {s: i for i, s in enumerate(cat.stations.station)}
    i = np.flatnonzero(res.event_id >= 0)
    e = res.event_id[i]
    s = np.array([st[x] for x in cat.picks.station[i]])
    d = np.hypot(cat.stations.x_km[s] - ev.x_km[e], cat.stations.y_km[s] - ev.y_km[e])
    t0 = (ev.time[e] - cat.starttime) / np.timedelta64(1, "ns") * 1e-9
    pred = np.empty(len(i))
    for ph in ("P", "S"):
        k = cat.picks.phase[i] == ph
        pred[k] = traveltime.travel_times(
            table, ph, d[k], ev.depth_km[e][k], cat.stations.elevation_m[s][k]
        )
    np.testing.assert_allclose(res.residual_s[i], cat.pick_seconds()[i] - t0 - pred, atol=5e-3)
    assert np.sqrt(np.mean(res.residual_s[i] ** 2)) < 0.05


def test_depth_datum_is_sea_level(mountain_case):
    """Depths are km below sea level (negative above it) in the result, whatever the stations'
    height: no offset by the station elevations (1–2 km), also for events above sea level."""
    cat, table, kw, res = mountain_case
    m = synthetic.score(
        cat.pick_event,
        res.event_id,
        n_true_events=len(cat.events),
        true_xyz=np.c_[cat.events.x_km, cat.events.y_km, cat.events.depth_km],
        pred_xyz=np.c_[res.events.x_km, res.events.y_km, res.events.depth_km],
    )
    assert m["recall"] >= 0.95, m
    assert m["depth_error_km"] < 0.3, m
    ids = np.unique(res.event_id[res.event_id >= 0])
    true_of = {}
    for e in ids:
        lab = cat.pick_event[res.event_id == e]
        true_of[e] = np.bincount(lab[lab >= 0]).argmax()
    dz = [res.events.depth_km[e] - cat.events.depth_km[true_of[e]] for e in ids]
    assert abs(np.median(dz)) < 0.15  # no datum offset
    assert (cat.events.depth_km < 0).any()
    above = [e for e in ids if cat.events.depth_km[true_of[e]] < 0]
    assert above
    assert all(res.events.depth_km[e] < 0.6 for e in above)


def test_stations_share_corrected_tables():
    """One table per group of equal elevations; stations at sea level use the table itself."""
    from seiscore.association.tables import _elevation_groups

    step, groups, index = _elevation_groups(np.array([0.0, 1001.0, 1002.4, 0.0, 2500.0]), 1000)
    assert step == 5.0
    np.testing.assert_array_equal(groups, [0.0, 1000.0, 2500.0])
    np.testing.assert_array_equal(index, [0, 1, 1, 0, 2])
    step, groups, _ = _elevation_groups(np.arange(0.0, 4000.0, 7.0), 1 << 28)
    assert step > 5.0
    assert len(groups) * (1 << 28) <= 1 << 30


def test_flat_stations_unchanged_by_elevation_tables(short_case):
    """Stations at sea level: one table, identical to the given one."""
    cat, kw, res = short_case
    assert isinstance(res, Association)
    flat = Stations(**{f: getattr(cat.stations, f) for f in Stations.__dataclass_fields__})
    flat.elevation_m = np.zeros(len(flat))
    same = associate(cat.picks, flat, homogeneous_table(), **kw)
    np.testing.assert_array_equal(same.event_id, res.event_id)


def test_model_above_sea_level_is_noted(mountain_case):
    """A model with layers above sea level (VELEST-style negative depths) that differ from the
    velocity just below it: the note says the correction uses the latter; a model whose top is
    at sea level gives no note."""
    cat, table, kw, _ = mountain_case
    above = traveltime.VelocityModel([-3.0, 0.0, 10.0], [5.0, 6.3, 6.6], [2.9, 3.7, 3.8], "v")
    flat = traveltime.VelocityModel([0.0, 10.0], [6.3, 6.6], [3.7, 3.8], "flat")
    noted = associate(cat.picks, cat.stations, above, **kw)
    assert any("layers above sea level" in n and "below sea level" in n for n in noted.notes)
    plain = associate(cat.picks, cat.stations, flat, **kw)
    assert not any("above sea level" in n for n in plain.notes)


def test_quakeml_depth_is_below_sea_level(mountain_case):
    """The catalogue of ``seiscore run`` writes the association's depth in metres below sea
    level (QuakeML's datum), for events below and above it."""
    from seiscore.containers import Locations
    from seiscore.workflow.pipeline import build_catalog

    _, _, _, res = mountain_case
    catalog = build_catalog(res, Locations.empty())
    depths = np.array([ev.origins[0].depth for ev in catalog])
    np.testing.assert_allclose(depths, res.events.depth_km * 1000.0, atol=0.01)
    assert (depths < 0).any()
