"""Migration detection you can trust: the statistic, one event per peak (separation, side lobes,
order), the grid's boundary, chunks, and synthetic hours with known truth (STA/LTA and
PhaseNet-like onsets, and noise only)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from obspy import UTCDateTime

from seiscore import location as loc
from seiscore import synthetic
from seiscore import traveltime as tt
from seiscore.containers import Grid3D
from seiscore.location.detect import _tapered_dilation, grid_tolerance, widen
from seiscore.workflow import demo

START = UTCDateTime(2024, 1, 1)

# ---------------------------------------------------------------------------- the statistic


def test_statistic_is_robust_and_floored():
    rng = np.random.default_rng(0)
    fs = 20.0
    s = 0.3 + 0.01 * rng.standard_normal(12000)
    s[5000:5010] += 1.0  # an event
    z, bg, noise = loc.detection_statistic(s, fs, unit=1e-4, background_s=100.0)
    assert np.allclose(bg, 0.3, atol=0.005)
    assert np.allclose(noise, 0.01, rtol=0.1)
    assert z[5005] == pytest.approx(100.0, rel=0.1)
    # a quiet background (probabilities) cannot make a blip an event: the unit is the floor
    quiet = np.full(4000, 1e-3)
    quiet[2000] = 0.05  # one station-phase of 24 at probability ~1
    z, _, noise = loc.detection_statistic(quiet, fs, unit=1 / 24)
    assert noise.max() == 0
    assert z[2000] == pytest.approx(0.049 * 24, rel=1e-3)
    # blocks are anchored at the record start: a chunk sees the same background
    full = loc.detection_statistic(s, fs, 1e-4, background_s=100.0)[1]
    part = loc.detection_statistic(s[4000:9000], fs, 1e-4, background_s=100.0, offset=4000)[1]
    np.testing.assert_allclose(part[1100:3900], full[5100:7900])


def _coa(stat):
    n = len(stat)
    return loc.Coalescence(
        START,
        10.0,
        np.zeros(n, np.float32),
        np.zeros(n, np.float32),
        np.zeros(n, np.int64),
        statistic=np.asarray(stat, float),
    )


def test_detect_honours_the_separation_and_sorts():
    z = np.zeros(200)
    z[[50, 52, 58, 120, 190]] = [7.0, 9.0, 8.0, 6.5, 20.0]
    trig = loc.detect(_coa(z), min_separation_s=1.0)
    np.testing.assert_array_equal(trig.sample, [52, 120, 190])  # 50, 58: within 1 s of 52
    assert np.all(np.diff(trig.time) > np.timedelta64(0))
    assert len(loc.detect(_coa(z), threshold=10.0)) == 1
    assert len(loc.detect(_coa(np.zeros(30)))) == 0


def test_boundary_flags_the_faces_but_a_surface_top():
    grid = Grid3D((0.0, 0.0, 0.0), (1.0, 1.0, 1.0), (5, 4, 3))
    ijk = [(2, 2, 1), (0, 2, 1), (4, 1, 1), (2, 3, 1), (2, 1, 2), (2, 1, 0)]
    nodes = [np.ravel_multi_index(q, grid.shape) for q in ijk]
    np.testing.assert_array_equal(loc.on_boundary(grid, nodes), [0, 1, 1, 1, 1, 0])
    deep = Grid3D((0.0, 0.0, 5.0), (1.0, 1.0, 1.0), (5, 4, 3))  # starts below sea level
    assert loc.on_boundary(deep, [nodes[-1]])[0]
    flat = Grid3D((0.0, 0.0, 5.0), (1.0, 1.0, 1.0), (5, 4, 1))  # one depth: no depth faces
    assert not loc.on_boundary(flat, [np.ravel_multi_index((2, 2, 0), flat.shape)])[0]


def test_widening_keeps_each_peak_where_it_was():
    row = np.zeros(40, np.float32)
    row[20] = 1.0
    out = _tapered_dilation(row, 4)
    assert out.argmax() == 20
    assert out[16] == pytest.approx(1 - 4 / 10)
    assert out[15] == 0
    grid = Grid3D((0.0, 0.0, 0.0), (1.0, 1.0, 1.0), (3, 2, 2))
    tt_ = np.arange(12, dtype=np.int32).reshape(12, 1, 1) * 3  # steps of 3, 6, 12 samples
    assert grid_tolerance(tt_, grid)[0, 0] == 6  # half the largest step (12), rounded up
    data = np.zeros((1, 1, 40), np.float32)
    data[0, 0, 20] = 1.0
    np.testing.assert_array_equal(widen(data, np.array([[4]]))[0, 0], out)


# ---------------------------------------------------------------------- synthetic hours


def _setup(**kw):
    sc = demo.continuous_scenario(**kw)
    (x0, x1), (y0, y1), (z0, z1) = sc["grid"]
    sp = 2.0
    shape = tuple(int(round((b - a) / sp)) + 1 for a, b in sc["grid"])
    grid = Grid3D((x0, y0, z0), (sp, sp, sp), shape, synthetic.DEFAULT_REFERENCE)
    model = tt.VelocityModel.homogeneous(sc["vp"], sc["vs"])
    table = tt.build_table(model, 60.0, z1 + 1.0, 0.5, 0.5)
    return sc, grid, table


def _score(sc, locs, grid, tol_s=1.0):
    """Precision, recall, duplicates and the worst location error (per axis, in cells) of the
    detections against the events inside the grid; a detection near an event outside the grid
    counts as false."""
    ev = sc["events"]
    t0 = np.datetime64(sc["starttime"].ns, "ns")
    truth = t0 + np.round(ev["time_s"] * 1e9).astype("timedelta64[ns]")
    used, good, dup, cells = set(), 0, 0, 0.0
    for i in range(len(locs)):
        dt = np.abs((truth - locs.time[i]) / np.timedelta64(1, "s"))
        j = int(np.argmin(dt)) if len(dt) else -1
        if j < 0 or dt[j] > tol_s or not ev["inside"][j]:
            continue
        if j in used:
            dup += 1
            continue
        used.add(j)
        good += 1
        err = np.abs([locs.x_km[i] - ev["x_km"][j], locs.y_km[i] - ev["y_km"][j],
                      locs.depth_km[i] - ev["depth_km"][j]])  # fmt: skip
        cells = max(cells, float(np.max(err / np.asarray(grid.spacing_km))))
    n_in = int(ev["inside"].sum())
    return dict(
        precision=good / max(len(locs), 1), recall=good / max(n_in, 1), dup=dup, cells=cells
    )


@pytest.fixture(scope="module")
def hour():
    sc, grid, table = _setup(seed=0)
    anns = demo.probability_annotations(sc, seed=100)
    onsets = loc.onsets_from_annotations(anns, sc["stations"])
    ttg = tt.station_grids(table, sc["stations"], grid, sampling_rate=onsets.sampling_rate)
    return sc, grid, table, onsets, ttg


def test_scenario_has_what_the_issue_asks_for(hour):
    sc = hour[0]
    ev = sc["events"]
    assert sc["duration_s"] == 3600.0
    assert ev["inside"].sum() >= 30
    gaps = np.diff(ev["time_s"][ev["inside"]])
    assert ((gaps >= 2.0) & (gaps <= 5.0)).sum() >= 3  # pairs 2-5 s apart
    assert (~ev["inside"]).sum() >= 3  # events just outside the grid
    assert len(sc["bursts"]["time_s"]) >= 10  # noise bursts at single stations
    assert np.ptp(ev["magnitude"]) > 1.0  # varied sizes


@pytest.mark.slow
def test_phasenet_like_hour(hour):
    sc, grid, table, onsets, ttg = hour
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no library warning reaches the user
        res = loc.scan(onsets, ttg, grid, table=table, stations=sc["stations"], full=True)
    s = _score(sc, res.locations, grid)
    assert s["precision"] >= 0.95, s
    assert s["recall"] >= 0.95, s
    assert s["dup"] == 0
    assert s["cells"] <= 1.0, s  # every location within one grid cell of the truth
    times = res.locations.time
    assert np.all(np.diff(times) >= np.timedelta64(1, "s"))  # sorted, min separation kept
    np.testing.assert_array_equal(res.locations.event_id, np.arange(len(times)))
    assert not res.triggers.on_edge.any()
    assert res.n_side_lobes > 0
    # chunked (10-minute chunks, each read on its own) finds the same events
    chunked = loc.scan(
        onsets, ttg, grid, chunk_s=600.0, table=table, stations=sc["stations"], full=True
    )
    assert len(chunked.locations) == len(times)
    gap = np.abs((chunked.locations.time - times) / np.timedelta64(1, "s"))
    assert gap.max() < 0.05


@pytest.mark.slow
def test_stalta_hour():
    sc, grid, table = _setup(seed=0)
    from seiscore.io.waveforms import to_waveforms

    waveforms, _ = to_waveforms(demo.scenario_waveforms(sc, seed=100))
    onsets = loc.stalta_onsets(waveforms, sc["stations"], sampling_rate=50.0, position="centred")
    ttg = tt.station_grids(table, sc["stations"], grid, sampling_rate=50.0)
    res = loc.scan(onsets, ttg, grid, table=table, stations=sc["stations"], full=True)
    s = _score(sc, res.locations, grid)
    assert s["precision"] >= 0.95, s
    assert s["recall"] >= 0.95, s
    assert s["dup"] == 0
    assert s["cells"] <= 1.0, s
    assert len(res.edge) >= 1  # the events outside the grid were seen, and left out
    assert any("grid's boundary" in m for m in res.messages)
    assert res.n_side_lobes > 10  # peaks above the threshold that larger neighbours explain


def test_real_phasenet_on_synthetic_records():
    """The bundled PhaseNet on 100 Hz records (8 stations, 500 s, 6 events inside the grid, one
    outside, 3 noise bursts): every event once, nothing else. (Pairs within a few seconds are
    left to the PhaseNet-like hour: PhaseNet rarely gives a P for an event in another's coda.)"""
    from seiscore import picking
    from seiscore.io.waveforms import to_waveforms
    from seiscore.models import load_model

    sc, grid, table = _setup(
        duration_s=500.0, n_events=6, n_pairs=0, n_outside=1, n_bursts=3, seed=0
    )
    model = load_model("phasenet")
    waveforms, _ = to_waveforms(
        demo.scenario_waveforms(sc, seed=3),
        sampling_rate=model.card.sampling_rate,
        components=model.card.channel_order,
    )
    onsets = loc.onsets_from_annotations(picking.annotate(waveforms, model), sc["stations"])
    ttg = tt.station_grids(table, sc["stations"], grid, sampling_rate=onsets.sampling_rate)
    res = loc.scan(onsets, ttg, grid, table=table, stations=sc["stations"], full=True)
    s = _score(sc, res.locations, grid)
    assert s["precision"] == 1.0, s
    assert s["recall"] == 1.0, s
    assert s["cells"] <= 1.0, s
    assert len(res.edge) == 1  # the event outside the grid


@pytest.mark.parametrize("kind", ["phasenet-like", "stalta"])
def test_an_hour_of_noise_gives_nothing(kind):
    sc, grid, table = _setup(seed=1, n_events=0, n_pairs=0, n_outside=0, n_bursts=0)
    if kind == "stalta":
        from seiscore.io.waveforms import to_waveforms

        waveforms, _ = to_waveforms(demo.scenario_waveforms(sc, seed=5))
        onsets = loc.stalta_onsets(waveforms, sc["stations"], sampling_rate=50.0)
    else:
        onsets = loc.onsets_from_annotations(
            demo.probability_annotations(sc, seed=5), sc["stations"]
        )
    ttg = tt.station_grids(table, sc["stations"], grid, sampling_rate=50.0)
    locs, coa, trig = loc.scan(onsets, ttg, grid)
    assert len(locs) == 0
    assert np.max(coa.statistic) < 0.5 * loc.DEFAULT_THRESHOLD  # far from it, not just under


def test_one_station_and_an_event_on_the_edge_do_not_crash(hour, tmp_path):
    sc, grid, table, onsets, ttg = hour
    st = sc["stations"]
    one = loc.Onsets(
        onsets.data[:1, :, :20000].copy(), onsets.available[:1], onsets.starttime,
        onsets.sampling_rate, onsets.station_ids[:1], onsets.phases,
    )  # fmt: skip
    locs, coa, trig = loc.scan(one, ttg[:, :1], grid)
    assert len(locs) == 0  # one station (two rows) can never reach the threshold
    # a figure for an event at the grid's bottom corner, with a NaN depth estimate
    t = sc["events"]["time_s"][0]
    locs, det = loc.locate(onsets, ttg, grid, sc["starttime"] + t, return_details=True)
    det[0].node = grid.n_nodes - 1
    locs.depth_km[0] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = loc.plot_location(tmp_path / "e.png", locs, 0, det[0], grid, st, onsets, table)
    assert out.stat().st_size > 5000
