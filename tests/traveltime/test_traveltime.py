"""Travel times: the ray-tracing table against analytic and TauP times, interpolation and
elevation correction against NumPy references, station grids, errors and files."""

from __future__ import annotations

import numpy as np
import pytest

from seiscore import InputError, _core, geo
from seiscore import traveltime as tt
from seiscore.containers import Grid3D, Stations, TravelTimeTable
from seiscore.traveltime.tables import _corrected

from ..conftest import shared_file

# ------------------------------------------------------------------ NumPy references


def ref_bilinear(table, depth_axis, dist_axis, x, z):
    """Plain bilinear interpolation; NaN outside."""
    fi = (z - depth_axis[0]) / (depth_axis[1] - depth_axis[0])
    fj = (x - dist_axis[0]) / (dist_axis[1] - dist_axis[0])
    out = np.full(np.shape(x), np.nan)
    ok = (fi >= 0) & (fi <= len(depth_axis) - 1) & (fj >= 0) & (fj <= len(dist_axis) - 1)
    i0 = np.minimum(np.floor(fi[ok]).astype(int), len(depth_axis) - 2)
    j0 = np.minimum(np.floor(fj[ok]).astype(int), len(dist_axis) - 2)
    wi, wj = fi[ok] - i0, fj[ok] - j0
    t = table.astype(np.float64)
    out[ok] = (
        t[i0, j0] * (1 - wi) * (1 - wj)
        + t[i0, j0 + 1] * (1 - wi) * wj
        + t[i0 + 1, j0] * wi * (1 - wj)
        + t[i0 + 1, j0 + 1] * wi * wj
    )
    return out


def ref_two_layer(x, zs, h, v1, v2):
    """First arrival in a flat layer (thickness h, v1) over a half-space (v2 > v1).

    Source in the layer: direct ray or head wave. Source in the half-space: the direct ray
    through both media, by dense ray-parameter shooting and interpolation.
    """
    x = np.asarray(x, float)
    if zs <= h:
        direct = np.hypot(x, zs) / v1
        cos_ic = np.sqrt(1 - (v1 / v2) ** 2)
        head = x / v2 + (2 * h - zs) * cos_ic / v1
        xcrit = (2 * h - zs) * (v1 / v2) / cos_ic
        return np.where(x >= xcrit, np.minimum(direct, head), direct)
    p = np.linspace(0, 1 / v2, 400001)[:-1]
    q1, q2 = np.sqrt(1 - (p * v1) ** 2), np.sqrt(1 - (p * v2) ** 2)
    X = h * p * v1 / q1 + (zs - h) * p * v2 / q2
    T = h / (v1 * q1) + (zs - h) / (v2 * q2)
    return np.interp(x, X, T)


# ------------------------------------------------------------------ the ray-tracing kernel


def test_homogeneous_table_is_straight_rays(rng):
    z = np.sort(rng.uniform(-2, 20, 30))
    x = np.sort(rng.uniform(0, 80, 40))
    t = _core.traveltime.first_arrivals(np.array([0.0]), np.array([5.0]), z, x, earth_radius_km=0.0)
    np.testing.assert_allclose(t, np.hypot(x[None, :], z[:, None]) / 5.0, rtol=2e-6, atol=1e-6)


@pytest.mark.parametrize("zs", [0.0, 3.0, 9.99, 14.0, 25.0])
def test_two_layer_table_matches_analytic(zs, rng):
    h, v1, v2 = 10.0, 5.0, 7.0
    x = np.concatenate([[0.0], np.sort(rng.uniform(0, 120, 60))])
    t = _core.traveltime.first_arrivals(
        np.array([0.0, h, h]), np.array([v1, v1, v2]), np.array([zs]), x, earth_radius_km=0.0
    )[0]
    np.testing.assert_allclose(t, ref_two_layer(x, zs, h, v1, v2), rtol=1e-5, atol=1e-5)


def test_table_does_not_depend_on_workers(rng):
    nd, nv = np.array([0.0, 5.0, 30.0, 30.0]), np.array([5.0, 6.0, 6.6, 8.0])
    z, x = np.linspace(0, 35, 36), np.linspace(0, 150, 151)
    a = _core.traveltime.first_arrivals(nd, nv, z, x, workers=1)
    b = _core.traveltime.first_arrivals(nd, nv, z, x, workers=3)
    np.testing.assert_array_equal(a, b)


def test_liquid_layer_blocks_s():
    m = tt.VelocityModel([0.0, 2.0], [1.5, 6.0], [0.0, 3.5], name="ocean")
    tab = tt.build_table(m, 20.0, 10.0, 1.0, 1.0)
    assert np.isnan(tab.times[1]).all()  # receiver in the water: no S
    assert np.isfinite(tab.times[0]).all()


def test_kernel_rejects_bad_input():
    with pytest.raises(ValueError, match="depths must not decrease"):
        _core.traveltime.first_arrivals(
            np.array([0.0, 5.0, 4.0]), np.array([5.0, 6, 7]), np.array([1.0]), np.array([1.0])
        )
    with pytest.raises(ValueError, match="dtype"):
        _core.traveltime.first_arrivals(
            np.array([0.0], np.float32), np.array([5.0]), np.array([1.0]), np.array([1.0])
        )
    with pytest.raises(ValueError, match="distance"):
        _core.traveltime.first_arrivals(
            np.array([0.0]), np.array([5.0]), np.array([1.0]), np.array([-1.0])
        )


# ------------------------------------------------------------------ against TauP

CRUST_ND = """\
0.0 5.2 3.0 2.6
2.0 5.8 3.35 2.6
12.0 6.1 3.5 2.7
12.0 6.4 3.7 2.8
33.0 6.7 3.85 2.9
mantle
33.0 7.95 4.45 3.3
250.0 8.3 4.55 3.4
2889.0 13.7 7.3 5.5
outer-core
2889.0 8.0 0.0 9.9
5150.0 10.3 0.0 12.1
inner-core
5150.0 11.0 3.5 12.7
6371.0 11.3 3.7 13.0
"""


@pytest.fixture(scope="module")
def taup_case(tmp_path_factory):
    from obspy.taup import TauPyModel
    from obspy.taup.taup_create import build_taup_model

    folder = tmp_path_factory.mktemp("taup")
    nd = folder / "crust.nd"
    nd.write_text(CRUST_ND)
    build_taup_model(str(nd), output_folder=str(folder), verbose=False)
    return tt.VelocityModel.from_file(nd), TauPyModel(str(folder / "crust.npz"))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_table_matches_taup(taup_case):
    model, taup = taup_case
    table = tt.build_table(
        model, max_distance_km=200.0, max_depth_km=40.0, distance_step_km=1.0, depth_step_km=0.5
    )
    depths = [0.0, 1.0, 4.0, 11.5, 20.0, 32.5, 40.0]
    dists = [0.0, 3.0, 10.0, 25.0, 50.0, 80.0, 110.0, 140.0, 170.0, 200.0]
    deg_per_km = 180.0 / (np.pi * 6371.0)
    names = {"P": ["p", "P", "Pg", "Pn"], "S": ["s", "S", "Sg", "Sn"]}
    worst = {}
    for phase in ("P", "S"):
        got = tt.travel_times(table, phase, np.array(dists)[None, :], np.array(depths)[:, None])
        for i, z in enumerate(depths):
            for j, x in enumerate(dists):
                arrivals = taup.get_travel_times(
                    source_depth_in_km=z, distance_in_degree=x * deg_per_km, phase_list=names[phase]
                )
                ref = min(a.time for a in arrivals)
                err = abs(got[i, j] - ref)
                assert err <= 0.02 or err <= 0.01 * ref, (phase, z, x, got[i, j], ref)
                worst[phase] = max(worst.get(phase, 0), err)
    # the table is far better than the tolerance on the nodes
    assert worst["P"] < 0.01
    assert worst["S"] < 0.015


# ------------------------------------------------------------------ interpolation and elevation


def _layered_table():
    m = tt.VelocityModel([0.0, 3.0, 15.0], [4.5, 5.8, 6.5], [2.6, 3.4, 3.75], name="three-layer")
    return tt.build_table(m, 60.0, 20.0, 0.5, 0.5, min_depth_km=-2.0)


def test_travel_times_bilinear_matches_numpy(rng):
    table = _layered_table()
    x = rng.uniform(-1, 62, 2000)
    z = rng.uniform(-2.5, 21, 2000)
    got = tt.travel_times(table, "S", x, z)
    ref = ref_bilinear(table.times[1], table.depth_km, table.distance_km, x, z)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    ok = ~np.isnan(ref)
    assert ok.sum() > 1500
    np.testing.assert_allclose(got[ok], ref[ok], rtol=1e-6, atol=1e-6)
    # nodes are reproduced exactly
    np.testing.assert_allclose(
        tt.travel_times(table, "P", table.distance_km[7], table.depth_km[11]),
        table.times[0, 11, 7],
        rtol=1e-7,
    )


def test_fermat_elevation_exact_in_homogeneous_medium(rng):
    v = 3.63
    table = tt.build_table(
        tt.VelocityModel.homogeneous(v, 1.833), 4.0, 1.0, 0.01, 0.01, min_depth_km=-1.5
    )
    x = rng.uniform(0, 3.0, 300)
    z = rng.uniform(-1.4, 0.9, 300)
    e = rng.choice([0.0, 250.0, 900.0, 1400.0], 300)
    got = tt.travel_times(table, "P", x, z, e)
    exact = np.hypot(x, z + e / 1000) / v
    # bilinear interpolation of the cone sqrt(x^2+z^2) near its apex limits the accuracy
    np.testing.assert_allclose(got, exact, atol=2e-4)
    far = np.hypot(x, z + e / 1000) > 0.3
    np.testing.assert_allclose(got[far], exact[far], rtol=2e-4)


def test_fermat_elevation_matches_brute_force(rng):
    table = _layered_table()
    e_km = 1.2
    for phase, k in (("P", 0), ("S", 1)):
        v0 = table.surface_velocity[phase]
        for _ in range(25):
            i = rng.integers(0, len(table.depth_km))
            x = float(rng.uniform(0, 60))
            z = float(table.depth_km[i])
            xp = np.linspace(0, x, 20001)
            cand = (
                np.interp(xp, table.distance_km, table.times[k, i].astype(float))
                + np.hypot(x - xp, e_km) / v0
            )
            ref = cand.min()
            if z < 0:
                ref = min(ref, np.hypot(x, z + e_km) / v0)
            got = float(tt.travel_times(table, phase, x, z, e_km * 1000))
            # bilinear in x between nodes: compare on the node distance too
            xn = float(table.distance_km[int(x / 0.5)])
            xp = np.linspace(0, xn, 20001)
            cand = (
                np.interp(xp, table.distance_km, table.times[k, i].astype(float))
                + np.hypot(xn - xp, e_km) / v0
            )
            refn = min(cand.min(), np.hypot(xn, z + e_km) / v0) if z < 0 else cand.min()
            gotn = float(tt.travel_times(table, phase, xn, z, e_km * 1000))
            assert gotn == pytest.approx(refn, abs=2e-5), (phase, xn, z)
            assert got == pytest.approx(ref, abs=5e-3), (phase, x, z)


def test_vertical_and_negative_elevation_statics():
    table = _layered_table()
    x, z = np.array([5.0, 30.0]), np.array([4.0, 10.0])
    base = tt.travel_times(table, "P", x, z)
    v0 = table.surface_velocity["P"]
    assert v0 == pytest.approx(4.5)
    np.testing.assert_allclose(
        tt.travel_times(table, "P", x, z, 800.0, elevation="vertical"), base + 0.8 / v0, rtol=1e-6
    )
    np.testing.assert_allclose(
        tt.travel_times(table, "P", x, z, -300.0), base - 0.3 / v0, rtol=1e-6
    )
    fermat = tt.travel_times(table, "P", x, z, 800.0)
    assert np.all(fermat < base + 0.8 / v0)
    assert np.all(fermat > base)
    with pytest.raises(InputError, match="elevation"):
        tt.travel_times(table, "P", x, z, 800.0, elevation="sideways")


# ------------------------------------------------------------------ station grids


def _stations(xy_km, elev_m, ref=(46.0, 8.0)):
    xy_km = np.asarray(xy_km, float)
    lat, lon = geo.unproject(xy_km[:, 0], xy_km[:, 1], *ref)
    n = len(xy_km)
    return Stations(
        network=np.array(["XX"] * n, dtype=object),
        station=np.array([f"S{i:02d}" for i in range(n)], dtype=object),
        location=np.array([""] * n, dtype=object),
        latitude=np.asarray(lat),
        longitude=np.asarray(lon),
        elevation_m=np.asarray(elev_m, float),
        x_km=np.full(n, np.nan),
        y_km=np.full(n, np.nan),
    )


def _grid(ref=(46.0, 8.0)):
    return Grid3D(
        origin_km=(-10.0, -8.0, 0.0), spacing_km=(1.0, 1.5, 0.75), shape=(21, 12, 17), reference=ref
    )


def test_station_grids_match_travel_times(rng):
    table = _layered_table()
    stations = _stations(rng.uniform(-15, 15, (7, 2)), rng.choice([0.0, 350.0, 1200.0], 7))
    grid = _grid()
    got = tt.station_grids(table, stations, grid)
    assert got.shape == (grid.n_nodes, 7, 2)
    assert got.dtype == np.float32
    xyz = grid.node_xyz(np.arange(grid.n_nodes))
    sx, sy = geo.project(stations.latitude, stations.longitude, *grid.reference)
    dist = np.hypot(xyz[:, 0, None] - sx[None, :], xyz[:, 1, None] - sy[None, :])
    ref64 = np.empty(got.shape)
    for p, phase in enumerate(("P", "S")):
        ref64[:, :, p] = tt.travel_times(
            table, phase, dist, xyz[:, 2, None], stations.elevation_m[None, :]
        )
    np.testing.assert_allclose(got, ref64, rtol=1e-6, atol=1e-6)
    # the same through a plain NumPy bilinear on the corrected table of one station
    s = int(np.argmax(stations.elevation_m))
    corrected = _corrected(table, "S", float(stations.elevation_m[s]), "fermat", 0)
    ref = ref_bilinear(corrected, table.depth_km, table.distance_km, dist[:, s], xyz[:, 2])
    np.testing.assert_allclose(got[:, s, 1], ref, rtol=1e-6, atol=1e-6)
    # samples: round(seconds * rate)
    samples = tt.station_grids(table, stations, grid, sampling_rate=100.0, workers=1)
    assert samples.dtype == np.int32
    np.testing.assert_array_equal(samples, np.rint(ref64 * 100.0).astype(np.int32))


def test_station_grids_errors():
    table = _layered_table()
    grid = _grid()
    far = _stations([[0.0, 0.0], [55.0, 5.0]], [0.0, 0.0])
    with pytest.raises(InputError, match=r"station XX\.S01\. is 6\d\.\d+ km .*beyond.*60 km"):
        tt.station_grids(table, far, grid)
    deep = Grid3D(
        origin_km=(0, 0, 0), spacing_km=(1, 1, 1), shape=(3, 3, 30), reference=(46.0, 8.0)
    )
    with pytest.raises(InputError, match="grid depths 0 to 29 km.*max_depth_km >= 29"):
        tt.station_grids(table, _stations([[0.0, 0.0]], [0.0]), deep)
    with pytest.raises(InputError, match="missing travel times.*'Pn'"):
        tt.station_grids(table, _stations([[0.0, 0.0]], [0.0]), grid, phases=["Pn"])
    with pytest.raises(InputError, match=r"too large for memory: .*GB"):
        tt.station_grids(table, _stations([[0.0, 0.0]], [0.0]), grid, max_memory_gb=1e-6)
    liquid = tt.build_table(
        tt.VelocityModel([0.0, 2.0], [1.5, 6.0], [0.0, 3.5], name="ocean"), 60, 20, 1, 1
    )
    with pytest.raises(InputError, match="missing travel times: phase S"):
        tt.station_grids(liquid, _stations([[0.0, 0.0]], [0.0]), grid)


def test_save_and_load_grids(tmp_path, rng):
    table = _layered_table()
    stations = _stations(rng.uniform(-5, 5, (4, 2)), [0.0, 10.0, 20.0, 30.0])
    grid = _grid()
    times = tt.station_grids(table, stations, grid, sampling_rate=50.0)
    path = tt.save_grids(
        tmp_path / "tt.npz",
        times,
        grid,
        stations,
        phases=table.phases,
        model=table.model,
        sampling_rate=50.0,
    )
    back = tt.load_grids(
        path, grid=grid, model="three-layer", phases=("P", "S"), sampling_rate=50.0
    )
    np.testing.assert_array_equal(back.times, times)
    assert back.station_ids == tuple(stations.ids)
    assert back.grid.shape == grid.shape
    # a subset of stations, reordered
    sub = stations.select(np.array([2, 0]))
    np.testing.assert_array_equal(tt.load_grids(path, stations=sub).times, times[:, [2, 0], :])
    other = Grid3D(
        origin_km=grid.origin_km,
        spacing_km=(1.0, 1.5, 0.5),
        shape=grid.shape,
        reference=grid.reference,
    )
    with pytest.raises(InputError, match="different grid.*spacing_km"):
        tt.load_grids(path, grid=other)
    with pytest.raises(InputError, match="model 'three-layer', not 'iasp91'"):
        tt.load_grids(path, model="iasp91")
    with pytest.raises(InputError, match="missing travel times for stations"):
        tt.load_grids(path, stations=_stations([[0.0, 0.0]] * 6, [0.0] * 6))
    with pytest.raises(InputError, match="not samples at 100 Hz"):
        tt.load_grids(path, sampling_rate=100.0)
    with pytest.raises(InputError, match="not found"):
        tt.load_grids(tmp_path / "nope.npz")


# ------------------------------------------------------------------ models and tables


def test_model_files(tmp_path):
    nd = tmp_path / "m.nd"
    nd.write_text(CRUST_ND)
    m = tt.VelocityModel.from_file(nd, max_depth_km=100.0)
    assert m.interpolation == "linear"
    assert m.depth_km[-1] == 100.0
    assert m.velocity_at("P", 1.0) == pytest.approx(5.5)  # linear between 0 and 2 km
    assert m.velocity_at("P", 12.0) == pytest.approx(6.4)  # just below the discontinuity
    csv = tmp_path / "m.csv"
    csv.write_text("depth,vp,vs\n0,5.0,2.9\n10,6.0,3.5\n")
    m = tt.VelocityModel.from_file(csv)
    assert m.interpolation == "constant"
    assert m.velocity_at("S", 9.9) == pytest.approx(2.9)
    txt = tmp_path / "m.txt"
    txt.write_text("0 5.0 2.9\n10 6.0 3.5\n")
    assert tt.VelocityModel.from_file(txt).velocity_at("P", 11.0) == pytest.approx(6.0)
    bad = tmp_path / "bad.csv"
    bad.write_text("depth,vp\n0,5\n")
    with pytest.raises(InputError, match=r"bad\.csv.*missing columns \['vs'\]"):
        tt.VelocityModel.from_file(bad)
    with pytest.raises(InputError, match="not found"):
        tt.VelocityModel.from_file(tmp_path / "none.nd")
    with pytest.raises(InputError, match="layer tops must increase"):
        tt.VelocityModel([0.0, 5.0, 5.0], [5, 6, 7], [3, 3.5, 4])
    with pytest.raises(InputError, match="vp must be positive"):
        tt.VelocityModel([0.0], [-5.0], [3.0])


def test_shared_model_formats():
    velest = tt.VelocityModel.from_file(shared_file("real_italy", "VELEST", "italy.mod"))
    assert velest.depth_km[0] == -3.0
    assert velest.velocity_at("P", 2.0) == pytest.approx(6.2)
    assert velest.velocity_at("S", 0.5) == pytest.approx(2.75)
    nd = tt.VelocityModel.from_file(shared_file("real_italy", "tt_db", "itvel.nd"), max_depth_km=50)
    assert nd.velocity_at("P", 3.0) == pytest.approx(5.65 + (6.2 - 5.65) * 0.5)
    pyocto = tt.VelocityModel.from_file(shared_file("pyocto", "data", "graeber.csv"))
    assert pyocto.velocity_at("P", 15.0) == pytest.approx(6.1 + 0.03 * 5)


def test_build_table_axes_and_errors():
    m = tt.VelocityModel.homogeneous(6.0, 3.5)
    table = tt.build_table(m, 10.3, 5.0, 1.0, 0.5, phases=("P",))
    assert isinstance(table, TravelTimeTable)
    assert table.phases == ("P",)
    assert table.distance_km[-1] >= 10.3
    assert table.depth_km[0] == 0.0
    assert table.depth_km[-1] == 5.0
    assert table.surface_velocity == {"P": 6.0}
    assert table.model.startswith("homogeneous")
    with pytest.raises(InputError, match="max_distance_km"):
        tt.build_table(m, -1, 5)
    with pytest.raises(InputError, match="phases"):
        tt.build_table(m, 10, 5, phases=("P", "Q"))
    with pytest.raises(InputError, match="missing travel times"):
        tt.travel_times(table, "S", 1.0, 1.0)


@pytest.mark.cuda
def test_cuda_station_grids_parity(rng):
    table = _layered_table()
    stations = _stations(rng.uniform(-15, 15, (9, 2)), rng.choice([0.0, 1200.0], 9))
    grid = _grid()
    cpu = tt.station_grids(table, stations, grid)
    gpu = tt.station_grids(table, stations, grid, device="cuda")
    np.testing.assert_allclose(gpu, cpu, rtol=1e-6, atol=1e-6)
    cpu_i = tt.station_grids(table, stations, grid, sampling_rate=200.0)
    gpu_i = tt.station_grids(table, stations, grid, sampling_rate=200.0, device="cuda")
    assert np.mean(gpu_i == cpu_i) > 0.9999
    assert np.abs(gpu_i - cpu_i).max() <= 1
