"""``seiscore run``: the whole pipeline on a tiny synthetic scenario (seconds)."""

from __future__ import annotations

import json
import os

import numpy as np
import obspy
import pandas as pd
import pytest

from seiscore.cli import main
from seiscore.exceptions import ConfigError, InputError
from seiscore.workflow import demo, pipeline


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scenario")
    truth = demo.make_scenario(folder, n_stations=8, n_events=2, duration_s=70.0, seed=3)
    return folder, truth


def _config(folder, out):
    return {
        "input": {"waveforms": [str(folder / "waveforms")]},
        "stations": {"path": str(folder / "stations.xml")},
        "model": {"vp": 6.0, "vs": 3.5},
        "association": {"min_picks": 6, "zlim": [0.0, 25.0]},
        "location": {"spacing_km": 1.0},
        "output": {"directory": str(out)},
    }


@pytest.fixture(scope="module")
def first_run(scenario, tmp_path_factory):
    folder, _ = scenario
    out = tmp_path_factory.mktemp("run1")
    return out, pipeline.run(_config(folder, out))


def test_pipeline_finds_and_relocates_the_events(scenario, first_run):
    _, truth = scenario
    out, result = first_run
    assert result.summary["n_tasks"] == 8
    assert result.summary["n_tasks_run"] == 8
    assert result.summary["n_events"] == 2
    assert result.summary["n_relocated"] == 2
    events = pd.read_csv(out / "events.csv")
    cmp = demo.compare(events, truth["truth"])
    assert cmp.found.all()
    assert (cmp.dt_s.abs() < 0.3).all()
    assert (cmp.dh_km < 1.5).all()
    assert (cmp.dz_km.abs() < 3.0).all()
    assert events.relocated.all()
    assert np.isfinite(events.err_x_km).all()
    # the relocation moved the hypocentre off the association's solution
    assert not np.allclose(events.latitude, events.assoc_latitude)


def test_pipeline_writes_the_catalogue(first_run):
    out, result = first_run
    for name in ("events.xml", "events.csv", "picks.csv", "map.png", "summary.json"):
        assert (out / name).stat().st_size > 0, name
    cat = obspy.read_events(str(out / "events.xml"))
    assert len(cat) == 2
    for ev in cat:
        assert len(ev.origins) == 2  # migration (preferred) and association
        pref = ev.preferred_origin()
        assert "migration" in str(pref.method_id)
        assert pref.origin_uncertainty is not None
        assoc = [o for o in ev.origins if "association" in str(o.method_id)][0]
        assert len(ev.picks) == len(assoc.arrivals) >= 6
        # the preferred origin carries the arrivals too, with residuals from its own position
        assert len(pref.arrivals) == len(assoc.arrivals)
        assert all(abs(a.time_residual) < 0.5 for a in pref.arrivals)
        pick_ids = {p.resource_id for p in ev.picks}
        assert all(a.pick_id in pick_ids for a in assoc.arrivals)
    picks = pd.read_csv(out / "picks.csv")
    assert {"event_id", "residual_s", "phase", "time"} <= set(picks.columns)
    assert (picks.event_id >= 0).sum() == sum(len(ev.picks) for ev in cat)
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["time_s"]) == {
        "pick_s",
        "associate_s",
        "relocate_s",
        "magnitude_s",
        "catalogue_s",
    }
    # one picks file and one probabilities file per station-day
    assert len(list((out / "picks").glob("*.csv"))) == 8
    assert len(list((out / "probs").glob("*.npz"))) == 8


def test_rerun_skips_finished_tasks(scenario, tmp_path):
    folder, _ = scenario
    cfg = _config(folder, tmp_path)
    first = pipeline.run(cfg)
    again = pipeline.run(cfg)
    assert again.summary["n_tasks_skipped"] == 8
    assert again.summary["n_tasks_run"] == 0
    assert len(again.picks) == len(first.picks)
    np.testing.assert_array_equal(again.association.events.time, first.association.events.time)
    # a task's file is what a rerun uses: an emptied file stays empty, a deleted one is redone
    files = sorted((tmp_path / "picks").glob("*.csv"))
    header = files[0].read_text().splitlines()[0]
    files[0].write_text(header + "\n")
    files[1].unlink()
    third = pipeline.run(cfg)
    assert third.summary["n_tasks_run"] == 1
    assert third.summary["n_tasks_skipped"] == 7
    n0 = int((first.picks.station == files[0].name.split(".")[1]).sum())
    assert n0 > 0
    assert len(third.picks) == len(first.picks) - n0


def test_dask_gives_the_same_events(scenario, first_run, tmp_path):
    distributed = pytest.importorskip("distributed")
    folder, _ = scenario
    out1, local = first_run
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0"
    )
    with cluster, distributed.Client(cluster) as client:
        result = pipeline.run(_config(folder, tmp_path), client=client)
    assert result.summary["scheduler"] == "dask"
    assert result.summary["n_tasks_run"] == 8
    a = pd.read_csv(out1 / "events.csv")
    b = pd.read_csv(tmp_path / "events.csv")
    pd.testing.assert_frame_equal(a, b)
    np.testing.assert_array_equal(result.picks.time, local.picks.time)


def test_cli_run(scenario, tmp_path, capsys):
    folder, _ = scenario
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'[input]\nwaveforms = ["{folder / "waveforms"}"]\n'
        f'[stations]\npath = "{folder / "stations.xml"}"\n'
        "[model]\nvp = 6.0\nvs = 3.5\n[association]\nmin_picks = 6\n[location]\nenabled = false\n"
        '[output]\ndirectory = "out"\nfigures = false\n'
    )
    assert main(["run", str(cfg)]) == 0
    text = capsys.readouterr().out
    assert "2 events, 0 relocated" in text
    assert (tmp_path / "out" / "events.xml").exists()
    assert not (tmp_path / "out" / "map.png").exists()
    cat = obspy.read_events(str(tmp_path / "out" / "events.xml"))
    assert all(len(ev.origins) == 1 for ev in cat)


def test_cli_run_null_test(scenario, tmp_path, capsys):
    """``--null-test``: the association's false-event rate on the console and in summary.json
    (the automatic one stays off on a span this short, quietly)."""
    folder, _ = scenario
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'[input]\nwaveforms = ["{folder / "waveforms"}"]\n'
        f'[stations]\npath = "{folder / "stations.xml"}"\n'
        "[model]\nvp = 6.0\nvs = 3.5\n[association]\nmin_picks = 6\n[location]\nenabled = false\n"
        '[output]\ndirectory = "out"\nfigures = false\n'
    )
    assert main(["run", str(cfg)]) == 0
    auto = json.loads((tmp_path / "out" / "summary.json").read_text())["null_test"]
    assert auto["automatic"]
    assert auto["events_per_hour"] is None
    assert "null test" not in capsys.readouterr().out
    assert main(["run", str(cfg), "--null-test"]) == 0
    text = capsys.readouterr().out
    null = json.loads((tmp_path / "out" / "summary.json").read_text())["null_test"]
    assert null["line"] in text
    assert not null["automatic"]
    # 70 s of picks: too short to shift 8 stations apart, which the line says
    assert null["events_per_hour"] is None
    assert "offset steps" in null["note"]
    assert null["line"].startswith("null test: not run")


def test_errors_name_the_problem(scenario, tmp_path):
    folder, _ = scenario
    cfg = _config(folder, tmp_path)
    cfg["stations"]["path"] = str(tmp_path / "nope.xml")
    with pytest.raises(InputError, match="nope.xml"):
        pipeline.run(cfg)
    cfg = _config(folder, tmp_path)
    cfg["input"]["waveforms"] = [str(tmp_path / "empty")]
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError):
        pipeline.run(cfg)
    cfg = _config(folder, tmp_path)
    cfg["model"] = {"path": str(tmp_path / "model.nd")}
    with pytest.raises(InputError, match="model.path: velocity model file not found"):
        pipeline.run(cfg)
    cfg = _config(folder, tmp_path)
    del cfg["model"]
    with pytest.raises(ConfigError, match="velocity model is required"):
        pipeline.run(cfg)
    with pytest.raises(ConfigError, match="expected a path or a dict"):
        pipeline.run(3)


def test_sds_input_gives_the_same_picks(scenario, first_run, tmp_path):
    folder, _ = scenario
    _, local = first_run
    root = tmp_path / "sds"
    st = obspy.read(str(folder / "waveforms" / "*.mseed"))
    for tr in st:
        s = tr.stats
        d = root / str(s.starttime.year) / s.network / s.station / f"{s.channel}.D"
        d.mkdir(parents=True, exist_ok=True)
        name = (
            f"{s.network}.{s.station}.{s.location}.{s.channel}.D."
            f"{s.starttime.year}.{s.starttime.julday:03d}"
        )
        tr.write(str(d / name), format="MSEED")
    cfg = _config(folder, tmp_path / "out")
    cfg["input"] = {
        "sds": str(root),
        "starttime": str(st[0].stats.starttime),
        "endtime": str(st[0].stats.endtime),
    }
    result = pipeline.run(cfg)
    assert result.summary["n_tasks"] == 8
    np.testing.assert_array_equal(result.picks.time, local.picks.time)
    assert result.summary["n_events"] == 2
    cfg["input"]["sds"] = str(tmp_path / "no_archive")
    with pytest.raises(InputError, match="input.sds: SDS archive not found"):
        pipeline.run(cfg)


def test_cli_scheduler_address(scenario, first_run, tmp_path, capsys):
    """``--scheduler tcp://...``: a scheduler with two worker processes on the loopback."""
    distributed = pytest.importorskip("distributed")
    folder, _ = scenario
    out1, _ = first_run
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'[input]\nwaveforms = ["{folder / "waveforms"}"]\n'
        f'[stations]\npath = "{folder / "stations.xml"}"\n'
        "[model]\nvp = 6.0\nvs = 3.5\n[association]\nmin_picks = 6\nzlim = [0.0, 25.0]\n"
        '[output]\ndirectory = "out"\n'
    )
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=":0"
    )
    with cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1")
        assert main(["run", str(cfg), "--scheduler", cluster.scheduler_address]) == 0
    assert "2 events, 2 relocated" in capsys.readouterr().out
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["scheduler"] == "dask"
    pd.testing.assert_frame_equal(
        pd.read_csv(out1 / "events.csv"), pd.read_csv(tmp_path / "out" / "events.csv")
    )


def test_rerun_with_other_settings_picks_again(scenario, tmp_path):
    """A task's result is reused only when it was made with the same settings and inputs."""
    folder, _ = scenario
    cfg = _config(folder, tmp_path / "out")
    cfg["location"] = {"enabled": False}
    cfg["magnitude"] = {"enabled": False}
    first = pipeline.run(cfg)
    assert first.summary["n_tasks_run"] == 8
    again = pipeline.run(cfg)
    assert again.summary["n_tasks_skipped"] == 8
    cfg["picking"] = {"p_threshold": 0.6}
    third = pipeline.run(cfg)
    assert third.summary["n_tasks_run"] == 8
    redone = [m for m in third.messages if "picked again" in m]
    assert len(redone) == 8
    assert "p_threshold None -> 0.6" in redone[0]
    assert len(third.picks) <= len(first.picks)
    # a changed input file is noticed too
    wf = sorted((folder / "waveforms").glob("*.mseed"))[0]
    os.utime(wf, (wf.stat().st_atime, wf.stat().st_mtime + 10))
    fourth = pipeline.run(cfg)
    assert fourth.summary["n_tasks_run"] == 1
    assert any("input files changed" in m for m in fourth.messages)


class _Bank:
    """Stands for an ObsPy client or wave bank: get_waveforms only (no listing)."""

    def __init__(self, folder):
        self.st = obspy.read(str(folder / "waveforms" / "*.mseed"))

    def get_waveforms(self, network, station, location, channel, starttime, endtime):
        return (
            self.st.select(network=network, station=station, location=location, channel=channel)
            .slice(starttime, endtime)
            .copy()
        )


def test_pipeline_reads_from_any_get_waveforms_source(scenario, first_run, tmp_path):
    folder, _ = scenario
    _, files_run = first_run
    st = obspy.read(str(folder / "waveforms" / "*.mseed"))
    cfg = _config(folder, tmp_path / "out")
    del cfg["input"]["waveforms"]
    cfg["input"] |= {"starttime": str(st[0].stats.starttime), "endtime": str(st[0].stats.endtime),
                     "channels": sorted({f"{tr.id[:-1]}?" for tr in st})}  # fmt: skip
    result = pipeline.run(cfg, source=_Bank(folder))
    assert result.summary["n_events"] == files_run.summary["n_events"] == 2
    assert len(result.picks) == len(files_run.picks)
    assert result.magnitudes is not None
    assert len(result.magnitudes.network) == 2
