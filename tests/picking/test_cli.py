"""seiscore-pick end to end: real records in, picks CSV / QuakeML / plots out, clear errors."""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import obspy
import pytest

from seiscore.cli import main, pick_main
from seiscore.io.catalog import read_picks_csv, write_picks_csv

from ..conftest import shared_file


@pytest.fixture
def sc_seed(tmp_path):
    """The 5-station SC event record (miniSEED, 200 s), copied so tests may add files beside it."""
    src = shared_file("pnsn", "data", "SC.202305230113.0001.seed")
    folder = tmp_path / "wave"
    folder.mkdir()
    shutil.copy(src, folder / "SC.event.mseed")
    return folder


def test_pick_real_record_writes_csv_quakeml_and_plots(sc_seed, tmp_path, capsys):
    out = tmp_path / "picks.csv"
    rc = pick_main(
        [
            str(sc_seed),
            "-o",
            str(out),
            "--quakeml",
            str(tmp_path / "picks.xml"),
            "--plot",
            str(tmp_path / "plots"),
            "--quiet",
        ]
    )
    assert rc == 0, capsys.readouterr().err
    picks = read_picks_csv(out)
    assert set(picks.station) == {"BAY", "BAJ", "MZP", "ZDZ", "GHS"}
    # the event (~17:14:25 UTC) is picked with high probability at every station
    strong = picks.select((picks.phase == "P") & (picks.probability > 0.5))
    t = strong.time.astype("datetime64[s]")
    in_event = (t >= np.datetime64("2023-05-22T17:14:20")) & (
        t <= np.datetime64("2023-05-22T17:14:35")
    )
    assert set(strong.station[in_event]) == {"BAY", "BAJ", "MZP", "ZDZ", "GHS"}
    s_picks = picks.select(picks.phase == "S")
    assert len(s_picks) >= 5
    cat = obspy.read_events(str(tmp_path / "picks.xml"))
    assert len(cat[0].picks) == len(picks)
    assert len(list((tmp_path / "plots").glob("*.png"))) == 5
    assert "picks (" in capsys.readouterr().out


def test_bad_file_is_named_and_other_stations_complete(sc_seed, tmp_path, capsys):
    (sc_seed / "broken.mseed").write_bytes(b"\x00garbage" * 100)
    out = tmp_path / "picks.csv"
    rc = pick_main([str(sc_seed), "-o", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 1
    assert "broken.mseed" in err
    assert len(read_picks_csv(out)) > 0


def test_unknown_model_and_missing_input_fail_cleanly(sc_seed, tmp_path, capsys):
    args = [str(sc_seed), "-o", str(tmp_path / "p.csv"), "--model", "nosuch", "--quiet"]
    assert pick_main(args) == 2
    assert "unknown model 'nosuch'" in capsys.readouterr().err
    assert pick_main([str(tmp_path / "nothing"), "-o", str(tmp_path / "p.csv"), "--quiet"]) == 2
    assert "nothing" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["pick", str(empty), "-o", str(tmp_path / "p.csv"), "--quiet"]) == 2


def test_station_without_horizontals_is_picked_with_a_note(sc_seed, tmp_path, capsys):
    st = obspy.read(str(sc_seed / "SC.event.mseed")).select(station="MZP", component="Z")
    zdir = tmp_path / "zonly"
    zdir.mkdir()
    st.write(str(zdir / "MZP_Z.mseed"), format="MSEED")
    rc = pick_main([str(zdir), "-o", str(tmp_path / "z.csv"), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 0
    assert "MZP" in err
    assert "zeros" in err
    assert len(read_picks_csv(tmp_path / "z.csv")) > 0


def test_sds_archive_with_time_range(sc_seed, tmp_path, capsys):
    st = obspy.read(str(sc_seed / "SC.event.mseed")).select(station="BAY")
    root = tmp_path / "sds"
    for tr in st:
        s = tr.stats
        d = root / str(s.starttime.year) / s.network / s.station / f"{s.channel}.D"
        d.mkdir(parents=True, exist_ok=True)
        name = (
            f"{s.network}.{s.station}.{s.location}.{s.channel}.D."
            f"{s.starttime.year}.{s.starttime.julday:03d}"
        )
        tr.write(str(d / name), format="MSEED")
    out = tmp_path / "sds.csv"
    rc = pick_main(
        [str(root), "--sds", "--start", "2023-05-22T17:00:00", "--end", "2023-05-22T18:00:00"]
        + ["-o", str(out), "--quiet"]
    )
    assert rc == 0, capsys.readouterr().err
    picks = read_picks_csv(out)
    assert set(picks.station) == {"BAY"}
    assert (picks.phase == "P").any()
    assert pick_main([str(root), "--sds", "-o", str(out), "--quiet"]) == 2
    assert "time range" in capsys.readouterr().err


def test_thresholds_change_the_picks(sc_seed, tmp_path):
    low, high = tmp_path / "low.csv", tmp_path / "high.csv"
    for path, threshold in ((low, "0.1"), (high, "0.9")):
        args = ["-o", str(path), "--p-threshold", threshold, "--s-threshold", threshold, "--quiet"]
        assert pick_main([str(sc_seed), *args]) == 0
    a, b = read_picks_csv(low), read_picks_csv(high)
    assert len(a) > len(b) > 0
    assert (b.probability >= 0.9).all()


def test_csv_round_trip(tmp_path):
    from seiscore.containers import Picks

    p = Picks(
        network=np.array(["XX", "XX"], dtype=object),
        station=np.array(["A", "B"], dtype=object),
        location=np.array(["", "00"], dtype=object),
        phase=np.array(["P", "S"], dtype=object),
        time=np.array(
            ["2024-01-01T00:00:01.123456", "2024-01-02T10:00:00"], dtype="datetime64[ns]"
        ),
        probability=np.array([0.5, 0.75], np.float32),
        amplitude=np.array([10.0, np.nan], np.float32),
        snr=np.array([2.0, 3.0], np.float32),
    )
    back = read_picks_csv(write_picks_csv(p, tmp_path / "p.csv"))
    assert back.location.tolist() == ["", "00"]
    assert back.time.tolist() == p.time.tolist()
    np.testing.assert_allclose(back.probability, p.probability)


def test_console_scripts_exist():
    from pathlib import Path

    exe = shutil.which("seiscore-pick", path=str(Path(sys.executable).parent))
    assert exe, "seiscore-pick not on PATH"
    out = subprocess.run([exe, "--help"], capture_output=True, text=True, check=True).stdout
    assert "--plot" in out
    assert "--sds" in out
    out = subprocess.run(
        [sys.executable, "-m", "seiscore.cli", "pick", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "--model" in out


def test_demo_picks_the_bundled_records_like_the_analysts(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert pick_main(["--demo", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "P: 12/12 found" in out
    assert "S: 12/12 found" in out
    picks = read_picks_csv(tmp_path / "demo_picks.csv")
    assert set(picks.phase) == {"P", "S"}
    assert pick_main(["--demo", "some.mseed", "--quiet"]) == 2
