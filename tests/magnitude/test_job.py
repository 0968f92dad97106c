"""`seiscore magnitude`: local magnitudes added to an existing catalogue."""

from __future__ import annotations

import numpy as np
import obspy
import pytest
from obspy.core.event import Catalog, Event, Origin, Pick, WaveformStreamID

from seiscore.cli import main

from ..conftest import shared_file
from .test_magnitude import _scene


def _write_scene(tmp_path, *, with_s_picks=True, vs=None):
    amps = ((2e-6, 2e-6), (1e-6, 1e-6), (1.5e-6, 1.5e-6))
    records, inv, events, stations, arrivals = _scene(amp_m=amps)
    (tmp_path / "wf").mkdir()
    for tr in records:
        tr.data = tr.data.astype(np.int32)
        tr.write(str(tmp_path / "wf" / f"{tr.id}.mseed"), format="MSEED")
    inv.write(str(tmp_path / "inv.xml"), format="STATIONXML")
    ev = events.iloc[0]
    t_origin = obspy.UTCDateTime(str(ev.time))
    if vs is not None:  # an origin time that puts the predicted S where the scene has it (45 s)
        t_origin = t_origin + 45.0 - np.hypot(100.0, ev.depth_km) / vs
    origin = Origin(
        time=t_origin,
        latitude=ev.latitude,
        longitude=ev.longitude,
        depth=ev.depth_km * 1000,
    )
    picks = []
    for row in arrivals.itertuples():
        if row.phase == "S" and not with_s_picks:
            continue
        net, sta, loc = row.station_id.split(".")
        picks.append(
            Pick(
                time=obspy.UTCDateTime(str(row.time)),
                phase_hint=row.phase,
                waveform_id=WaveformStreamID(net, sta, loc or None, "HHZ"),
            )
        )
    event = Event(origins=[origin], picks=picks)
    event.preferred_origin_id = origin.resource_id
    Catalog(events=[event]).write(str(tmp_path / "events.xml"), format="QUAKEML")


def test_cli_adds_ml_to_quakeml(tmp_path, capsys):
    _write_scene(tmp_path)
    rc = main(
        [
            "magnitude",
            str(tmp_path / "events.xml"),
            "--waveforms",
            str(tmp_path / "wf"),
            "--inventory",
            str(tmp_path / "inv.xml"),
            "-o",
            str(tmp_path / "out.xml"),
        ]
    )
    assert rc == 0
    assert "1 of 1 events with ML" in capsys.readouterr().out
    cat = obspy.read_events(str(tmp_path / "out.xml"))
    ev = cat[0]
    ml = ev.preferred_magnitude()
    assert ml.magnitude_type == "ML"
    assert ml.station_count == 3
    assert len(ev.station_magnitudes) == 3
    assert len(ev.amplitudes) == 6  # E and N at three stations
    assert {a.type for a in ev.amplitudes} == {"AML"}
    assert all(c.weight == 1.0 for c in ml.station_magnitude_contributions)
    import pandas as pd

    csv = pd.read_csv(tmp_path / "out.csv")
    assert csv.magnitude.iloc[0] == pytest.approx(ml.mag, abs=1e-3)
    assert csv.n_magnitude_stations.iloc[0] == 3


def test_cli_predicts_missing_s_with_a_model(tmp_path, capsys):
    _write_scene(tmp_path, with_s_picks=False, vs=3.5)
    args = ["magnitude", str(tmp_path / "events.xml"), "--waveforms", str(tmp_path / "wf"),
            "--inventory", str(tmp_path / "inv.xml"), "-o", str(tmp_path / "out.xml")]  # fmt: skip
    assert main(args) == 0
    captured = capsys.readouterr()
    assert "0 of 1 events with ML" in captured.out
    assert "no P and S time" in captured.err
    assert main([*args, "--vp", "6.0", "--vs", "3.5"]) == 0
    assert "1 of 1 events with ML" in capsys.readouterr().out


def test_cli_errors_name_the_file(tmp_path, capsys):
    rc = main(
        [
            "magnitude",
            str(tmp_path / "nope.xml"),
            "--waveforms",
            str(tmp_path),
            "--inventory",
            str(tmp_path / "inv.xml"),
            "-o",
            str(tmp_path / "o.xml"),
        ]
    )
    assert rc == 2
    assert "nope.xml" in capsys.readouterr().err


def test_full_seed_carries_coordinates_and_responses():
    seed = shared_file("pnsn/data/SC.202305230113.0001.seed")
    from seiscore.io.stations import read_inventory, read_stations

    stations = read_stations(seed)
    assert stations.ids == ["SC.BAJ.00", "SC.BAY.00", "SC.GHS.00", "SC.MZP.00", "SC.ZDZ.00"]
    assert np.all((stations.latitude > 30) & (stations.latitude < 32))
    inv = read_inventory(seed)
    resp = inv.get_response("SC.BAJ.00.SHE", obspy.UTCDateTime("2023-05-22T17:13:00"))
    assert resp.instrument_sensitivity.input_units == "M/S"


def test_cli_adds_ml_to_seiscore_events_csv(tmp_path, capsys):
    """The job on seiscore's own events.csv (and the picks.csv beside it)."""
    from seiscore.workflow import demo, pipeline

    truth = demo.make_scenario(tmp_path / "s", n_stations=8, n_events=2, duration_s=70.0, seed=3)
    cfg = {
        "input": {"waveforms": [str(tmp_path / "s" / "waveforms")]},
        "stations": {"path": str(tmp_path / "s" / "stations.xml")},
        "model": {"vp": 6.0, "vs": 3.5},
        "association": {"min_picks": 6, "zlim": [0.0, 25.0]},
        "location": {"enabled": False},
        "magnitude": {"enabled": False},
        "output": {"directory": str(tmp_path / "out"), "figures": False},
    }
    pipeline.run(cfg)
    rc = main(
        [
            "magnitude",
            str(tmp_path / "out" / "events.csv"),
            "--waveforms",
            str(tmp_path / "s" / "waveforms"),
            "--inventory",
            str(tmp_path / "s" / "stations.xml"),
            "-o",
            str(tmp_path / "ml.xml"),
        ]
    )
    assert rc == 0
    assert "2 of 2 events with ML" in capsys.readouterr().out
    import pandas as pd

    table = pd.read_csv(tmp_path / "ml.csv")
    true = np.sort(truth["events"]["magnitude"])
    # the demo's amplitudes follow 1/r rather than Hutton & Boore: ML is a little low
    np.testing.assert_allclose(np.sort(table.magnitude), true, atol=0.5)
