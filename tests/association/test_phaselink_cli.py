"""``seiscore associate --method phaselink --linker linker.onnx`` end to end: the same events and
assigned-picks tables as the grid search, from a linker file (a hand-made ONNX linker that links
by time, so no torch is needed; and, where torch is installed, one trained for a few steps by
``seiscore train-associator``); clear errors for a missing, absent or broken linker and for
grid-search settings PhaseLink does not use."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from seiscore import ConfigError, synthetic
from seiscore.association import associate_by_method, linker_network
from seiscore.cli import main
from seiscore.io.catalog import write_picks_csv
from seiscore.io.stations import read_stations
from seiscore.traveltime import VelocityModel

from .test_phaselink import time_linker

VP, VS = 6.0, 3.5
VOLUME = dict(xlim=(-45.0, 45.0), ylim=(-45.0, 45.0), zlim=(0.0, 15.0))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Twelve events in an hour at 14 stations (picks CSV, station CSV, model file) and a
    time-rule linker made for these stations."""
    folder = tmp_path_factory.mktemp("plcli")
    st = synthetic.network(14, xlim=(-40, 40), ylim=(-40, 40), seed=31)
    cat = synthetic.picks(
        st, 12, duration_s=3600.0, xlim=(-35, 35), ylim=(-35, 35), zlim=(2, 15),
        radius_a_km=40.0, radius_b_km=80.0, seed=32,
        travel_time=synthetic.homogeneous_travel_time(VP, VS),
    )  # fmt: skip
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
    (folder / "model.txt").write_text(f"depth vp vs\n0 {VP} {VS}\n")
    stations = read_stations(folder / "stations.csv")
    net = linker_network(stations, VelocityModel.homogeneous(VP, VS), max_picks=64, **VOLUME)
    linker = time_linker(folder / "time.onnx", net)
    return cat, folder, picks_csv, linker


def _args(folder, picks_csv, out, *extra):
    return [
        "associate", str(picks_csv), "--stations", str(folder / "stations.csv"),
        "--model", str(folder / "model.txt"), "-o", str(out), "--tolerance", "0.5",
        "--threads", "2", *extra,
    ]  # fmt: skip


def _score(cat, folder, stem):
    events = pd.read_csv(folder / f"{stem}.csv")
    assigned = pd.read_csv(folder / f"{stem}_picks.csv")
    m = synthetic.score(
        cat.pick_event, assigned["event_id"].to_numpy(), n_true_events=len(cat.events),
        n_pred_events=len(events),
    )  # fmt: skip
    return events, assigned, m


def test_cli_phaselink_writes_the_grid_search_tables(files, capsys):
    cat, folder, picks_csv, linker = files
    rc = main(_args(folder, picks_csv, folder / "pl.csv", "--method", "phaselink",
                    "--linker", str(linker)))  # fmt: skip
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert "events from" in captured.out
    rc = main(_args(folder, picks_csv, folder / "grid.csv", "--zlim", "0", "15"))
    assert rc == 0, capsys.readouterr().err
    pl, pl_picks, m = _score(cat, folder, "pl")
    grid, grid_picks, m_grid = _score(cat, folder, "grid")
    assert list(pl.columns) == list(grid.columns)  # the same events table
    assert list(pl_picks.columns) == list(grid_picks.columns)
    assert len(pl_picks) == len(cat.picks)
    assert m["precision"] == 1.0, m
    assert m["recall"] >= 11 / 12, m
    assert m["pick_precision"] > 0.95, m
    assert abs(len(pl) - len(grid)) <= 1
    assert (pl["significance"] > 0).all()
    assert np.nanmax(np.abs(pl_picks["residual_s"])) <= 0.5
    # the picks file keeps the input order and the residuals are NaN where unassociated
    assert pl_picks["residual_s"][pl_picks["event_id"] < 0].isna().all()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--method", "phaselink"], "needs a trained linker"),
        (["--method", "phaselink", "--linker", "{folder}/none.onnx"], "none.onnx"),
        (["--linker", "{folder}/time.onnx"], "only with --method phaselink"),
        (["--method", "phaselink", "--linker", "{folder}/time.onnx", "--cell", "5"], "cell_km"),
        (["--method", "phaselink", "--linker", "{folder}/time.onnx", "--null-test"], "null_test"),
    ],
)
def test_cli_phaselink_errors(files, capsys, tmp_path, extra, message):
    _, folder, picks_csv, _ = files
    extra = [e.replace("{folder}", str(folder)) for e in extra]
    rc = main(_args(folder, picks_csv, tmp_path / "ev.csv", *extra))
    assert rc == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "ev.csv").exists()


def test_cli_unknown_method(files, capsys, tmp_path):
    _, folder, picks_csv, _ = files
    with pytest.raises(SystemExit):
        main(_args(folder, picks_csv, tmp_path / "ev.csv", "--method", "octo"))
    assert "invalid choice: 'octo'" in capsys.readouterr().err


def test_cli_phaselink_broken_linker_names_the_file(files, capsys, tmp_path):
    _, folder, picks_csv, linker = files
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not an onnx file")
    broken.with_suffix(".json").write_text(linker.with_suffix(".json").read_text())
    rc = main(_args(folder, picks_csv, tmp_path / "ev.csv", "--method", "phaselink",
                    "--linker", str(broken)))  # fmt: skip
    assert rc == 2
    err = capsys.readouterr().err
    assert str(broken) in err
    assert "ONNX Runtime cannot load it" in err
    # no card beside the linker
    lonely = tmp_path / "lonely.onnx"
    lonely.write_bytes(linker.read_bytes())
    rc = main(_args(folder, picks_csv, tmp_path / "ev.csv", "--method", "phaselink",
                    "--linker", str(lonely)))  # fmt: skip
    assert rc == 2
    err = capsys.readouterr().err
    assert "linker card not found" in err
    assert "lonely.json" in err


def test_associate_by_method_settings(files):
    cat, folder, _, linker = files
    stations = read_stations(folder / "stations.csv")
    model = VelocityModel.homogeneous(VP, VS)
    common = dict(tolerance_s=0.5, workers=2)
    # the run configuration's defaults of grid-only keys are accepted; the default depth range
    # means the linker's
    res = associate_by_method(
        cat.picks, stations, model, method="phaselink", linker=linker, zlim=(0.0, 40.0),
        cell_km=None, null_test="auto", block_s=1800.0, bin_s=1.0, min_pick_fraction=0.25,
        tolerance_fraction=0.0, **common,
    )  # fmt: skip
    assert res.stats["method"] == "phaselink"
    assert len(res.events) >= 11
    assert (res.events.depth_km <= VOLUME["zlim"][1] + 1e-6).all()
    with pytest.raises(ConfigError, match="block_s, tolerance_fraction"):
        associate_by_method(cat.picks, stations, model, method="phaselink", linker=linker,
                            block_s=600.0, tolerance_fraction=0.1)  # fmt: skip
    with pytest.raises(ConfigError, match="method: expected one of"):
        associate_by_method(cat.picks, stations, model, method="octo")
    grid = associate_by_method(cat.picks, stations, model, linker="", **common)
    assert grid.stats.get("method", "grid") != "phaselink"


@pytest.fixture(scope="module")
def trained(files, tmp_path_factory):
    """A linker trained for a few steps by ``seiscore train-associator`` (torch needed)."""
    pytest.importorskip("torch")
    pytest.importorskip("onnx")
    _, folder, _, _ = files
    out = tmp_path_factory.mktemp("trained") / "tiny.onnx"
    rc = main([
        "train-associator", "--stations", str(folder / "stations.csv"), "--model",
        str(folder / "model.txt"), "--xlim", "-45", "45", "--ylim", "-45", "45", "--zlim", "0",
        "15", "--max-picks", "48", "--steps", "40", "--batch-size", "16", "--val-sequences",
        "64", "--threads", "2", "--no-progress", "-o", str(out),
    ])  # fmt: skip
    assert rc == 0
    return out


def test_cli_phaselink_with_a_trained_linker(files, trained, capsys, tmp_path):
    cat, folder, picks_csv, _ = files
    capsys.readouterr()
    rc = main(_args(folder, picks_csv, tmp_path / "ev.csv", "--method", "phaselink",
                    "--linker", str(trained)))  # fmt: skip
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    events = pd.read_csv(tmp_path / "ev.csv")
    assigned = pd.read_csv(tmp_path / "ev_picks.csv")
    assert len(assigned) == len(cat.picks)
    assert {"event_id", "residual_s", "significance"} <= set(assigned.columns) | set(events.columns)
    # a linker trained for 40 steps links little, but whatever it makes is a real event
    if len(events):
        m = synthetic.score(cat.pick_event, assigned["event_id"].to_numpy(),
                            n_true_events=len(cat.events), n_pred_events=len(events))  # fmt: skip
        assert m["precision"] >= 0.9, m
