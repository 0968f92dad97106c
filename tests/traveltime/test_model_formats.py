"""Velocity-model files: every format recognised, read right, and errors that name the file,
line and column."""

from __future__ import annotations

import numpy as np
import pytest

from seiscore.exceptions import InputError
from seiscore.traveltime import VelocityModel

from ..conftest import shared_file


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_nonlinloc_layer_lines_in_a_control_file(tmp_path):
    p = _write(
        tmp_path,
        "run.in",
        "CONTROL 1 54321\nTRANS SIMPLE 46.0 7.5 0.0\n"
        "LAYER  0.0  5.0 0.10  2.9 0.05  2.7 0.0\n"
        "LAYER 10.0  6.2 0.00  3.6 0.00  2.8 0.0\n"
        "GTSRCE STA1 LATLON 46.1 7.6 0.0 1.2\n",
    )
    m = VelocityModel.from_file(p)
    assert m.source_format.startswith("NonLinLoc LAYER")
    assert m.interpolation == "linear"
    assert float(m.velocity_at("P", 5.0)) == pytest.approx(5.5)  # 5.0 + 0.1 * 5
    assert float(m.velocity_at("S", 9.999)) == pytest.approx(3.4, abs=1e-3)
    assert float(m.velocity_at("P", 10.0)) == pytest.approx(6.2)
    assert float(m.velocity_at("S", 50.0)) == pytest.approx(3.6)


def test_malmi_seven_column_layers(tmp_path):
    p = _write(
        tmp_path,
        "vmodel.txt",
        "# depth Vp Vp_grad Vs Vs_grad rho rho_grad\n"
        "-2.0 4.5 0.0 2.6 0.0 2.5 0.0\n 3.0 5.8 0.02 3.35 0.01 2.7 0.0\n",
    )
    m = VelocityModel.from_file(p)
    assert "MALMI" in m.source_format
    assert float(m.vs[0]) == pytest.approx(2.6)  # the 4th column, not the gradient
    assert float(m.velocity_at("P", 13.0)) == pytest.approx(5.8 + 0.2)


def test_gradient_column_read_as_vs_is_explained(tmp_path):
    """The issue's case: a layered file whose third column (a gradient) was taken as vs."""
    p = _write(tmp_path, "vmodel.txt", "0.0 5.0 0.0 2.9 0.0\n5.0 6.0 0.0 3.5 0.0\n")
    with pytest.raises(InputError, match=r"vmodel.txt: column 3 \(vs\) is 0 on every line"):
        VelocityModel.from_file(p)


def test_hypoinverse_crh_needs_its_s_model(tmp_path):
    p = _write(tmp_path, "p.crh", "MODEL P\n5.30 0.00\n6.20 5.00\n7.50 31.00\n")
    s = _write(tmp_path, "s.crh", "MODEL S\n2.75 0.00\n3.40 5.00\n3.50 21.00\n4.00 31.00\n")
    with pytest.raises(InputError, match=r"p.crh: a Hypoinverse .crh model holds one phase"):
        VelocityModel.from_file(p)
    m = VelocityModel.from_file(p, s_path=s)
    np.testing.assert_allclose(m.depth_km, [0, 5, 21, 31])
    np.testing.assert_allclose(m.vp, [5.3, 6.2, 6.2, 7.5])
    np.testing.assert_allclose(m.vs, [2.75, 3.4, 3.5, 4.0])
    r = VelocityModel.from_file(p, vpvs=1.75)
    np.testing.assert_allclose(r.vs, r.vp / 1.75)
    with pytest.raises(InputError, match="vpvs: expected a vp/vs ratio > 1"):
        VelocityModel.from_file(p, vpvs=0.5)


def test_real_italy_models_agree():
    nd = VelocityModel.from_file(shared_file("real_italy/tt_db/itvel.nd"))
    crh = VelocityModel.from_file(
        shared_file("real_italy/hypoinverse/vel_model_P.crh"),
        s_path=shared_file("real_italy/hypoinverse/vel_model_S.crh"),
    )
    for z in (0.5, 3.0, 10.0, 25.0):
        assert float(crh.velocity_at("P", z)) == pytest.approx(
            float(nd.velocity_at("P", z)), abs=0.6
        )
        assert float(crh.velocity_at("S", z)) == pytest.approx(
            float(nd.velocity_at("S", z)), abs=0.4
        )


def test_growclust_style_nodes_with_repeated_depths(tmp_path):
    p = _write(tmp_path, "vzmodel.txt", "0.0 5.0 2.9\n10.0 6.0 3.5\n10.0 6.5 3.7\n30.0 7.0 4.0\n")
    m = VelocityModel.from_file(p)
    assert m.interpolation == "linear"
    assert float(m.velocity_at("P", 5.0)) == pytest.approx(5.5)
    assert float(m.velocity_at("P", 10.0)) == pytest.approx(6.5)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("depth,vp,vs\n0,5.0,2.9\n3,x,3.1\n", r"line 3, column 2 \('vp'\): 'x' is not a number"),
        (
            "depth,vp,vs\n0,5.0,2.9\n3,3.0,3.1\n",
            r"line 3, column 3 \('vs'\): vs 3.1 km/s is not below vp",
        ),
        (
            "depth,vp,vs\n0,5.0,2.9\n3,600000,3.1\n",
            r"line 3, column 2 \('vp'\): vp must be positive and at most 20",
        ),
        (
            "depth,vp,vs\n5,5.0,2.9\n3,6.0,3.1\n",
            r"line 3, column 1 \(depth\): depths must increase",
        ),
        ("0 5.0 2.9\n3 6.0\n", r"line 3|list index|cannot read"),
        ("LAYER 0 5 0 2.9 0 2.7\n", r"line 1: a layer needs 7 numbers"),
    ],
)
def test_errors_name_file_line_and_column(tmp_path, text, match):
    p = _write(tmp_path, "bad.csv" if "," in text else "bad.txt", text)
    with pytest.raises(InputError, match=match) as exc:
        VelocityModel.from_file(p)
    assert str(p) in str(exc.value)


def test_describe_prints_what_was_read(tmp_path):
    p = _write(tmp_path, "m.csv", "depth,vp,vs\n0,5.0,2.9\n10,6.0,3.5\n")
    text = VelocityModel.from_file(p).describe()
    assert "depth vp vs table" in text
    assert "10.000    6.000    3.500  1.714" in text
    assert "just below sea level: vp 5.000 km/s, vs 2.900 km/s" in text


def test_cli_model_prints_and_plots(tmp_path, capsys):
    from seiscore.cli import main

    p = _write(tmp_path, "m.csv", "depth,vp,vs\n0,5.0,2.9\n10,6.0,3.5\n")
    assert main(["model", str(p), "--plot", str(tmp_path / "m.png")]) == 0
    out = capsys.readouterr().out
    assert "2 layer tops" in out
    assert (tmp_path / "m.png").stat().st_size > 5000
    crh = _write(tmp_path, "p.crh", "MODEL P\n5.3 0.0\n6.2 5.0\n")
    assert main(["model", str(crh)]) == 2
    assert "give the S model's file" in capsys.readouterr().err
    assert main(["model", str(crh), "--vpvs", "1.8"]) == 0
