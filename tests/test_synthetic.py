"""seiscore.synthetic: reproducible networks, events and picks with known truth, and scoring."""

from __future__ import annotations

import numpy as np
import pytest

from seiscore import InputError, geo, synthetic


def test_reproducible_by_seed():
    a = synthetic.catalogue(10, 30, duration_s=3600.0, seed=11)
    b = synthetic.catalogue(10, 30, duration_s=3600.0, seed=11)
    c = synthetic.catalogue(10, 30, duration_s=3600.0, seed=12)
    np.testing.assert_array_equal(a.picks.time, b.picks.time)
    np.testing.assert_array_equal(a.picks.station, b.picks.station)
    np.testing.assert_array_equal(a.pick_event, b.pick_event)
    assert not np.array_equal(a.picks.time[:20], c.picks.time[:20])


def test_every_event_is_detectable_and_counts_match():
    cat = synthetic.catalogue(30, 100, duration_s=7200.0, seed=1)
    assert len(cat.events) == 100
    lab = cat.pick_event
    is_p = cat.picks.phase == "P"
    for e in range(len(cat.events)):
        mine = lab == e
        assert mine.sum() >= 10
        p_st = set(cat.picks.station[mine & is_p])
        s_st = set(cat.picks.station[mine & ~is_p])
        assert len(p_st & s_st) >= 4
        assert cat.events.n_p[e] == (mine & is_p).sum()
        assert cat.events.n_s[e] == (mine & ~is_p).sum()
    # false picks: 10 % of the true ones
    n_true = int((lab >= 0).sum())
    assert (lab < 0).sum() == round(0.1 * n_true)
    # sorted by time; times inside the span (noise may push a pick past the end)
    assert (np.diff(cat.picks.time.astype(np.int64)) >= 0).all()
    t = cat.pick_seconds()
    assert t.min() >= 0
    assert t.max() < 7200.0 + 120.0


def test_head_is_a_consistent_sub_catalogue():
    cat = synthetic.catalogue(10, 60, duration_s=7200.0, seed=13)
    half = cat.head(3600.0)
    assert 0 < len(half.events) < 60
    assert (half.event_seconds() < 3600.0).all()
    # every kept event keeps all its picks; ids are renumbered 0..n-1
    np.testing.assert_array_equal(
        np.bincount(half.pick_event[half.pick_event >= 0]), half.events.n_p + half.events.n_s
    )
    false = half.pick_event < 0
    assert (half.pick_seconds()[false] < 3600.0).all()
    assert len(half.picks) == len(half.pick_event)


def test_timing_noise_and_travel_times():
    """Pick time − origin − homogeneous travel time (exact station elevation) is Gaussian with the
    requested sigma."""
    st = synthetic.network(25, xlim=(-50, 50), ylim=(-50, 50), elevation_m=(0, 1500), seed=2)
    cat = synthetic.picks(
        st,
        200,
        duration_s=86400.0,
        xlim=(-50, 50),
        ylim=(-50, 50),
        zlim=(0, 20),
        timing_noise_s=0.2,
        false_fraction=0.0,
        seed=3,
        travel_time=synthetic.homogeneous_travel_time(6.0, 3.5),
    )
    idx = {s: i for i, s in enumerate(st.station)}
    s_i = np.array([idx[s] for s in cat.picks.station])
    e = cat.pick_event
    d = np.hypot(st.x_km[s_i] - cat.events.x_km[e], st.y_km[s_i] - cat.events.y_km[e])
    v = np.where(cat.picks.phase == "P", 6.0, 3.5)
    # exact for a station above sea level in the same half-space (the synthetic convention)
    tt = np.hypot(d, cat.events.depth_km[e] + st.elevation_m[s_i] / 1000.0) / v
    r = cat.pick_seconds() - cat.event_seconds()[e] - tt
    assert abs(r.mean()) < 0.01
    assert r.std() == pytest.approx(0.2, rel=0.05)


def test_drop_fraction():
    """With a huge detection radius every station detects: the drop fraction is what is missing."""
    st = synthetic.network(40, seed=4)
    full = synthetic.picks(
        st, 50, radius_b_km=5000.0, drop_fraction=0.0, false_fraction=0.0, seed=5
    )
    assert len(full.picks) >= 50 * 40 * 2 - 5
    part = synthetic.picks(
        st, 50, radius_b_km=5000.0, drop_fraction=0.3, false_fraction=0.0, seed=5
    )
    assert len(part.picks) / len(full.picks) == pytest.approx(0.7, abs=0.03)


def test_magnitudes_and_detection_radius():
    st = synthetic.network(50, seed=6)
    cat = synthetic.catalogue(stations=st, n_events=400, seed=7)
    m = cat.magnitude
    assert m.min() >= -0.5
    assert m.max() <= 6.0
    # bigger events are seen by more stations
    n = cat.events.n_p + cat.events.n_s
    big = m > np.quantile(m, 0.8)
    small = m < np.quantile(m, 0.2)
    assert n[big].mean() > n[small].mean()


def test_gutenberg_richter_b_value():
    ev = synthetic.events(20000, b_value=1.0, m_min=0.0, m_max=9.0, seed=8)
    m = ev["magnitude"]
    b = np.log10(np.e) / (m.mean() - 0.0)  # Aki's maximum-likelihood estimate
    assert b == pytest.approx(1.0, rel=0.05)


def test_cluster_concentrates_events():
    ev = synthetic.events(2000, cluster=(10.0, -5.0, 8.0, 3.0, 1.0), zlim=(0, 30), seed=9)
    assert np.std(ev["x_km"]) == pytest.approx(3.0, rel=0.1)
    assert abs(np.mean(ev["y_km"]) + 5.0) < 0.3
    assert np.std(ev["depth_km"]) == pytest.approx(1.0, rel=0.1)


def test_network_geography():
    st = synthetic.network(10, reference=(45.0, 7.0), seed=10)
    x, y = geo.project(st.latitude, st.longitude, 45.0, 7.0)
    np.testing.assert_allclose(x, st.x_km, atol=1e-6)
    np.testing.assert_allclose(y, st.y_km, atol=1e-6)
    assert list(st.station[:2]) == ["S000", "S001"]


def test_network_from_file(tmp_path):
    path = tmp_path / "stations.csv"
    path.write_text(
        "network,station,latitude,longitude,elevation_m\nXX,A,42.0,13.0,100\nXX,B,42.1,13.2,900\n"
    )
    st = synthetic.network_from_file(path, reference=(42.0, 13.0))
    assert list(st.station) == ["A", "B"]
    assert st.x_km[0] == pytest.approx(0.0, abs=1e-9)
    assert st.y_km[1] == pytest.approx(11.12, abs=0.05)
    assert st.elevation_m[1] == 900
    # default reference: the centroid, so the network is centred on 0
    centred = synthetic.network_from_file(path)
    assert abs(centred.x_km.mean()) < 0.1
    assert abs(centred.y_km.mean()) < 0.1
    cat = synthetic.picks(
        centred,
        2,
        xlim=(-5, 20),
        ylim=(-5, 15),
        min_picks=2,
        min_p_and_s=1,
        radius_b_km=500.0,
        seed=1,
    )
    assert set(cat.picks.station) <= {"A", "B"}
    bad = tmp_path / "bad.csv"
    bad.write_text("net,sta\nXX,A\n")
    with pytest.raises(InputError, match="bad.csv"):
        synthetic.network_from_file(bad)
    with pytest.raises(InputError, match="not found"):
        synthetic.network_from_file(tmp_path / "nope.csv")


def test_bad_parameters():
    st = synthetic.network(5, seed=1)
    with pytest.raises(InputError, match="drop_fraction"):
        synthetic.picks(st, 1, drop_fraction=1.5)
    with pytest.raises(InputError, match="n_stations"):
        synthetic.network(0)
    with pytest.raises(InputError, match="detectable"):
        synthetic.picks(st, 1, radius_a_km=0.0, radius_b_km=-500.0)


# ------------------------------------------------------------------------- scoring


def test_score_perfect_and_empty():
    true = np.array([0, 0, 0, 1, 1, 1, -1])
    m = synthetic.score(true, true)
    assert m["precision"] == m["recall"] == m["f1"] == 1.0
    assert m["pick_precision"] == m["pick_recall"] == 1.0
    m = synthetic.score(true, np.full(7, -1), n_true_events=2, n_pred_events=0)
    assert m["recall"] == 0.0
    assert m["f1"] == 0.0
    assert m["precision"] == 0.0


def test_score_sixty_percent_rule():
    # true event 0 has 10 picks; prediction A holds 6 of them (0.6 -> found),
    # prediction B holds the other 4 plus 2 false picks (no match, a false event)
    true = np.array([0] * 10 + [-1, -1])
    pred = np.array([0] * 6 + [1] * 4 + [1, 1])
    m = synthetic.score(true, pred)
    assert m["n_matched"] == 1
    assert m["n_pred"] == 2
    assert m["precision"] == 0.5
    assert m["recall"] == 1.0
    assert m["pick_precision"] == pytest.approx(6 / 12)
    assert m["pick_recall"] == pytest.approx(6 / 10)
    # 5 of 10 is not enough; and a prediction that adds many extra picks is not a match either
    assert synthetic.score(true, np.array([0] * 5 + [-1] * 7))["n_matched"] == 0
    bloated = np.array([0] * 10 + [0, 0])
    true2 = np.array([0] * 6 + [1] * 4 + [-1, -1])
    assert synthetic.score(true2, bloated)["n_matched"] == 0  # 6 / max(12, 6) = 0.5


def test_score_location_errors():
    true = np.array([0, 0, 1, 1])
    pred = np.array([1, 1, 0, 0])  # ids permuted
    m = synthetic.score(
        true,
        pred,
        true_xyz=[[0, 0, 0], [10, 0, 5]],
        pred_xyz=[[10, 3, 9], [0, 0, 0]],
        true_time_s=[0.0, 5.0],
        pred_time_s=[5.5, 0.0],
    )
    assert m["location_error_km"] == pytest.approx(2.5)  # median of 0 and 5
    assert m["horizontal_error_km"] == pytest.approx(1.5)
    assert m["depth_error_km"] == pytest.approx(2.0)
    assert m["time_error_s"] == pytest.approx(0.25)
