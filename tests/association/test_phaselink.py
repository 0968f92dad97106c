"""PhaseLink association without torch: the C++ generator, sequences, pair filter, linking,
locating and matching against NumPy references and synthetic truth, the linker card, and the
whole of associate_phaselink with a hand-made ONNX linker (a time-proximity rule)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from seiscore import ConfigError, InputError, _core, synthetic
from seiscore.association import (
    Association,
    Linker,
    associate_phaselink,
    generator_settings,
    linker_card,
    linker_network,
    read_linker_card,
    synthetic_sequences,
)
from seiscore.association.linker import FEATURES, INPUT_NAME, OUTPUT_NAME
from seiscore.containers import Picks, TravelTimeTable

VP, VS = 6.3, 3.7
A = _core.association


def homogeneous_table(vp=VP, vs=VS, max_distance_km=300.0, max_depth_km=40.0):
    dist = np.arange(0.0, max_distance_km + 0.5, 1.0)
    dep = np.arange(0.0, max_depth_km + 0.5, 1.0)
    r = np.hypot(*np.meshgrid(dist, dep))
    return TravelTimeTable(
        ("P", "S"), dist, dep, np.stack([r / vp, r / vs]).astype(np.float32),
        {"P": vp, "S": vs}, "homogeneous",
    )  # fmt: skip


@pytest.fixture(scope="module")
def stations():
    return synthetic.network(12, xlim=(-40.0, 40.0), ylim=(-40.0, 40.0), seed=3)


@pytest.fixture(scope="module")
def net(stations):
    return linker_network(
        stations, homogeneous_table(), xlim=(-45, 45), ylim=(-45, 45), zlim=(0, 20), max_picks=48
    )


def tt(phase, d, z):
    return np.hypot(d, z) / (VP if phase == 0 else VS)


# ------------------------------------------------------------------------------ the network


def test_network_features_and_pair_bounds(net, stations):
    f = net.features
    assert f["max_picks"] == 48
    assert f["scale_km"] > 10
    # the window is the S time across the network, at least
    assert f["window_s"] >= net.diameter_km / VS - 1
    n_k = 2 * len(stations)
    assert net.pair_lo.shape == (n_k, n_k)
    assert (net.pair_lo <= net.pair_hi).all()
    # every difference of arrival times from sources in the volume lies within the bounds
    rng = np.random.default_rng(0)
    src = np.c_[rng.uniform(-45, 45, 300), rng.uniform(-45, 45, 300), rng.uniform(0, 20, 300)]
    d = np.hypot(net.x_km[None] - src[:, :1], net.y_km[None] - src[:, 1:2])
    arr = np.stack([tt(0, d, src[:, 2:3]), tt(1, d, src[:, 2:3])], axis=2).reshape(300, n_k)
    diff = arr[:, None, :] - arr[:, :, None]  # [source, a, b] = T_b - T_a
    assert (diff >= net.pair_lo[None] - 1e-4).all()
    assert (diff <= net.pair_hi[None] + 1e-4).all()
    # and the bounds are not much wider than needed: the margin plus the sampling slop
    width = net.pair_hi - net.pair_lo
    true_width = diff.max(0) - diff.min(0)
    assert np.median(width - true_width) < 2 * f["pair_margin_s"] + 3.0


# ---------------------------------------------------------------------------- the generator


def test_generator_is_seeded_and_independent_of_threads(net):
    gen = generator_settings(net)
    a = synthetic_sequences(net, 64, seed=7, settings=gen, workers=1)
    b = synthetic_sequences(net, 64, seed=7, settings=gen, workers=2)
    c = synthetic_sequences(net, 32, seed=7, first=32, settings=gen, workers=2)
    for u, v in zip(a, b, strict=True):
        np.testing.assert_array_equal(u, v)
    np.testing.assert_array_equal(a[0][32:], c[0])  # sequence i depends on (seed, i) only
    d = synthetic_sequences(net, 64, seed=8, settings=gen)
    assert not np.array_equal(a[0], d[0])


def test_generator_sequences_are_well_formed(net):
    x, y, length = synthetic_sequences(net, 400, seed=1)
    L = net.features["max_picks"]
    assert x.shape == (400, L, 5)
    assert y.shape == (400, L)
    assert (length >= 1).all()
    assert (length <= L).all()
    rows = np.arange(L)[None, :] < length[:, None]
    np.testing.assert_array_equal(x[..., 4], rows.astype(np.float32))
    assert not x[~rows].any()
    assert not y[~rows].any()
    assert (y[:, 0] == 1).all()
    assert (x[:, 0, 2] == 0).all()
    dt = x[..., 2][rows]
    assert dt.min() >= 0
    assert dt.max() <= 1.0
    assert set(np.unique(x[..., 3][rows])) <= {0.0, 1.0}
    # positions are the stations' (in units of the scale)
    pos = x[..., :2][rows]
    sx = (net.x_km - net.features["center_x_km"]) / net.features["scale_km"]
    sy = (net.y_km - net.features["center_y_km"]) / net.features["scale_km"]
    st = np.c_[sx, sy].astype(np.float32)
    assert np.abs(pos[:, None, :] - st[None]).max(axis=2).min(axis=1).max() < 1e-6
    # a mix: sequences with several linked picks and unlinked ones
    assert (y.sum(1) >= 5).mean() > 0.2
    assert ((y == 0) & rows).sum() > 0


def test_generator_linked_picks_fit_one_source(net):
    """Without timing errors, the linked picks of a sequence fit one hypocentre."""
    gen = generator_settings(
        net, noise_min_s=0.0, noise_max_s=0.0, outlier_fraction=0.0, model_error_max=0.0,
        false_rate_min=1e-6, false_rate_max=1e-6,
    )  # fmt: skip
    x, y, length = synthetic_sequences(net, 30, seed=2, settings=gen)
    f = net.features
    axes = (np.arange(-45, 46, 1.5), np.arange(-45, 46, 1.5), np.arange(0, 21, 1.0))
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, 3)
    checked = 0
    for i in np.flatnonzero(y.sum(1) >= 6)[:8]:
        k = y[i] > 0
        sx = x[i, k, 0] * f["scale_km"] + f["center_x_km"]
        sy = x[i, k, 1] * f["scale_km"] + f["center_y_km"]
        t = x[i, k, 2] * f["window_s"]
        ph = x[i, k, 3]
        d = np.hypot(sx[None] - grid[:, :1], sy[None] - grid[:, 1:2])
        pred = np.where(ph[None] == 0, tt(0, d, grid[:, 2:3]), tt(1, d, grid[:, 2:3]))
        o = t[None] - pred
        spread = o.max(1) - o.min(1)
        assert spread.min() < 0.6  # grid spacing 1.5 km: < 0.6 s of slop
        checked += 1
    assert checked >= 3


# ----------------------------------------------------------------------------- sequences


def ref_sequences(net, station, phase, time, starts):
    f = net.features
    L, W = f["max_picks"], f["window_s"]
    x = np.zeros((len(starts), L, 5), np.float32)
    index = np.full((len(starts), L), -1)
    for i, s in enumerate(starts):
        k = 0
        ka = station[s] * 2 + phase[s]
        for j in range(s, len(time)):
            dt = time[j] - time[s]
            if dt > W or k == L:
                break
            kb = station[j] * 2 + phase[j]
            if j != s and not (net.pair_lo[ka, kb] <= dt <= net.pair_hi[ka, kb]):
                continue
            x[i, k] = [
                (net.x_km[station[j]] - f["center_x_km"]) / f["scale_km"],
                (net.y_km[station[j]] - f["center_y_km"]) / f["scale_km"],
                dt / W, phase[j], 1.0,
            ]  # fmt: skip
            index[i, k] = j
            k += 1
    return x, index


def test_sequences_match_numpy(net, stations):
    rng = np.random.default_rng(4)
    n = 300
    time = np.sort(rng.uniform(0, 400, n))
    station = rng.integers(0, len(stations), n).astype(np.int32)
    phase = rng.integers(0, 2, n).astype(np.int8)
    starts = np.arange(0, n, 7, dtype=np.int64)
    x, index, length = A.phaselink_sequences(
        net.x_km, net.y_km, station, phase, time, starts, net.features, *net.pair_bounds(), 2
    )
    rx, ri = ref_sequences(net, station, phase, time, starts)
    np.testing.assert_array_equal(index, ri)
    np.testing.assert_allclose(x, rx, atol=1e-6)
    np.testing.assert_array_equal(length, (ri >= 0).sum(1))
    # without the pair filter every pick within the window enters
    x2, i2, l2 = A.phaselink_sequences(
        net.x_km, net.y_km, station, phase, time, starts, net.features, None, None, 1
    )
    assert (l2 >= length).all()
    assert (l2 > length).any()


def test_sequences_refuse_bad_input(net):
    t = np.array([1.0, 0.5])
    st = np.zeros(2, np.int32)
    ph = np.zeros(2, np.int8)
    s = np.zeros(1, np.int64)
    with pytest.raises(ValueError, match="sorted"):
        A.phaselink_sequences(net.x_km, net.y_km, st, ph, t, s, net.features, None, None)
    with pytest.raises(ValueError, match="starts"):
        A.phaselink_sequences(
            net.x_km, net.y_km, st, ph, np.sort(t), np.array([5], np.int64), net.features,
            None, None,
        )  # fmt: skip
    with pytest.raises(ValueError, match="dtype"):
        A.phaselink_sequences(net.x_km, net.y_km, st, ph.astype(np.int32), t, s, net.features,
                              None, None)  # fmt: skip
    with pytest.raises(ValueError, match="unknown key"):
        A.phaselink_sequences(net.x_km, net.y_km, st, ph, np.sort(t), s, {"bogus": 1}, None, None)
    with pytest.raises(ValueError, match="pair"):
        A.phaselink_sequences(net.x_km, net.y_km, st, ph, np.sort(t), s, net.features,
                              net.pair_lo[:2, :2].copy(), net.pair_hi[:2, :2].copy())  # fmt: skip


# --------------------------------------------------------------------------------- linking


def _csr(sets):
    offsets = np.zeros(len(sets) + 1, np.int64)
    offsets[1:] = np.cumsum([len(s) for s in sets])
    return offsets, np.array([j for s in sets for j in s], np.int64)


def test_link_nucleates_merges_and_votes():
    sets = [
        [0, 1, 2, 3, 4],  # cluster 0
        [1, 2, 3, 4, 5],  # shares 4 of 5 -> merges into 0
        [6, 7],  # too small: skipped
        [6, 7, 8, 9, 10],  # new cluster 1
        [10, 11, 12, 13, 14],  # shares 1 of 5 < 3 -> cluster 2
        [3, 11, 12, 13, 14],  # shares 4 with cluster 2 -> merges there; 3 gets a vote there
    ]
    cluster, votes, n = A.phaselink_link(
        *_csr(sets), 16, {"min_nucleate": 3, "min_merge": 3, "merge_fraction": 0.5}
    )
    assert n == 3
    np.testing.assert_array_equal(
        cluster, [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, -1]
    )  # 3: two votes for 0, one for 2; 10: one vote each, the earlier cluster wins
    np.testing.assert_array_equal(votes[[0, 1, 3, 5, 10, 15]], [1, 2, 2, 1, 1, 0])
    with pytest.raises(ValueError, match="members"):
        A.phaselink_link(*_csr([[0, 99]]), 5, {})
    with pytest.raises(ValueError, match="unknown key"):
        A.phaselink_link(*_csr([[0]]), 5, {"threshold": 0.5})


# -------------------------------------------------------------------------------- locating


def _event_picks(net, events, rng, noise=0.05, drop=0.0):
    """Picks (sorted) of events (x, y, z, t0) at every station, P and S."""
    st, ph, t, ev = [], [], [], []
    for e, (x, y, z, t0) in enumerate(events):
        d = np.hypot(net.x_km - x, net.y_km - y)
        for p in (0, 1):
            keep = rng.random(len(d)) >= drop
            st.append(np.flatnonzero(keep))
            ph.append(np.full(keep.sum(), p))
            t.append(t0 + tt(p, d[keep], z) + rng.normal(0, noise, keep.sum()))
            ev.append(np.full(keep.sum(), e))
    st, ph, t, ev = map(np.concatenate, (st, ph, t, ev))
    o = np.argsort(t, kind="stable")
    return st[o].astype(np.int32), ph[o].astype(np.int8), t[o], ev[o]


def _locate_cfg(net, **kw):
    return dict(net.volume, tolerance_s=0.5, slowness_s_km=1 / VS, min_step_km=0.25,
                min_picks=6, max_events=3, workers=2, **kw)  # fmt: skip


def test_locate_finds_the_hypocentre_and_splits_two_events(net):
    rng = np.random.default_rng(5)
    events = np.array([[10.0, -12.0, 8.0, 20.0], [-25.0, 20.0, 14.0, 24.0]])
    st, ph, t, ev = _event_picks(net, events, rng)
    t = t + 0.0
    out = A.phaselink_locate(st, ph, t, *net.kernel_network(),
                             np.array([0, len(t)], np.int64), np.arange(len(t)),
                             _locate_cfg(net))  # fmt: skip
    assert len(out["x_km"]) == 2  # one cluster holding two events gives both
    got = np.c_[out["x_km"], out["y_km"], out["z_km"], out["time"]]
    for e in events:
        j = np.argmin(np.hypot(got[:, 0] - e[0], got[:, 1] - e[1]))
        assert np.hypot(*(got[j, :2] - e[:2])) < 1.5
        assert abs(got[j, 2] - e[2]) < 3.0
        assert abs(got[j, 3] - e[3]) < 0.2
    member_event = out["event_of_member"]
    assert (member_event >= 0).mean() > 0.95
    for k in range(2):  # each event's inliers are (but for a chance fit) one event's picks
        counts = np.bincount(ev[member_event == k])
        assert counts.max() >= 0.9 * counts.sum()
    res = out["residual_of_member"][member_event >= 0]
    assert np.abs(res).max() <= 0.5
    assert np.std(res) < 0.1


def test_match_takes_the_nearest_pick_within_tolerance(net):
    rng = np.random.default_rng(6)
    events = np.array([[0.0, 0.0, 10.0, 30.0]])
    st, ph, t, _ = _event_picks(net, events, rng, noise=0.0)
    # a decoy 0.3 s after every true pick, and a far pick outside the tolerance
    st2 = np.r_[st, st, st[:1]]
    ph2 = np.r_[ph, ph, ph[:1]]
    t2 = np.r_[t, t + 0.3, t[:1] + 5.0]
    o = np.argsort(t2, kind="stable")
    st2, ph2, t2 = st2[o].astype(np.int32), ph2[o].astype(np.int8), t2[o]
    out = A.phaselink_match(st2, ph2, t2, *net.kernel_network(), events, 0.5, 1e9, 2)
    assert len(out["pick"]) == len(t)  # one per station and phase
    assert np.abs(out["residual"]).max() < 0.01  # the true picks, not the decoys
    out = A.phaselink_match(st2, ph2, t2, *net.kernel_network(), events, 0.5, 10.0, 2)
    d = np.hypot(net.x_km, net.y_km)
    assert len(out["pick"]) == 2 * int((d <= 10.0).sum())  # max_distance_km


# ------------------------------------------------------------ the whole, with an ONNX linker


def time_linker(path, net, fraction=0.25):
    """An ONNX linker that links the picks within ``fraction`` of the window of the start pick
    (no training, no torch): enough for well separated events."""
    import onnx
    from onnx import TensorProto, helper

    nodes = [
        helper.make_node("Gather", ["picks", "i2"], ["dt"], axis=2),
        helper.make_node("Gather", ["picks", "i4"], ["valid"], axis=2),
        helper.make_node("Less", ["dt", "limit"], ["near"]),
        helper.make_node("Cast", ["near"], ["nearf"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["nearf", "valid"], [OUTPUT_NAME]),
    ]
    graph = helper.make_graph(
        nodes, "time_linker",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["b", "n", 5])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["b", "n"])],
        [helper.make_tensor("i2", TensorProto.INT64, [], [2]),
         helper.make_tensor("i4", TensorProto.INT64, [], [4]),
         helper.make_tensor("limit", TensorProto.FLOAT, [], [fraction])],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    card = linker_card(net, name="time", generator=generator_settings(net),
                       model={"architecture": "time rule"}, training={})  # fmt: skip
    path.with_suffix(".json").write_text(json.dumps(card))
    return path


@pytest.fixture(scope="module")
def scenario(stations):
    """Six events a minute apart, 5 % of picks dropped, a few false picks."""
    rng = np.random.default_rng(11)
    n = 6
    ev = np.c_[rng.uniform(-30, 30, n), rng.uniform(-30, 30, n), rng.uniform(2, 18, n),
               60.0 * np.arange(1, n + 1)]  # fmt: skip
    net0 = linker_network(stations, homogeneous_table(), xlim=(-45, 45), ylim=(-45, 45),
                          zlim=(0, 20))  # fmt: skip
    st, ph, t, lab = _event_picks(net0, ev, rng, noise=0.05, drop=0.05)
    k = 10
    st = np.r_[st, rng.integers(0, len(stations), k)]
    ph = np.r_[ph, rng.integers(0, 2, k)]
    t = np.r_[t, rng.uniform(0, 420, k)]
    lab = np.r_[lab, np.full(k, -1)]
    n_p = len(t)
    picks = Picks(
        network=stations.network[st], station=stations.station[st],
        location=stations.location[st], phase=np.where(ph == 0, "P", "S").astype(object),
        time=np.datetime64("2024-01-01T00:00:00", "ns")
        + np.round(t * 1e9).astype("timedelta64[ns]"),
        probability=np.ones(n_p, np.float32), amplitude=np.full(n_p, np.nan, np.float32),
        snr=np.full(n_p, np.nan, np.float32),
    )  # fmt: skip
    return picks, ev, lab


def test_associate_phaselink_finds_the_events(tmp_path, stations, scenario):
    picks, truth, lab = scenario
    net0 = linker_network(stations, homogeneous_table(), xlim=(-45, 45), ylim=(-45, 45),
                          zlim=(0, 20), max_picks=64)  # fmt: skip
    path = time_linker(tmp_path / "time.onnx", net0)
    res = associate_phaselink(picks, stations, homogeneous_table(), path, tolerance_s=0.5,
                              min_picks=8, workers=2)  # fmt: skip
    assert isinstance(res, Association)
    assert res.stats["method"] == "phaselink"
    assert len(res.events) == len(truth)
    s = synthetic.score(lab, res.event_id, n_pred_events=len(res.events))
    assert s["precision"] == 1.0
    assert s["recall"] == 1.0
    assert s["pick_precision"] > 0.98
    t0 = (res.events.time - np.datetime64("2024-01-01T00:00:00", "ns")) / np.timedelta64(1, "s")
    np.testing.assert_allclose(t0, truth[:, 3], atol=0.15)
    np.testing.assert_allclose(res.events.x_km, truth[:, 0], atol=1.5)
    assert (np.diff(t0) > 0).all()
    assert (res.events.event_id == np.arange(len(truth))).all()
    assert np.nanmax(np.abs(res.residual_s)) <= 0.5
    assert np.isnan(res.residual_s[res.event_id < 0]).all()
    assert (res.significance > 0).all()
    assert len(res.score) == len(truth)
    n = res.stats
    assert n["n_associated"] + n["n_unassociated"] == len(picks)
    assert n["n_sequences"] >= 6
    # every pick starts a sequence when skipping is off: the same events
    res0 = associate_phaselink(picks, stations, homogeneous_table(), path, tolerance_s=0.5,
                               min_picks=8, skip_linked=0, workers=1)  # fmt: skip
    assert res0.stats["n_sequences"] == len(picks) > n["n_sequences"]
    np.testing.assert_array_equal(res0.event_id, res.event_id)
    # the Linker object works as well as the path, and the summary reads
    res2 = associate_phaselink(picks, stations, homogeneous_table(), Linker.load(path),
                               tolerance_s=0.5, min_picks=8)  # fmt: skip
    np.testing.assert_array_equal(res2.event_id, res.event_id)
    assert "6 events" in res.summary()


def test_associate_phaselink_errors(tmp_path, stations, scenario, net):
    picks, _, _ = scenario
    path = time_linker(tmp_path / "time.onnx", net)
    with pytest.raises(InputError, match="linker not found"):
        associate_phaselink(picks, stations, homogeneous_table(), tmp_path / "none.onnx")
    with pytest.raises(ConfigError, match="threshold"):
        associate_phaselink(picks, stations, homogeneous_table(), path, threshold=1.5)
    with pytest.raises(ConfigError, match="skip_linked"):
        associate_phaselink(picks, stations, homogeneous_table(), path, skip_linked=-1)
    with pytest.raises(InputError, match="empty"):
        associate_phaselink(picks.select(np.zeros(len(picks), bool)), stations,
                            homogeneous_table(), path)  # fmt: skip
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(path.read_bytes())
    bad.with_suffix(".json").write_text(json.dumps({"kind": "picker"}))
    with pytest.raises(InputError, match="not a PhaseLink linker card"):
        associate_phaselink(picks, stations, homogeneous_table(), bad)


def test_linker_card_round_trip(tmp_path, net):
    path = time_linker(tmp_path / "time.onnx", net)
    card = read_linker_card(path)
    assert card["features"] == list(FEATURES)
    assert card["network"]["features"] == net.features
    assert len(card["network"]["stations"]) == len(net.x_km)
    linker = Linker.load(path)
    assert linker.reference == tuple(net.reference)
    (tmp_path / "x.json").write_text("{not json")
    with pytest.raises(InputError, match="JSON"):
        read_linker_card(tmp_path / "x.json")
    with pytest.raises(InputError, match="card not found"):
        read_linker_card(tmp_path / "nothing.onnx")


def test_linker_notes_stations_it_was_not_trained_with(tmp_path, stations, net):
    path = time_linker(tmp_path / "time.onnx", net)
    fewer = stations.select(np.arange(len(stations)) < 8)
    card = json.loads(path.with_suffix(".json").read_text())
    card["network"]["stations"] = card["network"]["stations"][:8]
    path.with_suffix(".json").write_text(json.dumps(card))
    other = Linker.load(path).network_for(stations, homogeneous_table())
    assert any("not trained with 4 of these stations" in n for n in other.notes)
    assert not Linker.load(path).network_for(fewer, homogeneous_table()).notes
