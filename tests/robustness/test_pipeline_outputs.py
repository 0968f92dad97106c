"""``seiscore run`` on bad input and a hostile file system (issue 11): every problem is a note
naming the file, station or event, counted in ``summary.json``; outputs are whole or absent;
a failed write names the file and a rerun continues from the finished station-days."""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import shutil

import numpy as np
import obspy
import pandas as pd
import pytest

from seiscore import synthetic
from seiscore.cli import main
from seiscore.io.atomic import TEMP_PREFIX, WriteError
from seiscore.workflow import demo, pipeline


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    """8 stations, 2 events, 70 s (the scenario of tests/workflow/test_pipeline.py)."""
    folder = tmp_path_factory.mktemp("scenario")
    truth = demo.make_scenario(folder, n_stations=8, n_events=2, duration_s=70.0, seed=3)
    return folder, truth


def _config(folder, out, *, figures=False):
    return {
        "input": {"waveforms": [str(folder / "waveforms")]},
        "stations": {"path": str(folder / "stations.xml")},
        "model": {"vp": 6.0, "vs": 3.5},
        "association": {"min_picks": 6, "zlim": [0.0, 25.0]},
        "location": {"spacing_km": 1.0},
        "output": {"directory": str(out), "figures": figures},
    }


@pytest.fixture(scope="module")
def first_run(scenario, tmp_path_factory):
    folder, _ = scenario
    out = tmp_path_factory.mktemp("run1")
    return out, pipeline.run(_config(folder, out))


def _leftovers(out):
    return sorted(p.name for p in out.rglob(f"{TEMP_PREFIX}*"))


# ------------------------------------------------------------------ (5) a missing SDS day


def _write_sds(stream, root):
    for tr in stream:
        s = tr.stats
        d = root / str(s.starttime.year) / s.network / s.station / f"{s.channel}.D"
        d.mkdir(parents=True, exist_ok=True)
        name = (
            f"{s.network}.{s.station}.{s.location}.{s.channel}.D."
            f"{s.starttime.year}.{s.starttime.julday:03d}"
        )
        tr.write(str(d / name), format="MSEED")


def test_missing_sds_day_is_a_counted_note_and_the_other_days_run(scenario, first_run, tmp_path):
    folder, _ = scenario
    _, local = first_run
    st = obspy.read(str(folder / "waveforms" / "*.mseed"))
    _write_sds(st, tmp_path / "sds")
    cfg = _config(folder, tmp_path / "out")
    # the day before the records has no data at all in the archive
    cfg["input"] = {
        "sds": str(tmp_path / "sds"),
        "starttime": str(st[0].stats.starttime - 86400),
        "endtime": str(st[0].stats.endtime),
    }
    result = pipeline.run(cfg)

    assert result.summary["n_tasks"] == 16
    assert result.summary["n_tasks_no_data"] == 8
    missing = [m for m in result.messages if "no data, station-day skipped" in m]
    sids = sorted({str(tr.stats.network) + "." + str(tr.stats.station) + "." for tr in st})
    assert len(missing) == 8
    for sid, note in zip(sids, sorted(missing), strict=True):
        assert note.startswith(f"{sid} 2024-04-30: no data, station-day skipped (")
        assert str(tmp_path / "sds") in note
    # the day with data is complete: same picks and events as from the files
    np.testing.assert_array_equal(result.picks.time, local.picks.time)
    assert result.summary["n_events"] == 2
    assert result.summary["n_relocated"] == 2
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["n_tasks_no_data"] == 8
    assert sorted(missing) == sorted(n for n in summary["notes"] if n in missing)
    # nothing is written for a day without data, so that a rerun tries it again
    assert len(list((tmp_path / "out" / "picks").glob("*_20240430.csv"))) == 0


# ------------------------------------------------- (7a, 7b) what the conversion leaves out


@pytest.fixture(scope="module")
def bad_inputs(scenario, tmp_path_factory):
    """One good station and one of each kind of bad record."""
    folder, _ = scenario
    w = tmp_path_factory.mktemp("bad") / "waveforms"
    w.mkdir()
    src = sorted((folder / "waveforms").glob("*.mseed"))
    shutil.copy(src[7], w / src[7].name)  # S007: good
    data = src[0].read_bytes()  # S000: cut in the middle of a record of its N channel
    (w / src[0].name).write_bytes(data[: len(data) // 2 + 100])
    (w / src[1].name).write_bytes(b"")  # S001: zero-length file
    st = obspy.read(str(src[2]))  # S002: all NaN
    for tr in st:
        tr.data = np.full(tr.stats.npts, np.nan, np.float32)
    st.write(str(w / src[2].name), format="MSEED")
    st = obspy.read(str(src[3]))  # S003: 1 Hz
    for tr in st:
        tr.data, tr.stats.sampling_rate = tr.data[::100].copy(), 1.0
    st.write(str(w / src[3].name), format="MSEED")
    st = obspy.read(str(src[4]))  # S004: 2 s
    st.trim(st[0].stats.starttime + 10, st[0].stats.starttime + 12)
    st.write(str(w / src[4].name), format="MSEED")
    return folder, w


def test_conversion_notes_reach_the_console_and_summary(bad_inputs, tmp_path, capsys):
    folder, w = bad_inputs
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'[input]\nwaveforms = ["{w}"]\n[stations]\npath = "{folder / "stations.xml"}"\n'
        "[model]\nvp = 6.0\nvs = 3.5\n"
        '[output]\ndirectory = "out"\nfigures = false\n'
    )
    assert main(["run", str(cfg)]) == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err
    expected = [
        f"{w / 'XD.S001.mseed'}: empty file (0 bytes)",
        "2024-05-01 XD.S002. (HH): no data samples (only gaps or NaN); skipped",
        "2024-05-01 XD.S003. (HH): recorded at 1 Hz, below the 20 Hz needed for picking; skipped",
        "2024-05-01 XD.S004. (HH): only 2.01 s of data, shorter than the 3 s needed; skipped",
    ]
    for note in expected:
        assert f"note: {note}\n" in err, note
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    for note in expected:
        assert note in summary["notes"]
    assert summary["n_files_unreadable"] == 1
    assert summary["n_files_damaged"] == 1  # S000, see the next test
    assert summary["n_stations_skipped"] == 4  # S000, S002, S003, S004
    assert summary["n_tasks_no_data"] == 4
    assert summary["n_tasks"] == 5  # the zero-length file has no task
    assert summary["n_notes"] == len(summary["notes"])
    # a rerun skips the finished task and still reports every note
    assert main(["run", str(cfg)]) == 0
    again = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert again["n_tasks_skipped"] == 1
    assert sorted(again["notes"]) == sorted(summary["notes"])


def test_truncated_file_is_blamed_not_the_station(bad_inputs, tmp_path):
    folder, w = bad_inputs
    cfg = _config(folder, tmp_path)
    cfg["input"]["waveforms"] = [str(w / "XD.S000.mseed"), str(w / "XD.S007.mseed")]
    result = pipeline.run(cfg)
    path = w / "XD.S000.mseed"
    assert (
        f"{path}: warning: truncated or corrupt miniSEED file, the damaged part was skipped ("
    ) in "\n".join(result.messages)
    assert (
        f"2024-05-01 XD.S000.: {path} is truncated or corrupt: no Z component left "
        "(channels read: HHE, HHN); skipped"
    ) in result.messages
    assert not [m for m in result.messages if "no Z component (channels" in m]
    assert result.summary["n_files_damaged"] == 1
    assert result.summary["n_tasks_no_data"] == 1


# ----------------------------------------------------- (7c) unwritable or failing output


def test_unwritable_output_is_refused_before_work_and_a_failed_write_loses_nothing(
    scenario, tmp_path, monkeypatch, capsys
):
    folder, _ = scenario
    ro = tmp_path / "readonly"
    ro.mkdir()
    ro.chmod(0o555)
    real_open = os.open

    def refusing_open(path, *args, **kwargs):  # root ignores the mode bits: refuse as the OS
        if os.path.dirname(os.fspath(path)) == str(ro):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", refusing_open)
    monkeypatch.setattr(pipeline, "_run_tasks", lambda *a: pytest.fail("work started"))
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'[input]\nwaveforms = ["{folder / "waveforms"}"]\n'
        f'[stations]\npath = "{folder / "stations.xml"}"\n'
        f'[model]\nvp = 6.0\nvs = 3.5\n[output]\ndirectory = "{ro}"\n'
    )
    assert main(["run", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert f"output.directory: cannot write into the folder {ro} (Permission denied)" in err
    assert "Traceback" not in err
    monkeypatch.undo()
    ro.chmod(0o755)

    # a write that fails mid-run (disk full while writing events.csv)
    out = tmp_path / "out"
    real_replace = os.replace

    def full_disk(src, dst):
        if os.path.basename(dst) == "events.csv":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(WriteError) as info:
        pipeline.run(_config(folder, out))
    assert str(info.value).startswith(f"{out / 'events.csv'}: cannot write (No space left")
    assert f"kept in {out / 'picks'} and a rerun continues" in str(info.value)
    assert not (out / "events.csv").exists()
    assert _leftovers(out) == []
    monkeypatch.undo()
    again = pipeline.run(_config(folder, out))
    assert again.summary["n_tasks_skipped"] == 8
    assert again.summary["n_events"] == 2
    assert (out / "events.csv").exists()


# ------------------------------------------------------------- (7d) atomic outputs


def test_every_output_is_written_atomically(scenario, tmp_path, monkeypatch):
    folder, _ = scenario
    out = tmp_path / "out"
    replaced = []
    real_replace = os.replace

    def recording_replace(src, dst):
        assert os.path.basename(src).startswith(TEMP_PREFIX)
        assert os.path.dirname(src) == os.path.dirname(dst)
        replaced.append(os.path.relpath(dst, out))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", recording_replace)
    pipeline.run(_config(folder, out, figures=True))
    names = {"events.xml", "events.csv", "picks.csv", "summary.json", "map.png"}
    assert names <= set(replaced)
    assert len([r for r in replaced if r.startswith("picks/") and r.endswith(".csv")]) == 8
    assert len([r for r in replaced if r.startswith("probs/") and r.endswith(".npz")]) == 8
    monkeypatch.undo()

    # a run killed while it writes the catalogue leaves the previous catalogue whole
    before = (out / "events.csv").read_bytes()
    assert len(before) > 0
    real_to_csv = pd.DataFrame.to_csv

    def killed_to_csv(self, path=None, *args, **kwargs):
        if path is not None and str(path).endswith("events.csv"):
            with open(path, "w") as f:
                f.write("event_id,ti")
            raise KeyboardInterrupt
        return real_to_csv(self, path, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_csv", killed_to_csv)
    with pytest.raises(KeyboardInterrupt):
        pipeline.run(_config(folder, out, figures=True))
    assert (out / "events.csv").read_bytes() == before
    assert _leftovers(out) == []


# -------------------------------------------- (10) task status, event notes, midnight


class _TwiceClient:
    """A stand-in for ``dask.distributed.Client`` that runs every task twice (Dask may: a lost
    worker, a stolen task) and returns the second result."""

    def __init__(self):
        self.keys = []

    def map(self, func, tasks, *, key, pure, **kwargs):
        self.keys.extend(key)
        return [(func(t, **kwargs), func(t, **kwargs))[1] for t in tasks]

    def gather(self, futures):
        return futures


def test_distributed_fresh_run_reports_no_task_as_already_done(scenario, tmp_path):
    folder, _ = scenario
    client = _TwiceClient()
    result = pipeline.run(_config(folder, tmp_path), client=client)
    assert result.summary["n_tasks_run"] == 8
    assert result.summary["n_tasks_skipped"] == 0
    assert "(0 already done)" in pipeline.format_summary(result.summary)
    # a second run with the same client: new task keys, all 8 already done
    again = pipeline.run(_config(folder, tmp_path), client=client)
    assert again.summary["n_tasks_skipped"] == 8
    assert len(set(client.keys)) == len(client.keys) == 8


def test_relocation_notes_name_the_event(scenario, first_run, tmp_path):
    folder, _ = scenario
    out, result = first_run
    events = result.association.events
    assert len(events) == 2
    # event 1 moved an hour later, where no probabilities were stored
    times = events.time.copy()
    times[1] = times[1] + np.timedelta64(3600, "s")
    moved = dataclasses.replace(events, time=times)
    tasks, _ = pipeline.plan_tasks(pipeline._load_config(_config(folder, out)))
    stations = pipeline.sio.read_stations(str(folder / "stations.xml"))
    probs = pipeline._load_probs(tasks, out, stations)
    cfg = pipeline._load_config(_config(folder, out))
    messages = []
    velocity = pipeline._velocity(cfg)
    locs = pipeline.relocate(moved, stations, probs, velocity, cfg["location"], messages)
    assert locs.event_id.tolist() == [0]
    t1 = pipeline._utc(times[1])
    assert messages == [f"event 1 at {t1}: not relocated (no stored probabilities)"]
    messages.clear()
    pipeline.relocate(events, stations, {}, velocity, cfg["location"], messages)
    assert [m.split(" at ")[0] for m in messages] == ["event 0", "event 1"]


def test_stations_missing_from_the_table_are_reported_once(scenario, first_run):
    """Item 10: probabilities of a station that is not in the station table are set aside
    once, with one note listing it, not once per event."""
    folder, _ = scenario
    out, result = first_run
    events = result.association.events
    cfg = pipeline._load_config(_config(folder, out))
    tasks, _ = pipeline.plan_tasks(cfg)
    stations = pipeline.sio.read_stations(str(folder / "stations.xml"))
    probs = pipeline._load_probs(tasks, out, stations)
    dropped = sorted(probs)[0]
    keep = np.array([i != dropped for i in stations.ids])
    fewer = dataclasses.replace(
        stations, **{f.name: getattr(stations, f.name)[keep] for f in dataclasses.fields(stations)
                     if isinstance(getattr(stations, f.name), np.ndarray)}
    )  # fmt: skip
    messages = []
    velocity = pipeline._velocity(cfg)
    locs = pipeline.relocate(events, fewer, probs, velocity, cfg["location"], messages)
    assert len(locs) == len(events) == 2
    assert messages == [
        "relocation: probabilities of 1 station(s) not in the station table are not used: "
        + dropped
    ]


def test_event_just_after_midnight_is_relocated(tmp_path):
    """Records from 30 s before midnight; the event 3 s after it. Its window needs both
    station-day tasks: the stored probabilities of the first end 5 s (the margin) after
    midnight."""
    rng = np.random.default_rng(3)
    stations = synthetic.network(8, xlim=(-20, 20), ylim=(-20, 20), seed=rng, network_code="XD")
    midnight = obspy.UTCDateTime("2024-05-02T00:00:00")
    ev = {
        "x_km": np.array([2.0]),
        "y_km": np.array([-3.0]),
        "depth_km": np.array([8.0]),
        "time_s": np.array([33.0]),
        "magnitude": np.array([1.2]),
    }
    st = demo.synthetic_waveforms(stations, ev, midnight - 30, 100.0, seed=rng)
    (tmp_path / "waveforms").mkdir()
    for k in range(len(stations)):
        sub = st.select(station=str(stations.station[k]))
        sub.write(str(tmp_path / "waveforms" / f"XD.{stations.station[k]}.mseed"), format="MSEED")
    demo.write_stationxml(stations, tmp_path / "stations.xml")
    cfg = _config(tmp_path, tmp_path / "out")
    cfg["picking"] = {"margin_s": 5.0}

    result = pipeline.run(cfg)

    assert result.summary["n_tasks"] == 16  # 8 stations x (the end of day 1, day 2)
    assert result.summary["n_events"] == 1
    assert result.summary["n_relocated"] == 1
    assert not [m for m in result.messages if "not relocated" in m]
    dt = (result.locations.time[0] - np.datetime64("2024-05-02T00:00:03", "ns")) / np.timedelta64(
        1, "s"
    )
    assert abs(dt) < 0.3
