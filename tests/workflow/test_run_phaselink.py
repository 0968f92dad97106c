"""``seiscore run`` with ``[association] method = "phaselink"``: the tiny synthetic scenario of
test_pipeline.py associated by a linker (a hand-made ONNX linker that links by time, made for the
scenario's stations; no torch), the same events as the grid search; a linker path relative to
the configuration file; errors before any picking for a missing linker or grid-only settings."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from seiscore.association import linker_network
from seiscore.cli import main
from seiscore.exceptions import ConfigError, InputError
from seiscore.io.stations import read_stations
from seiscore.traveltime import VelocityModel
from seiscore.workflow import config as wcfg
from seiscore.workflow import demo, pipeline

from ..association.test_phaselink import time_linker


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    folder = tmp_path_factory.mktemp("plrun")
    truth = demo.make_scenario(folder, n_stations=8, n_events=2, duration_s=70.0, seed=3)
    stations = read_stations(folder / "stations.xml")
    net = linker_network(stations, VelocityModel.homogeneous(6.0, 3.5), zlim=(0.0, 25.0),
                         max_picks=64)  # fmt: skip
    time_linker(folder / "linker.onnx", net)
    return folder, truth


def _config(folder, out, **association):
    return {
        "input": {"waveforms": [str(folder / "waveforms")]},
        "stations": {"path": str(folder / "stations.xml")},
        "model": {"vp": 6.0, "vs": 3.5},
        "association": {"min_picks": 6, **association},
        "location": {"enabled": False},
        "output": {"directory": str(out), "figures": False},
    }


def test_run_with_phaselink_finds_the_events(scenario, tmp_path):
    folder, truth = scenario
    linker = str(folder / "linker.onnx")
    pl = pipeline.run(_config(folder, tmp_path / "pl", method="phaselink", linker=linker))
    assert pl.association.stats["method"] == "phaselink"
    assert pl.summary["n_events"] == 2
    events = pd.read_csv(tmp_path / "pl" / "events.csv")
    cmp = demo.compare(events, truth["truth"])
    assert cmp.found.all()
    assert (cmp.dt_s.abs() < 0.3).all()
    assert (cmp.dh_km < 2.0).all()
    # the grid search on the same picks: the same events, the same picks associated
    grid = pipeline.run(_config(folder, tmp_path / "grid", zlim=[0.0, 25.0]))
    assert grid.association.stats.get("method") != "phaselink"
    assert len(grid.association.events) == 2
    np.testing.assert_allclose(
        (pl.association.events.time - grid.association.events.time) / np.timedelta64(1, "s"),
        0.0,
        atol=0.3,
    )
    agree = (pl.association.event_id >= 0) == (grid.association.event_id >= 0)
    assert agree.mean() > 0.95
    picks = pd.read_csv(tmp_path / "pl" / "picks.csv")
    assert {"event_id", "residual_s"} <= set(picks.columns)
    assert (picks.event_id >= 0).sum() >= 12


def test_cli_run_phaselink_linker_relative_to_the_config(scenario, tmp_path, capsys):
    folder, _ = scenario
    (tmp_path / "models").mkdir()
    for suffix in (".onnx", ".json"):
        src = (folder / "linker").with_suffix(suffix)
        (tmp_path / "models" / src.name).write_bytes(src.read_bytes())
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'[input]\nwaveforms = ["{folder / "waveforms"}"]\n'
        f'[stations]\npath = "{folder / "stations.xml"}"\n'
        "[model]\nvp = 6.0\nvs = 3.5\n"
        '[association]\nmin_picks = 6\nmethod = "phaselink"\nlinker = "models/linker.onnx"\n'
        '[location]\nenabled = false\n[output]\ndirectory = "out"\nfigures = false\n'
    )
    assert wcfg.load(cfg)["association"]["linker"] == str(tmp_path / "models" / "linker.onnx")
    assert main(["run", str(cfg)]) == 0
    assert "2 events, 0 relocated" in capsys.readouterr().out
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["n_events"] == 2


def test_run_phaselink_errors_come_before_picking(scenario, tmp_path):
    folder, _ = scenario
    out = tmp_path / "out"
    with pytest.raises(ConfigError, match='association.linker: method = "phaselink" needs'):
        pipeline.run(_config(folder, out, method="phaselink"))
    with pytest.raises(InputError, match="linker not found: .*nope.onnx"):
        pipeline.run(_config(folder, out, method="phaselink", linker=str(tmp_path / "nope.onnx")))
    assert not list((out / "picks").glob("*.csv"))  # nothing was picked
    with pytest.raises(ConfigError, match="association.null_test: a setting of the grid search"):
        pipeline.run(_config(folder, out, method="phaselink", linker="x.onnx", null_test=True))
    with pytest.raises(ConfigError, match="association.cell_km"):
        pipeline.run(_config(folder, out, method="phaselink", linker="x.onnx", cell_km=5.0))
    with pytest.raises(ConfigError, match="association.method: expected one of"):
        pipeline.run(_config(folder, out, method="octo"))
    # a grid-search run ignores the linker key
    assert wcfg.validate({"association": {"linker": "x.onnx"}})["association"]["method"] == "grid"
