"""The projection helper: exact inverse, distances and directions on the sphere."""

from __future__ import annotations

import numpy as np
import pytest
from obspy.geodetics import locations2degrees

from seiscore import geo


def test_project_unproject_roundtrip(rng):
    ref_lat, ref_lon = 42.3, 13.1
    lat = ref_lat + rng.uniform(-15, 15, 500)
    lon = ref_lon + rng.uniform(-20, 20, 500)
    x, y = geo.project(lat, lon, ref_lat, ref_lon)
    lat2, lon2 = geo.unproject(x, y, ref_lat, ref_lon)
    np.testing.assert_allclose(lat2, lat, atol=1e-9)
    np.testing.assert_allclose(lon2, lon, atol=1e-9)


def test_distance_from_reference_is_great_circle(rng):
    ref_lat, ref_lon = -33.0, -70.5
    lat = ref_lat + rng.uniform(-5, 5, 200)
    lon = ref_lon + rng.uniform(-5, 5, 200)
    x, y = geo.project(lat, lon, ref_lat, ref_lon)
    deg = np.array(
        [locations2degrees(ref_lat, ref_lon, a, b) for a, b in zip(lat, lon, strict=False)]
    )
    expect = np.radians(deg) * geo.EARTH_RADIUS_KM
    np.testing.assert_allclose(np.hypot(x, y), expect, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(
        geo.distance_km(ref_lat, ref_lon, lat, lon), expect, rtol=1e-9, atol=1e-9
    )


def test_directions_and_units():
    # one degree north / east of a point on the equator
    x, y = geo.project(1.0, 0.0, 0.0, 0.0)
    assert abs(float(x)) < 1e-9
    assert float(y) == pytest.approx(np.pi / 180 * 6371.0)
    x, y = geo.project(0.0, 1.0, 0.0, 0.0)
    assert float(x) == pytest.approx(np.pi / 180 * 6371.0)
    assert abs(float(y)) < 1e-9
    x, y = geo.project(-1.0, 0.0, 0.0, 0.0)
    assert float(y) < 0
    # the reference maps to the origin
    x, y = geo.project(64.33, -17.22, 64.33, -17.22)
    assert float(x) == 0.0
    assert float(y) == 0.0


def test_antimeridian_and_broadcasting():
    lat, lon = geo.unproject(np.array([[-10.0, 10.0]]), np.array([[0.0], [5.0]]), 0.0, 179.95)
    assert lat.shape == (2, 2)
    assert np.all((lon >= -180) & (lon < 180))
    x, y = geo.project(lat, lon, 0.0, 179.95)
    np.testing.assert_allclose(x, [[-10, 10], [-10, 10]], atol=1e-9)
    np.testing.assert_allclose(y, [[0, 0], [5, 5]], atol=1e-9)


def test_local_distances_are_nearly_euclidean(rng):
    # two points 50 km from the reference: projected distance within 0.01 % of great circle
    ref = (46.0, 8.0)
    a = rng.uniform(-50, 50, (100, 2))
    b = rng.uniform(-50, 50, (100, 2))
    la, loa = geo.unproject(a[:, 0], a[:, 1], *ref)
    lb, lob = geo.unproject(b[:, 0], b[:, 1], *ref)
    gc = geo.distance_km(la, loa, lb, lob)
    np.testing.assert_allclose(np.hypot(*(a - b).T), gc, rtol=1e-4)
