"""Station lists of location programs, full SEED, and their errors."""

from __future__ import annotations

import pytest

from seiscore.exceptions import InputError
from seiscore.io.stations import is_seed, read_stations


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_nonlinloc_gtsrce_lines(tmp_path):
    p = _write(
        tmp_path,
        "nll.in",
        "TRANS SIMPLE 46.0 7.5 0.0\n"
        "GTSRCE  STA1  LATLON   46.10  7.60  0.0  1.250\n"
        "GTSRCE  STA2  LATLONDM 46 06.0N 7 36.0E 0.0 0.5\n"
        "GTFILES ./model/layer ./time/layer P\n",
    )
    st = read_stations(p, default_network="XX")
    assert st.ids == ["XX.STA1.", "XX.STA2."]
    assert st.latitude[1] == pytest.approx(46.1)
    assert st.longitude[1] == pytest.approx(7.6)
    assert list(st.elevation_m) == [1250.0, 500.0]
    bad = _write(tmp_path, "xyz.in", "GTSRCE STA3 XYZ 1.0 2.0 0.0 0.1\n")
    with pytest.raises(InputError, match=r"xyz.in: line 1: GTSRCE STA3 is given as XYZ"):
        read_stations(bad)


def test_loki_header(tmp_path):
    p = _write(
        tmp_path,
        "header.hdr",
        "101 101 51\n0.0 0.0 -1.0\n0.1 0.1 0.1\n46.5 9.9\nAAA 46.51 9.91 1.2\nBBB 46.49 9.89 0.8\n",
    )
    st = read_stations(p)
    assert st.ids == [".AAA.", ".BBB."]
    assert list(st.elevation_m) == [1200.0, 800.0]
    names_only = _write(tmp_path, "h2.hdr", "11 11 5\n0 0 0\n1 1 1\n46.5 9.9\nAAA\nBBB\n")
    with pytest.raises(InputError, match=r"h2.hdr: line 5: station 'AAA' has no coordinates"):
        read_stations(names_only)


def test_hypoinverse_station_file(tmp_path):
    p = _write(
        tmp_path,
        "sta.hinv",
        "MNRC  NC  VHZ  38 52.7940 122 26.6560W 707\nABC   BK  HHZ  37 30.0000S 122 30.0000E  12\n",
    )
    st = read_stations(p)
    assert st.ids == ["BK.ABC.", "NC.MNRC."]
    assert st.latitude[1] == pytest.approx(38 + 52.794 / 60)
    assert st.longitude[1] == pytest.approx(-(122 + 26.656 / 60))
    assert st.latitude[0] == pytest.approx(-37.5)
    assert st.longitude[0] == pytest.approx(122.5)
    assert st.elevation_m[1] == 707.0


def test_seed_detection(tmp_path):
    assert not is_seed(_write(tmp_path, "x.txt", "network,station\nXX,A\n"))
    assert is_seed(_write(tmp_path, "y.seed", "000001V 010009402.3121992"))
