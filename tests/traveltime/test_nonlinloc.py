"""NonLinLoc time grids: write and read back (identical times), 2-D and SIMPLE-transform grids,
errors, locations from NonLinLoc grids equal to those from seiscore's own, and the 1-D table
for association."""

from __future__ import annotations

import numpy as np
import pytest
from obspy import UTCDateTime

from seiscore import InputError, geo
from seiscore import location as loc
from seiscore import traveltime as tt
from seiscore.containers import Grid3D, Stations

REF = (46.2, 7.5)


def _stations(n=6, seed=3):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(-8, 8, (n, 2))
    lat, lon = geo.unproject(xy[:, 0], xy[:, 1], *REF)
    return Stations(
        np.array(["NL"] * n, object),
        np.array([f"N{i:02d}" for i in range(n)], object),
        np.array([""] * n, object),
        np.asarray(lat),
        np.asarray(lon),
        rng.uniform(0, 600, n),
        np.full(n, np.nan),
        np.full(n, np.nan),
    )


@pytest.fixture(scope="module")
def case():
    stations = _stations()
    grid = Grid3D((-10.0, -10.0, 0.0), (1.0, 1.0, 1.0), (21, 21, 13), REF)
    model = tt.VelocityModel([0.0, 5.0], [5.2, 6.1], [3.0, 3.5], name="two layers")
    table = tt.build_table(model, 40.0, 14.0, 0.25, 0.25)
    seconds = tt.station_grids(table, stations, grid)
    return stations, grid, table, seconds


def test_round_trip_gives_identical_times(case, tmp_path):
    stations, grid, _, seconds = case
    paths = tt.write_nonlinloc(tmp_path / "time" / "model", seconds, grid, stations)
    assert len(paths) == 2 * 2 * len(stations)
    hdr = (tmp_path / "time" / "model.P.N03.time.hdr").read_text().splitlines()
    assert hdr[0].split()[:3] == ["21", "21", "13"]
    assert hdr[0].split()[-2:] == ["TIME", "FLOAT"]
    assert hdr[1].startswith("N03 ")
    assert "AZIMUTHAL_EQUIDIST" in hdr[2]
    grids = tt.read_nonlinloc(tmp_path / "time" / "model", stations=stations)
    assert set(grids) == {(ph, sid) for ph in "PS" for sid in stations.ids}
    g = grids[("S", stations.ids[2])]
    np.testing.assert_array_equal(g.read().reshape(-1), seconds[:, 2, 1])
    assert g.station_km[2] == pytest.approx(-stations.elevation_m[2] / 1000, abs=1e-6)
    native = tt.grid_from_nonlinloc(grids)
    assert native.shape == grid.shape
    assert native.reference == pytest.approx(REF)
    back = tt.nonlinloc_station_grids(grids, grid, stations)
    np.testing.assert_array_equal(back, seconds)
    # the folder form finds the same grids; samples round as station_grids' do
    assert set(tt.read_nonlinloc(tmp_path / "time", stations=stations)) == set(grids)
    np.testing.assert_array_equal(
        tt.nonlinloc_station_grids(grids, grid, stations, sampling_rate=50.0),
        tt.station_grids(_table(case), stations, grid, sampling_rate=50.0),
    )


def _table(case):
    return case[2]


def test_location_from_nonlinloc_grids_equals_seiscore_grids(case, tmp_path):
    stations, grid, table, seconds = case
    fs = 50.0
    mine = tt.station_grids(table, stations, grid, sampling_rate=fs)
    tt.write_nonlinloc(tmp_path / "m", seconds, grid, stations)
    nll = tt.nonlinloc_station_grids(
        tt.read_nonlinloc(tmp_path / "m", stations=stations), grid, stations, sampling_rate=fs
    )
    np.testing.assert_array_equal(nll, mine)
    start = UTCDateTime(2024, 3, 1)
    n = int(40 * fs)
    t = np.arange(n) / fs
    data = np.abs(np.random.default_rng(1).normal(0, 0.01, (len(stations), 2, n)))
    sx, sy = geo.project(stations.latitude, stations.longitude, *REF)
    d = np.hypot(sx - 2.3, sy + 3.1)
    for p, ph in enumerate("PS"):
        arr = 12.0 + tt.travel_times(table, ph, d, 6.4, stations.elevation_m)
        data[:, p] += np.exp(-0.5 * ((t[None, :] - arr[:, None]) / 0.08) ** 2)
    onsets = loc.Onsets(
        data.astype(np.float32),
        np.ones((len(stations), 2), bool),
        start,
        fs,
        tuple(stations.ids),
        ("P", "S"),
    )
    a = loc.locate(onsets, mine, grid, start + 12.0)
    b = loc.locate(onsets, nll, grid, start + 12.0)
    for col in ("time", "latitude", "longitude", "depth_km", "coherence"):
        np.testing.assert_array_equal(getattr(a, col), getattr(b, col))
    assert abs(a.x_km[0] - 2.3) < 1.0
    assert abs(a.depth_km[0] - 6.4) < 1.0


def _write(path, header: str, values: np.ndarray, dtype="<f4"):
    """``path`` is ``<root>.<PHASE>.<LABEL>.time``: writes its .hdr and .buf."""
    path.parent.joinpath(path.name + ".hdr").write_text(header)
    np.ascontiguousarray(values, dtype=dtype).tofile(path.parent / (path.name + ".buf"))


def test_time2d_and_simple_transform_grids(case, tmp_path):
    stations, grid, table, seconds = case
    # a 2-D grid (distance along y, depth) for station N01, as Grid2Time writes for 1-D models
    sid, k = stations.ids[1], 1
    dist = np.arange(0, 31) * 1.0
    depth = np.arange(0, 15) * 1.0
    elev = stations.elevation_m[k]
    vals = tt.travel_times(table, "P", dist[:, None], depth[None, :], elev).astype(np.float32)
    sx, sy = geo.project(stations.latitude[k], stations.longitude[k], *REF)
    head = (
        f"2 31 15  0.0 0.0 0.0  1.0 1.0 1.0 TIME2D FLOAT\nN01 {sx:.6f} {sy:.6f} 0.0\n"
        f"TRANSFORM  AZIMUTHAL_EQUIDIST RefEllipsoid Sphere  LatOrig {REF[0]}  LongOrig "
        f"{REF[1]}  RotCW 0.0\n"
    )
    _write(tmp_path / "one.P.N01.time", head, np.stack([vals, vals]))
    grids = tt.read_nonlinloc(tmp_path / "one", phases=("P",))
    g = grids[("P", "N01")]
    assert g.is_2d
    sub = Stations(*(np.asarray(getattr(stations, f))[[k]] for f in stations.__dataclass_fields__))
    got = tt.nonlinloc_station_grids({("P", sid): g}, grid, sub, phases=("P",))[:, 0, 0]
    np.testing.assert_allclose(got, seconds[:, k, 0], atol=0.02)
    # a SIMPLE transform: NonLinLoc's flat-earth formulas, big-endian values
    lat0, lon0 = REF
    head = (
        "21 21 13  -10.0 -10.0 0.0  1.0 1.0 1.0 TIME\nN01 0 0 0\n"
        f"TRANSFORM  SIMPLE LatOrig {lat0}  LongOrig {lon0}  RotCW 0.0\n"
    )
    xyz = grid.node_xyz(np.arange(grid.n_nodes))
    _write(tmp_path / "simple.P.N01.time", head, xyz[:, 0] + 100.0, dtype=">f4")
    g = tt.read_nonlinloc(tmp_path / "simple", phases=("P",))[("P", "N01")]
    got = tt.nonlinloc_station_grids({("P", sid): g}, grid, sub, phases=("P",))[:, 0, 0]
    lat, lon = geo.unproject(xyz[:, 0], xyz[:, 1], *REF)
    x_simple = (lon - lon0) * (10000 / 90) * np.cos(np.radians(lat))
    np.testing.assert_allclose(got - 100.0, x_simple, atol=1e-4)
    assert np.max(np.abs(x_simple - xyz[:, 0])) < 0.02  # SIMPLE and seiscore's frames agree


def test_errors_name_the_file_and_the_problem(case, tmp_path):
    stations, grid, _, seconds = case
    with pytest.raises(InputError, match="no NonLinLoc time grids"):
        tt.read_nonlinloc(tmp_path / "nothing")
    tt.write_nonlinloc(tmp_path / "m", seconds[:, :2], grid, _sub(stations, [0, 1]))
    with pytest.raises(InputError, match="no NonLinLoc time grid for 8 station-phase"):
        tt.read_nonlinloc(tmp_path / "m", stations=stations)
    grids = tt.read_nonlinloc(tmp_path / "m")
    big = Grid3D((-12.0, -10.0, 0.0), (1.0, 1.0, 1.0), (23, 21, 13), REF)
    with pytest.raises(InputError, match="outside the NonLinLoc grid along x"):
        tt.nonlinloc_station_grids(
            tt.read_nonlinloc(tmp_path / "m", stations=_sub(stations, [0, 1])),
            big,
            _sub(stations, [0, 1]),
        )
    (tmp_path / "m.P.N00.time.buf").write_bytes(b"\0" * 40)
    with pytest.raises(InputError, match="values, the header"):
        grids[("P", "N00")].read()
    with pytest.raises(InputError, match="float seconds"):
        tt.write_nonlinloc(tmp_path / "x", seconds.astype(np.int32), grid, stations)
    (tmp_path / "lam.P.N00.time.hdr").write_text(
        "21 21 13 -10 -10 0 1 1 1 TIME\nN00 0 0 0\nTRANSFORM LAMBERT RefEllipsoid WGS-84 "
        "LatOrig 46 LongOrig 7 FirstStdParal 45 SecondStdParal 47 RotCW 0\n"
    )
    np.zeros(grid.n_nodes, "<f4").tofile(tmp_path / "lam.P.N00.time.buf")
    lam = tt.read_nonlinloc(tmp_path / "lam", phases=("P",), stations=_sub(stations, [0]))
    with pytest.raises(InputError, match="LAMBERT is not supported"):
        tt.nonlinloc_station_grids(lam, grid, _sub(stations, [0]), phases=("P",))


def _sub(stations, idx):
    return Stations(*(np.asarray(getattr(stations, f))[idx] for f in stations.__dataclass_fields__))


def test_table_from_grids_summarises_a_1d_model(case):
    stations, grid, table, seconds = case
    derived, spread = tt.table_from_grids(seconds, grid, stations)
    assert set(spread) == {"P", "S"}
    assert max(spread.values()) < 0.1
    d = np.array([2.0, 7.0, 12.0])
    for ph in "PS":
        got = tt.travel_times(derived, ph, d, 6.0, 0.0, elevation="vertical")
        ref = tt.travel_times(table, ph, d, 6.0, 0.0, elevation="vertical")
        np.testing.assert_allclose(got, ref, atol=0.08)
    assert derived.surface_velocity["P"] == pytest.approx(5.2, rel=0.1)
