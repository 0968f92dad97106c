"""Frequency–magnitude statistics and the catalogue figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from seiscore import figures, magnitude, synthetic
from seiscore.exceptions import InputError


def _gr_sample(n, b, mc, rng, incomplete=0):
    """Gutenberg–Richter magnitudes above mc (binned to 0.1), plus ``incomplete`` events
    below mc detected with falling probability."""
    m = mc - 0.05 + rng.exponential(np.log10(np.e) / b, n)
    low = mc - 0.05 - rng.exponential(0.3, incomplete)
    return np.round(np.r_[m, low], 1)


def test_b_value_mle_recovers_b_and_its_uncertainty():
    rng = np.random.default_rng(1)
    for b in (0.8, 1.0, 1.3):
        m = _gr_sample(5000, b, 1.0, rng)
        est, sigma, n = magnitude.b_value_mle(m, 1.0, 0.1)
        assert n == 5000
        assert est == pytest.approx(b, abs=3 * sigma)
        assert sigma == pytest.approx(b / np.sqrt(5000), rel=0.05)


def test_mc_by_maximum_curvature():
    rng = np.random.default_rng(2)
    m = _gr_sample(3000, 1.0, 1.5, rng, incomplete=400)
    assert magnitude.completeness_max_curvature(m) == pytest.approx(1.5, abs=0.11)
    gr = magnitude.gutenberg_richter(m)
    assert gr.b == pytest.approx(1.0, abs=0.08)
    assert gr.n >= 2500
    with pytest.raises(InputError, match="b-value: 1 event"):
        magnitude.b_value_mle([2.0], 1.0)


def test_frequency_magnitude_and_time_figures(tmp_path):
    rng = np.random.default_rng(3)
    m = _gr_sample(300, 1.0, 1.0, rng)
    t = np.datetime64("2024-01-01") + np.sort(rng.integers(0, 86400, m.size)).astype(
        "timedelta64[s]"
    )
    for path in (
        magnitude.plot_frequency_magnitude(m, tmp_path / "fmd.png"),
        magnitude.plot_frequency_magnitude(m[:10], tmp_path / "fmd_few.png"),
        magnitude.plot_magnitude_time(t, m, tmp_path / "mt.png"),
    ):
        assert path.exists()
        assert path.stat().st_size > 5000


def test_catalogue_map_and_record_section(tmp_path):
    stations = synthetic.network(8, seed=1)
    rng = np.random.default_rng(4)
    events = pd.DataFrame(
        {
            "latitude": stations.latitude.mean() + rng.normal(0, 0.1, 30),
            "longitude": stations.longitude.mean() + rng.normal(0, 0.1, 30),
            "depth_km": rng.uniform(0, 20, 30),
            "magnitude": np.r_[rng.uniform(0, 4, 29), np.nan],
        }
    )
    path = figures.plot_catalogue_map(tmp_path / "map.png", stations, events)
    assert path.stat().st_size > 10000
    no_mag = figures.plot_catalogue_map(
        tmp_path / "map2.png", stations, events.drop(columns="magnitude")
    )
    assert no_mag.stat().st_size > 10000
    traces = [(f"S{k}", 10.0 * k, -5.0, 100.0, rng.normal(0, 1, 3000)) for k in range(6)]
    picks = [(10.0 * k, 10 * k / 6.0, "P") for k in range(6)]
    predicted = [(10.0 * k, 10 * k / 3.5, "S") for k in range(6)]
    rs = figures.plot_record_section(tmp_path / "rs.png", traces, picks, predicted, "event 1")
    assert rs.stat().st_size > 10000
    sizes = figures.magnitude_sizes([1.0, 2.0, np.nan])
    assert sizes[1] == pytest.approx(2.5 * sizes[0])
    assert sizes[2] == sizes[0]
