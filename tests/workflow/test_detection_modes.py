"""``seiscore run`` with ``[location] detection = "migration"`` and ``"both"``: migration over the
whole record from the stored probabilities, in chunks, and the merge with association."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from obspy import read_events

from seiscore.exceptions import ConfigError
from seiscore.workflow import config, demo, pipeline


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    folder = tmp_path_factory.mktemp("modes")
    truth = demo.make_scenario(folder, n_stations=8, n_events=2, duration_s=70.0, seed=3)
    return folder, truth


def _config(folder, out, mode, **location):
    return {
        "input": {"waveforms": [str(folder / "waveforms")]},
        "stations": {"path": str(folder / "stations.xml")},
        "model": {"vp": 6.0, "vs": 3.5},
        "association": {"min_picks": 6, "zlim": [0.0, 25.0]},
        "location": {"spacing_km": 1.0, "detection": mode, **location},
        "output": {"directory": str(out), "figures": False},
    }


@pytest.mark.slow
def test_migration_and_both(scenario, tmp_path):
    folder, truth = scenario
    out = tmp_path / "run"
    # migration only, in 25-second chunks (the record is 70 s: events near chunk borders)
    res = pipeline.run(_config(folder, out, "migration", chunk_s=25.0))
    events = pd.read_csv(out / "events.csv")
    cmp = demo.compare(events, truth["truth"])
    assert cmp.found.all()
    assert len(events) == 2  # each event once
    assert (cmp.dh_km < 1.5).all()
    assert (events.detection == "migration").all()
    assert (res.association.event_id == -1).all()  # picks are kept, not associated
    summary = json.loads((out / "summary.json").read_text())
    assert summary["detection"] == "migration"
    assert summary["n_migration_only"] == 2
    # both (the picks of the first run are reused): the same two events, found twice, kept
    # once with both origins, the migration origin preferred
    res = pipeline.run(_config(folder, out, "both", chunk_s=25.0))
    events = pd.read_csv(out / "events.csv")
    assert len(events) == 2
    assert (events.detection == "both").all()
    assert demo.compare(events, truth["truth"]).found.all()
    cat = read_events(str(out / "events.xml"))
    assert len(cat) == 2
    for ev in cat:
        methods = sorted(str(o.method_id).rsplit("/", 1)[-1] for o in ev.origins)
        assert methods == ["seiscore-association", "seiscore-migration"]
        assert "migration" in str(ev.preferred_origin().method_id)
    assert json.loads((out / "summary.json").read_text())["n_found_by_both"] == 2
    assert np.isfinite(events.err_x_km).all()


def test_detection_keys_are_checked():
    cfg = config.validate({"location": {"detection": "both", "chunk_s": 600}})
    assert cfg["location"]["detection"] == "both"
    assert cfg["location"]["min_separation_s"] == 1.0
    with pytest.raises(ConfigError, match="location.detection"):
        config.validate({"location": {"detection": "coalescence"}})
    with pytest.raises(ConfigError, match="location.chunk_s"):
        config.validate({"location": {"chunk_s": 0}})
