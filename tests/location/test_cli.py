"""``seiscore-locate`` / ``seiscore locate``: outputs and the errors a user meets."""

from __future__ import annotations

import numpy as np
import pytest
from obspy import UTCDateTime, read_events

from seiscore import cli, geo
from seiscore import location as loc
from seiscore import traveltime as tt

REF = (-33.0, -70.5)
START = UTCDateTime(2023, 5, 1, 12)
EVENT = (14.0, (2.2, -1.7, 6.3))  # origin time after START (s), (x, y, z) km


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    d = tmp_path_factory.mktemp("locate")
    rng = np.random.default_rng(11)
    xy = rng.uniform(-9, 9, (8, 2))
    lat, lon = geo.unproject(xy[:, 0], xy[:, 1], *REF)
    lines = ["network,station,latitude,longitude,elevation_m"]
    lines += [
        f"CX,ST{i},{a:.7f},{b:.7f},{e:.1f}"
        for i, (a, b, e) in enumerate(zip(lat, lon, rng.uniform(0, 300, 8), strict=False))
    ]
    (d / "stations.csv").write_text("\n".join(lines) + "\n")
    from seiscore.io.stations import read_stations

    stations = read_stations(d / "stations.csv")
    table = tt.build_table(tt.VelocityModel.homogeneous(5.5, 3.2), 40, 20, 0.25, 0.25)
    fs = 40.0
    n = int(30 * fs)
    t = np.arange(n) / fs
    data = np.abs(rng.normal(0, 0.02, (8, 2, n))).astype(np.float32)
    ot, (x, y, z) = EVENT
    sx, sy = geo.project(stations.latitude, stations.longitude, *REF)
    dist = np.hypot(sx - x, sy - y)
    for p, ph in enumerate("PS"):
        arr = ot + tt.travel_times(table, ph, dist, z, stations.elevation_m)
        data[:, p] += np.exp(-0.5 * ((t[None, :] - arr[:, None]) / 0.1) ** 2)
    loc.Onsets(data, np.ones((8, 2), bool), START, fs, tuple(stations.ids), ("P", "S")).save(
        d / "onsets.npz"
    )
    return d


def _args(d, *extra):
    lat0, lon0 = geo.unproject(-12.0, -12.0, *REF)
    lat1, lon1 = geo.unproject(12.0, 12.0, *REF)
    return [
        "locate",
        "--onsets",
        str(d / "onsets.npz"),
        "--stations",
        str(d / "stations.csv"),
        "--homogeneous",
        "5.5",
        "3.2",
        "--grid",
        f"{lat0:.6f}",
        f"{lat1:.6f}",
        f"{lon0:.6f}",
        f"{lon1:.6f}",
        "--depth",
        "0",
        "14",
        "--spacing",
        "1.0",
        "--threshold",
        "8",
        "--min-separation",
        "8",
        "--marginal-window",
        "0.3",
        *extra,
    ]


def test_locate_cli_writes_csv_quakeml_and_figures(case, tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(_args(case, "-o", str(out), "--tt-file", str(tmp_path / "tt.npz"))) == 0
    text = capsys.readouterr().out
    assert "1 event(s)" in text
    import pandas as pd

    df = pd.read_csv(out / "events.csv")
    assert len(df) == 1
    assert df.statistic[0] >= 8  # the detection statistic, above the --threshold given
    assert not df.on_edge[0]
    x, y = geo.project(df.latitude[0], df.longitude[0], *REF)
    # the grid is centred on its bounds, close to REF but not exactly: compare in REF's frame
    ot, (ex, ey, ez) = EVENT
    assert abs(float(x) - ex) < 1.0
    assert abs(float(y) - ey) < 1.0
    assert abs(df.depth_km[0] - ez) < 1.0
    assert abs(UTCDateTime(df.time[0]) - (START + ot)) < 0.05
    cat = read_events(str(out / "events.xml"))
    assert len(cat) == 1
    assert abs(cat[0].origins[0].depth - 1000 * df.depth_km[0]) < 1
    assert (out / "figures" / "event_0000.png").stat().st_size > 10_000
    # second run: travel times come from the cache; a different grid is refused
    assert (
        cli.main(
            _args(
                case,
                "-o",
                str(tmp_path / "run2"),
                "--tt-file",
                str(tmp_path / "tt.npz"),
                "--no-plots",
            )
        )
        == 0
    )
    assert "loaded from" in capsys.readouterr().err
    code = cli.main(
        _args(
            case,
            "-o",
            str(tmp_path / "run3"),
            "--tt-file",
            str(tmp_path / "tt.npz"),
            "--spacing",
            "0.5",
            "--no-plots",
        )
    )
    assert code == 2
    assert "different grid" in capsys.readouterr().err


def test_locate_cli_errors(case, tmp_path, capsys):
    # grid too large for memory: says how large
    assert cli.main(_args(case, "-o", str(tmp_path / "a"), "--max-memory", "0.0001")) == 2
    assert "too large for memory" in capsys.readouterr().err
    # a station far outside the grid
    bad = tmp_path / "stations.csv"
    bad.write_text((case / "stations.csv").read_text() + "CX,FAR,-31.0,-70.5,0\n")
    args = _args(case, "-o", str(tmp_path / "b"))
    args[args.index("--stations") + 1] = str(bad)
    assert cli.main(args) == 2
    assert "station CX.FAR. lies" in capsys.readouterr().err
    # missing travel times: S cannot reach the stations through a liquid top layer
    model = tmp_path / "liquid.csv"
    model.write_text("depth,vp,vs\n-1,1.5,0\n0.5,5.5,3.2\n")
    args = _args(case, "-o", str(tmp_path / "c"))
    i = args.index("--homogeneous")
    args[i : i + 3] = ["--model", str(model)]
    assert cli.main(args) == 2
    assert "missing travel times: phase S" in capsys.readouterr().err
    # neither waveforms nor onsets
    assert (
        cli.main(
            [
                "locate",
                "--stations",
                str(case / "stations.csv"),
                "--homogeneous",
                "5",
                "3",
                "-o",
                str(tmp_path / "d"),
            ]
        )
        == 2
    )
    assert "no waveform INPUT" in capsys.readouterr().err


def test_locate_main_entry_point():
    with pytest.raises(SystemExit) as exc:
        cli.locate_main(["--help"])
    assert exc.value.code == 0
