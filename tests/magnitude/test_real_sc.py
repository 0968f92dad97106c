"""The real China Seismic Network record: full SEED as both waveforms and stations, through
`seiscore run`, gives the event a local magnitude from at least three stations."""

from __future__ import annotations

import json

import obspy
import pandas as pd

from seiscore.cli import main

from ..conftest import shared_file


def test_run_on_full_seed_gives_ml(tmp_path, capsys):
    seed = shared_file("pnsn/data/SC.202305230113.0001.seed")
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        f'[input]\nwaveforms = ["{seed}"]\n[stations]\npath = "{seed}"\n'
        "[model]\nvp = 6.0\nvs = 3.5\n"
        "[association]\nmin_picks = 6\nmin_p = 3\nmin_s = 2\nmin_p_and_s = 2\nzlim = [0.0, 30.0]\n"
        '[location]\ndepth_km = [0.0, 30.0]\n[output]\ndirectory = "out"\nplot_events = true\n'
    )
    assert main(["run", str(cfg)]) == 0
    out = tmp_path / "out"
    events = pd.read_csv(out / "events.csv")
    assert len(events) == 1
    row = events.iloc[0]
    assert row.magnitude_type == "ML"
    assert row.n_magnitude_stations >= 3
    assert 1.5 < row.magnitude < 2.7  # recorded in the README: ML 2.1 from 4 stations
    ev = obspy.read_events(str(out / "events.xml"))[0]
    assert abs(ev.preferred_magnitude().mag - row.magnitude) < 1e-4
    assert len(ev.station_magnitudes) >= 3
    assert len(ev.amplitudes) >= 6
    assert ev.preferred_origin().arrivals  # arrivals on the preferred (migration) origin
    picks = pd.read_csv(out / "picks.csv")
    assert picks.station_ml.notna().sum() >= 6
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_magnitudes"] == 1
    for name in ("map.png", "magnitude_time.png", "frequency_magnitude.png",
                 "events/event_00000.png"):  # fmt: skip
        assert (out / name).stat().st_size > 10_000, name
    capsys.readouterr()
