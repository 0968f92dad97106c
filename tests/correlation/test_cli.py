"""``seiscore correlate``: the command line end to end on the real CI.CCA / CI.HEC day."""

from __future__ import annotations

import re

import numpy as np
import pytest

from seiscore import correlation as corr
from seiscore.cli import main
from seiscore.io import read_waveform_files, to_waveforms
from seiscore.workflow.correlate import run_correlate_job

from ..conftest import shared_file


@pytest.fixture(scope="module")
def day_files():
    return [shared_file("noisepy", "cc", f"CI{s}__BHN___2022002.ms") for s in ("CCA", "HEC")]


@pytest.fixture(scope="module")
def station_files():
    return [shared_file("noisepy", "CI", f"CI_{s}.xml") for s in ("CCA", "HEC")]


OPTIONS = [
    "--components",
    "NN",
    "--sampling-rate",
    "10",
    "--freqmin",
    "0.1",
    "--freqmax",
    "1.0",
    "--temporal-norm",
    "onebit",
    "--window",
    "7200",
    "--max-lag",
    "60",
    "--stack",
    "linear,pws",
]


def test_cli_correlate_writes_netcdf_and_moveout(tmp_path, capsys, day_files, station_files):
    out = tmp_path / "ccfs.nc"
    png = tmp_path / "moveout.png"
    argv = ["correlate", *map(str, day_files), "-o", str(out), "--quiet", "--plot", str(png)]
    for s in station_files:
        argv += ["--stations", str(s)]
    code = main(argv + OPTIONS)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert re.search(r"1 pairs x 1 components, 1[12] pair-windows stacked", captured.out)
    assert png.stat().st_size > 1000
    ds = corr.read(out)
    assert ds.pair.values.tolist() == ["CI.CCA.:CI.HEC."]
    assert 150 < ds.distance_km.item() < 165
    assert ds.attrs["sampling_rate"] == 10.0
    assert ds.attrs["stack_methods"] == "linear,pws"
    # the same as calling the library on the same records
    stream, _ = read_waveform_files(day_files)
    ws, _ = to_waveforms(stream, components=("N",), require=("N",))
    ref = corr.correlate(
        ws,
        components="NN",
        sampling_rate=10.0,
        freqmin=0.1,
        freqmax=1.0,
        temporal_norm="onebit",
        window_s=7200,
        max_lag_s=60,
        stack=("linear", "pws"),
    )
    np.testing.assert_allclose(ds.ccf_linear.values, ref.ccf_linear.values, atol=1e-6)
    np.testing.assert_allclose(ds.ccf_pws.values, ref.ccf_pws.values, atol=1e-6)


def test_cli_correlate_errors(tmp_path, capsys, day_files):
    code = main(
        ["correlate", str(tmp_path / "nothing.mseed"), "-o", str(tmp_path / "x.nc"), "--quiet"]
    )
    assert code == 2
    assert "no such file" in capsys.readouterr().err
    code = main(
        [
            "correlate",
            *map(str, day_files),
            "-o",
            str(tmp_path / "x.nc"),
            "--quiet",
            "--window",
            "0",
        ]
    )
    assert code == 2
    assert "window_s" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["correlate", str(day_files[0])])  # -o is required


def test_job_reports_components_without_data(tmp_path, day_files):
    """Z was asked for but the files hold only BHN: the job says so instead of writing NaN
    quietly."""
    res = run_correlate_job(
        day_files,
        tmp_path / "z.nc",
        components="ZZ",
        window_s=7200,
        max_lag_s=10,
        sampling_rate=10.0,
        progress=False,
    )
    assert any("no pair has any usable window" in e for e in res.errors)
    assert int(res.dataset.windows_absent.sum()) == 2 * 12
