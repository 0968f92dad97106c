"""``seiscore run`` with ``[picking] heads``: the per-pick heads fill the picks table, the
network DL magnitude reaches events.csv and QuakeML, and a wrong head name is refused before
any station-day is picked."""

from __future__ import annotations

import numpy as np
import obspy
import pandas as pd
import pytest

from seiscore.exceptions import ConfigError
from seiscore.workflow import config, demo, pipeline
from seiscore.workflow.pipeline.tasks import task_settings

_PICKING = config.defaults()["picking"]


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scenario")
    demo.make_scenario(folder, n_stations=8, n_events=2, duration_s=70.0, seed=3)
    return folder


def _config(folder, out, heads):
    return {
        "input": {"waveforms": [str(folder / "waveforms")]},
        "stations": {"path": str(folder / "stations.xml")},
        "model": {"vp": 6.0, "vs": 3.5},
        "picking": {"heads": heads},
        "association": {"min_picks": 6, "zlim": [0.0, 25.0]},
        "location": {"spacing_km": 1.0},
        "output": {"directory": str(out), "figures": False},
    }


def test_run_applies_the_heads(scenario, tmp_path):
    result = pipeline.run(_config(scenario, tmp_path, "magnitude,polarity"))
    picks = pd.read_csv(tmp_path / "picks.csv")
    p = picks[picks.phase == "P"]
    assert len(p) >= 8
    assert np.isfinite(p.magnitude_dl).all()
    assert set(p.polarity) <= {"positive", "negative", "undecidable"}
    assert picks[picks.phase == "S"].magnitude_dl.isna().all()
    events = pd.read_csv(tmp_path / "events.csv")
    assert len(events) == len(result.association.events) >= 1
    assert np.isfinite(events.magnitude_dl).all()
    cat = obspy.read_events(str(tmp_path / "events.xml"))
    types = {m.magnitude_type for ev in cat for m in ev.magnitudes}
    assert any(t and t.startswith("M") for t in types)
    # the settings record has the heads: the same run again is skipped, not picked again
    again = pipeline.run(_config(scenario, tmp_path, "magnitude,polarity"))
    assert again.summary["n_tasks_skipped"] == 8
    # without heads the station-days are picked again (and say why) ...
    plain = pipeline.run(_config(scenario, tmp_path, ""))
    assert plain.summary["n_tasks_run"] == 8
    assert any("heads 'magnitude,polarity' -> None" in m for m in plain.messages)
    plain_picks = pd.read_csv(tmp_path / "picks.csv")
    assert "magnitude_dl" not in plain_picks or plain_picks.magnitude_dl.isna().all()
    # ... and a settings record without heads (a run made before heads existed) still matches
    assert "heads" not in task_settings({"files": []}, {**_PICKING, "heads": ""})
    assert task_settings({"files": []}, {**_PICKING, "heads": "all"})["heads"] == "all"


def test_run_refuses_an_unknown_head(scenario, tmp_path):
    with pytest.raises(ConfigError, match="picking.heads: unknown head 'magnitud'"):
        pipeline.run(_config(scenario, tmp_path, "polarity,magnitud"))
    assert not (tmp_path / "picks").exists() or not any((tmp_path / "picks").iterdir())
