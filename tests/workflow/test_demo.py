"""``seiscore demo``: synthetic waveforms the bundled PhaseNet picks, and the whole pipeline."""

from __future__ import annotations

import numpy as np
import pandas as pd

from seiscore import synthetic
from seiscore.cli import main
from seiscore.workflow import demo


def test_synthetic_waveforms_put_arrivals_at_the_travel_times():
    stations = synthetic.network(2, xlim=(-1, 1), ylim=(-1, 1), seed=1)
    stations.x_km[:] = [0.0, 30.0]
    stations.y_km[:] = [0.0, 0.0]
    ev = {"x_km": [0.0], "y_km": [0.0], "depth_km": [10.0], "time_s": [5.0]}
    st = demo.synthetic_waveforms(stations, ev, demo.DEMO_START, 30.0, vp=6.0, vs=3.5, seed=2)
    assert len(st) == 6
    assert {tr.stats.channel for tr in st} == {"HHE", "HHN", "HHZ"}
    for k, dist in ((0, 10.0), (1, np.hypot(30.0, 10.0))):
        sta = str(stations.station[k])
        z = st.select(station=sta, channel="HHZ")[0].data
        e = np.hypot(
            st.select(station=sta, channel="HHE")[0].data,
            st.select(station=sta, channel="HHN")[0].data,
        )
        fs = 100.0
        tp, ts = 5.0 + dist / 6.0, 5.0 + dist / 3.5
        ip, is_ = int(tp * fs), int(ts * fs)
        noise = np.abs(z[: int(4.5 * fs)]).max()
        # nothing above the noise before P; P clear on the vertical; S larger on the horizontal
        assert np.abs(z[ip - 20 : ip - 2]).max() < 1.5 * noise
        assert np.abs(z[ip : ip + 50]).max() > 3 * noise
        assert e[is_ : is_ + 100].max() > 1.5 * e[ip : ip + 50].max()
    # amplitude decays with distance
    z0 = np.abs(st.select(station=str(stations.station[0]), channel="HHZ")[0].data).max()
    z1 = np.abs(st.select(station=str(stations.station[1]), channel="HHZ")[0].data).max()
    assert z0 > 1.5 * z1


def test_demo_finds_most_events(tmp_path, capsys):
    out = []
    run = demo.run_demo(tmp_path / "demo", n_events=4, duration_s=120.0, seed=11, out=out.append)
    cmp = run["comparison"]
    assert len(cmp) == 4
    assert cmp.found.sum() >= 3
    found = cmp[cmp.found]
    assert found.dh_km.median() < 2.0
    assert found.dt_s.abs().median() < 0.3
    text = "\n".join(out)
    assert "true events found" in text
    files = {p.name for p in (tmp_path / "demo").iterdir()}
    assert {"waveforms", "stations.xml", "truth.csv", "config.toml", "out"} <= files
    assert len(list((tmp_path / "demo" / "waveforms").glob("*.mseed"))) == 12
    assert (tmp_path / "demo" / "out" / "map.png").stat().st_size > 0
    assert (tmp_path / "demo" / "out" / "demo_truth.png").stat().st_size > 0
    assert np.isfinite(found[["lat", "lon", "depth_km"]].to_numpy()).all()
    truth = pd.read_csv(tmp_path / "demo" / "truth.csv")
    assert len(truth) == 4


def test_cli_demo(tmp_path, capsys):
    assert (
        main(["demo", str(tmp_path / "d"), "--events", "2", "--duration", "60", "--seed", "5"]) == 0
    )
    text = capsys.readouterr().out
    assert "2/2 true events found" in text
