"""``seiscore associate`` end to end: picks CSV + station file + velocity model in, events and
assigned picks out; clear errors; the real Italy day (a slice of it) where the data is present."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from seiscore import synthetic
from seiscore.cli import main
from seiscore.containers import Picks
from seiscore.io.catalog import write_picks_csv
from seiscore.workflow.associate import run_associate_job

from ..conftest import shared_file


@pytest.fixture(scope="module")
def synthetic_files(tmp_path_factory):
    """A 1-hour synthetic catalogue written as seiscore-pick would (picks CSV), a station CSV and
    a homogeneous model file."""
    folder = tmp_path_factory.mktemp("assoc")
    st = synthetic.network(15, xlim=(-40, 40), ylim=(-40, 40), elevation_m=(0, 800), seed=21)
    cat = synthetic.picks(
        st,
        25,
        duration_s=3600.0,
        xlim=(-40, 40),
        ylim=(-40, 40),
        zlim=(0, 15),
        radius_a_km=30.0,
        radius_b_km=60.0,
        seed=22,
        travel_time=synthetic.homogeneous_travel_time(6.0, 3.5),
    )
    picks_csv = write_picks_csv(cat.picks, folder / "picks.csv")
    pd.DataFrame(
        {
            "network": st.network,
            "station": st.station,
            "latitude": st.latitude,
            "longitude": st.longitude,
            "elevation_m": st.elevation_m,
        }
    ).to_csv(folder / "stations.csv", index=False)
    (folder / "model.txt").write_text("depth vp vs\n0 6.0 3.5\n")
    return cat, folder, picks_csv


def test_cli_associate_writes_events_and_picks(synthetic_files, capsys):
    cat, folder, picks_csv = synthetic_files
    out = folder / "events.csv"
    rc = main(
        [
            "associate",
            str(picks_csv),
            "--stations",
            str(folder / "stations.csv"),
            "--model",
            str(folder / "model.txt"),
            "-o",
            str(out),
            "--zlim",
            "0",
            "15",
            "--tolerance",
            "0.5",
        ]
    )
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert "events from" in captured.out
    assert "not associated" in captured.out
    events = pd.read_csv(out)
    assert list(events.columns[:10]) == [
        "event_id",
        "time",
        "latitude",
        "longitude",
        "depth_km",
        "x_km",
        "y_km",
        "n_p",
        "n_s",
        "rms_s",
    ]
    assert abs(len(events) - len(cat.events)) <= 1
    assigned = pd.read_csv(folder / "events_picks.csv")
    assert len(assigned) == len(cat.picks)
    assert {"event_id", "residual_s"} <= set(assigned.columns)
    # the picks file keeps the input order: compare with the truth
    pred = assigned["event_id"].to_numpy()
    m = synthetic.score(
        cat.pick_event, pred, n_true_events=len(cat.events), n_pred_events=len(events)
    )
    assert m["f1"] >= 0.95, m
    # origin times within 0.2 s of the truth for matched events
    t_pred = pd.to_datetime(events["time"]).dt.tz_localize(None).to_numpy("datetime64[ns]")
    dt = np.abs((t_pred[:, None] - cat.events.time[None, :]) / np.timedelta64(1, "s")).min(axis=1)
    assert np.median(dt) < 0.2


def test_cli_homogeneous_model_flags(synthetic_files, capsys, tmp_path):
    _, folder, picks_csv = synthetic_files
    rc = main(
        [
            "associate",
            str(picks_csv),
            "--stations",
            str(folder / "stations.csv"),
            "--vp",
            "6.0",
            "--vs",
            "3.5",
            "-o",
            str(tmp_path / "ev.csv"),
            "--picks-out",
            str(tmp_path / "p.csv"),
            "--threads",
            "1",
        ]
    )
    assert rc == 0, capsys.readouterr().err
    assert (tmp_path / "p.csv").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "velocity model is required"),
        (["--model", "nope.nd"], "not found"),
        (["--vp", "6", "--vs", "3.5", "--model", "x.nd"], "not both"),
    ],
)
def test_cli_model_errors(synthetic_files, capsys, tmp_path, extra, message):
    _, folder, picks_csv = synthetic_files
    rc = main(
        [
            "associate",
            str(picks_csv),
            "--stations",
            str(folder / "stations.csv"),
            "-o",
            str(tmp_path / "e.csv"),
            *extra,
        ]
    )
    assert rc == 2
    assert message in capsys.readouterr().err


def test_cli_unknown_station_and_empty_picks(synthetic_files, capsys, tmp_path):
    cat, folder, _ = synthetic_files
    picks = cat.picks.select(np.arange(len(cat.picks)))
    picks.station = picks.station.copy()
    picks.station[5] = "ZZZ"
    bad = write_picks_csv(picks, tmp_path / "bad.csv")
    args = [
        "--stations",
        str(folder / "stations.csv"),
        "--model",
        str(folder / "model.txt"),
        "-o",
        str(tmp_path / "e.csv"),
    ]
    assert main(["associate", str(bad), *args]) == 2
    assert "SY.ZZZ" in capsys.readouterr().err
    assert main(["associate", str(bad), *args, "--unknown-stations", "skip"]) == 0
    captured = capsys.readouterr()
    assert "1 picks at stations not in" in captured.err
    empty = write_picks_csv(Picks.empty(), tmp_path / "empty.csv")
    assert main(["associate", str(empty), *args]) == 2
    assert "no picks" in capsys.readouterr().err


def test_cli_model_that_cannot_reach(synthetic_files, capsys, tmp_path):
    _, folder, picks_csv = synthetic_files
    # S cannot propagate (vs = 0 everywhere): no S travel times at all
    (tmp_path / "liquid.txt").write_text("depth vp vs\n0 6.0 0.0\n")
    rc = main(
        [
            "associate",
            str(picks_csv),
            "--stations",
            str(folder / "stations.csv"),
            "--model",
            str(tmp_path / "liquid.txt"),
            "-o",
            str(tmp_path / "e.csv"),
        ]
    )
    assert rc == 2
    err = capsys.readouterr().err
    assert "S" in err
    assert "cannot reach" in err or "velocity" in err


# ------------------------------------------------------------------------ real data


def italy_picks(hours: float | None = None) -> Picks:
    """REAL's PhaseNet picks of 2016-10-14 (sample indices at 100 Hz from t0) as a Picks table."""
    path = shared_file("real_italy", "Pick_PhaseNet", "results", "picks.csv")
    df = pd.read_csv(path, sep="\t")
    cols = {k: [] for k in ("network", "station", "phase", "time", "probability")}
    for _, r in df.iterrows():
        *_, net, sta, _ = r["fname"].split("_")
        t0 = np.datetime64(r["t0"], "ns")
        for ph, ci, cp in (("P", "p_idx", "p_prob"), ("S", "s_idx", "s_prob")):
            idx = np.array(json.loads(r[ci]), dtype=np.int64)
            cols["time"].append(t0 + (idx * 10_000_000).astype("timedelta64[ns]"))
            cols["probability"].append(np.array(json.loads(r[cp]), dtype=np.float32))
            for k, v in (("network", net), ("station", sta), ("phase", ph)):
                cols[k].append(np.full(len(idx), v, dtype=object))
    data = {k: np.concatenate(v) for k, v in cols.items()}
    n = len(data["time"])
    picks = Picks(
        network=data["network"],
        station=data["station"],
        location=np.full(n, "", dtype=object),
        phase=data["phase"],
        time=data["time"],
        probability=data["probability"],
        amplitude=np.full(n, np.nan, np.float32),
        snr=np.full(n, np.nan, np.float32),
    )
    if hours is not None:
        start = picks.time.min()
        picks = picks.select(picks.time < start + np.timedelta64(int(hours * 3600), "s"))
    return picks


def test_cli_null_test_and_significance(synthetic_files, capsys):
    """``--null-test`` reports the false-event rate of the settings on the console; every event
    has its significance in the events CSV, at or above the threshold used."""
    cat, folder, picks_csv = synthetic_files
    out = folder / "events_null.csv"
    args = ["associate", str(picks_csv), "--stations", str(folder / "stations.csv")]
    args += ["--model", str(folder / "model.txt"), "-o", str(out), "--zlim", "0", "15"]
    rc = main([*args, "--tolerance", "0.5", "--null-test", "2", "--min-significance", "6"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    line = [x for x in captured.out.splitlines() if x.startswith("null test:")]
    assert line
    assert "false events/h" in line[0]
    assert "2 repeats" in line[0]
    events = pd.read_csv(out)
    assert (events.significance >= 6).all()
    assert abs(len(events) - len(cat.events)) <= 1


def test_italy_real_picks_slice(tmp_path):
    """Two hours of the real Amatrice–Norcia day through the job: events are found, located in
    the sequence's area and depth range, with sub-second residuals."""
    stations = shared_file("real_italy", "Data", "station.dat")
    model = shared_file("real_italy", "tt_db", "itvel.nd")
    picks = italy_picks(hours=2.0)
    csv = write_picks_csv(picks, tmp_path / "italy_picks.csv")
    job = run_associate_job(
        csv,
        stations,
        tmp_path / "italy_events.csv",
        model=model,
        zlim=(0.0, 25.0),
        tolerance_s=1.0,
        unknown_stations="skip",
    )
    res = job.association
    ev = res.events
    assert len(ev) > 100  # REAL's own STA/LTA catalogue has ~55 events in these two hours
    assert res.stats["n_associated"] > 0.6 * len(picks)
    assert np.median(ev.rms_s) < 0.4
    # the sequence: 42.5–43.1 N, 12.9–13.4 E, mostly shallower than 12 km
    assert 42.6 < np.median(ev.latitude) < 43.0
    assert 13.0 < np.median(ev.longitude) < 13.4
    assert np.median(ev.depth_km) < 12
    assert res.stats["n_unknown_station"] == 0
