"""Output of correlate(): NetCDF / Zarr round trips, ObsPy Streams with SAC headers, and the
move-out figure."""

from __future__ import annotations

import numpy as np
import pytest

from seiscore import InputError
from seiscore import correlation as corr
from seiscore.containers import Stations

from .reference import PREP, make_waveforms

# ------------------------------------------------------------------ output


def test_write_read_netcdf_and_to_obspy(tmp_path):
    ws = make_waveforms(3, hours=1.0, components=("Z",))
    st = Stations(
        np.array(["XX"] * 3, object),
        np.array(["S0", "S1", "S2"], object),
        np.array([""] * 3, object),
        np.array([35.0, 35.1, 35.3]),
        np.array([-118.0, -118.1, -117.9]),
        np.zeros(3),
        np.full(3, np.nan),
        np.full(3, np.nan),
    )
    ds = corr.correlate(ws, st, window_s=600, max_lag_s=2.0, stack=("linear", "pws"), **PREP)
    path = corr.write(ds, tmp_path / "ccfs.nc")
    back = corr.read(path)
    for v in ("ccf_linear", "ccf_pws", "daily_linear", "n_windows", "windows_used", "distance_km"):
        np.testing.assert_array_equal(back[v].values, ds[v].values)
    assert back.attrs["freqmin"] == 0.2
    assert back.attrs["temporal_norm"] == "onebit"
    assert list(back.pair.values) == list(ds.pair.values)
    stream = corr.to_obspy(back)
    assert len(stream) == 3
    tr = stream.select(station="S1")[0]
    assert tr.stats.channel == "ZZ"
    assert tr.stats.correlation["source"] == "XX.S0."
    assert tr.stats.sac["b"] == -2.0
    assert tr.stats.sac["dist"] == pytest.approx(float(ds.distance_km[0]))
    np.testing.assert_array_equal(tr.data, ds.ccf_linear.values[0, 0])
    daily = corr.to_obspy(back, "daily_linear", day=back.day.values[0])
    assert len(daily) == 3
    with pytest.raises(InputError, match="day="):
        corr.to_obspy(back, "daily_linear")
    with pytest.raises(InputError, match="format"):
        corr.write(ds, tmp_path / "ccfs.csv")
    with pytest.raises(InputError, match="no such file"):
        corr.read(tmp_path / "missing.nc")


def test_write_zarr(tmp_path):
    pytest.importorskip("zarr")
    ds = corr.correlate(
        make_waveforms(2, hours=0.5, components=("Z",)), window_s=600, max_lag_s=1.0
    )
    back = corr.read(corr.write(ds, tmp_path / "ccfs.zarr"))
    np.testing.assert_array_equal(back.ccf_linear.values, ds.ccf_linear.values)


def test_plot_moveout(tmp_path):
    pytest.importorskip("matplotlib")
    ws = make_waveforms(3, hours=0.5, components=("Z",))
    st = Stations(
        np.array(["XX"] * 3, object),
        np.array(["S0", "S1", "S2"], object),
        np.array([""] * 3, object),
        np.array([35.0, 35.1, 35.3]),
        np.array([-118.0, -118.1, -117.9]),
        np.zeros(3),
        np.full(3, np.nan),
        np.full(3, np.nan),
    )
    ds = corr.correlate(ws, st, window_s=600, max_lag_s=2.0)
    fig = corr.plot_moveout(ds, path=tmp_path / "moveout.png")
    assert (tmp_path / "moveout.png").stat().st_size > 1000
    ys = [np.mean(line.get_ydata()) for line in fig.axes[0].lines]
    assert ys == sorted(ys)  # ordered by distance
    with pytest.raises(InputError, match="component"):
        corr.plot_moveout(ds, component="TT")
