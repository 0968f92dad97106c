"""Bad association inputs, picks and station files, velocity models and pick thresholds
(issue 11): each failure is an InputError or ConfigError whose message names the file and
line, the station or the key; what is accepted gives the right result."""

from __future__ import annotations

import time
import tracemalloc

import numpy as np
import obspy
import pytest
from obspy.core.inventory import Channel, Inventory, Network, Station

from seiscore import ConfigError, InputError, geo, synthetic
from seiscore import traveltime as tt
from seiscore.association import associate
from seiscore.containers import Picks, Stations
from seiscore.io import catalog
from seiscore.io.stations import read_stations
from seiscore.picking import extract_picks, pick

MODEL = tt.VelocityModel.homogeneous(6.3, 3.7)
SETTINGS = dict(zlim=(0, 10), min_picks=4, min_p_and_s=1)


@pytest.fixture(scope="module")
def tiny():
    """Six stations within 20 km and the picks of three events."""
    stations = synthetic.network(6, xlim=(-20, 20), ylim=(-20, 20), seed=1)
    cat = synthetic.picks(
        stations,
        3,
        duration_s=300.0,
        xlim=(-20, 20),
        ylim=(-20, 20),
        zlim=(0, 10),
        min_picks=4,
        min_p_and_s=2,
        seed=2,
    )
    return stations, cat.picks


def _picks(station, phase, times, network="SY", location="") -> Picks:
    n = len(times)
    return Picks(
        network=np.full(n, network, object),
        station=np.full(n, station, object),
        location=np.full(n, location, object),
        phase=np.full(n, phase, object),
        time=np.asarray(times),
        probability=np.full(n, 0.5, np.float32),
        amplitude=np.full(n, np.nan, np.float32),
        snr=np.full(n, np.nan, np.float32),
    )


def _with_station(stations: Stations, code: str, lat: float, lon: float) -> Stations:
    """``stations`` plus ``XX.code.`` at (lat, lon), all projected by association."""
    n = len(stations) + 1
    return Stations(
        network=np.append(stations.network, "XX"),
        station=np.append(stations.station, code),
        location=np.append(stations.location, ""),
        latitude=np.append(stations.latitude, lat),
        longitude=np.append(stations.longitude, lon),
        elevation_m=np.append(stations.elevation_m, 0.0),
        x_km=np.full(n, np.nan),
        y_km=np.full(n, np.nan),
    )


# ---------------------------------------------------------------------------- item 1


def test_item1_station_coordinates_out_of_range(tmp_path, tiny):
    """A mistyped latitude (91) or longitude (400) names the file, line and station in every
    station format and in the Stations container."""
    csv = tmp_path / "st.csv"
    csv.write_text("network,station,latitude,longitude,elevation\nXX,A,1.0,2.0,0\nXX,B,91,2,0\n")
    with pytest.raises(
        InputError, match=r"st\.csv: line 3: station XX\.B\.: latitude 91 is outside"
    ):
        read_stations(csv)
    txt = tmp_path / "st.txt"
    txt.write_text("# my network\n\nnet sta lat lon elevation\nXX A 1.0 400 0\n")
    with pytest.raises(InputError, match=r"st\.txt: line 4: station XX\.A\.: longitude 400 is"):
        read_stations(txt)
    real = tmp_path / "station.dat"
    real.write_text("13.35 42.97 XO AM05 EHZ 0.46\n# gap\n400.0 42.57 IV ARRO EHZ 0.25\n")
    with pytest.raises(
        InputError, match=r"station\.dat: line 3: station IV\.ARRO\.: longitude 400"
    ):
        read_stations(real)
    good = Inventory([Network("XX", stations=[Station("AAA", 10.0, 20.0, 0.0)])], source="t")
    xml = tmp_path / "st.xml"
    good.write(str(xml), format="STATIONXML")
    text = xml.read_text()
    xml.write_text(text.replace('<Latitude unit="DEGREES">10.0<', '<Latitude unit="DEGREES">91<'))
    lineno = 1 + xml.read_text().splitlines().index('      <Latitude unit="DEGREES">91</Latitude>')
    with pytest.raises(InputError, match=rf"st\.xml: line {lineno}: station XX\.AAA: latitude 91"):
        read_stations(xml)
    stations, _ = tiny
    with pytest.raises(InputError, match=r"station XX\.BAD\.: latitude 91 is outside \[-90, 90\]"):
        _with_station(stations, "BAD", 91.0, 0.0)
    with pytest.raises(InputError, match=r"station XX\.BAD\.: longitude 400 is outside"):
        _with_station(stations, "BAD", 0.0, 400.0)


def test_item1_far_station_names_the_pair(tiny):
    """A real station ~9,500 km away: association names the farthest pair and their distance
    before building a table, and build_table refuses more than 5000 km."""
    stations, picks = tiny
    lat0 = float(stations.latitude[0])
    far = _with_station(stations, "FAR", lat0 - 85.0 * np.sign(lat0 or 1.0), stations.longitude[0])
    d = geo.distance_km(far.latitude[:-1], far.longitude[:-1], far.latitude[-1], far.longitude[-1])
    k = int(np.argmax(d))
    assert 9000 < d[k] < 9600
    start = time.perf_counter()
    with pytest.raises(InputError) as err:
        associate(picks, far, MODEL, **SETTINGS)
    assert time.perf_counter() - start < 5.0
    message = str(err.value)
    assert message.startswith(f"stations {far.ids[k]} and XX.FAR. are {d[k]:,.0f} km apart: ")
    assert "check the station coordinates" in message
    assert message.endswith("or set max_distance_km")
    with pytest.raises(InputError, match="layered travel-time tables are for local and regional"):
        tt.build_table(MODEL, max_distance_km=5001.0, max_depth_km=40.0)
    assert tt.build_table(MODEL, 5000.0, 10.0, 50.0, 5.0).distance_km[-1] == 5000.0


# ---------------------------------------------------------------------------- item 3


def test_item3_dense_picks_refused_fast(tiny):
    """10^6 P picks at one station within 1 s are refused in seconds, naming station, phase,
    time and count; 20 per second are accepted, 21 are not."""
    stations, picks = tiny
    sid = str(stations.station[0])
    t0 = np.datetime64("2024-01-01T00:00:30", "ns")
    offsets = np.sort(np.random.default_rng(0).integers(0, 10**9, 10**6))
    flood = Picks.concatenate([picks, _picks(sid, "P", t0 + offsets.astype("timedelta64[ns]"))])
    start = time.perf_counter()
    with pytest.raises(InputError) as err:
        associate(flood, stations, MODEL, **SETTINGS)
    assert time.perf_counter() - start < 10.0
    assert str(err.value).startswith(
        f"1000000 P picks at station SY.{sid}. within 1 s from 2024-01-01T00:00:30.000Z"
    )
    assert "thin the picks" in str(err.value)
    assert "most probable" in str(err.value)
    late = np.datetime64("2024-01-02T00:00:00", "ns")
    twenty = (np.arange(20) * 50_000_000).astype("timedelta64[ns]")  # 20 picks in 0.95 s
    ok = associate(Picks.concatenate([picks, _picks(sid, "S", late + twenty)]), stations, MODEL)
    assert ok.stats["n_picks"] == len(picks) + 20
    one_more = late + (np.arange(21) * 50_000_000).astype("timedelta64[ns]")  # 21 in 1.0 s
    with pytest.raises(InputError, match=rf"^21 S picks at station SY\.{sid}\. within 1 s"):
        associate(Picks.concatenate([picks, _picks(sid, "S", one_more)]), stations, MODEL)


# ---------------------------------------------------------------------------- item 4


@pytest.mark.parametrize(
    ("settings", "match"),
    [
        (dict(xlim=(-1e9, 1e9), ylim=(-1e9, 1e9)), r"^xlim/ylim/zlim: .* needs 2e\+16 cells"),
        (dict(zlim=(0, 1e9)), r"^xlim/ylim/zlim: .* needs [\d.e+]+ cells"),
        (dict(cell_km=0.001), r"^xlim/ylim/zlim: .* cells of 0\.001 x 0\.001"),
        (dict(block_s=1e9), r"^block_s/bin_s: .* need at least [\d.]+ GB of counters"),
        (dict(bin_s=1e-9), r"^block_s/bin_s: .* origin-time bins"),
        (dict(cell_km="5 km"), r"^cell_km: expected a positive number, got '5 km'"),
    ],
)
def test_item4_search_volume_checked_before_any_table(tiny, settings, match):
    """Limits of ±1e9 km (and other sizes beyond memory) are refused at once, naming the key and
    the size they would need, before a table or array is built."""
    stations, picks = tiny
    start = time.perf_counter()
    tracemalloc.start()
    try:
        with pytest.raises(ConfigError, match=match):
            associate(picks, stations, MODEL, **{**SETTINGS, **settings})
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - start < 2.0
    assert peak < 20e6  # bytes: nothing of the search's size was allocated


# ---------------------------------------------------------------------------- item 6


def test_item6_duplicated_picks_are_dropped_with_a_count(tiny):
    """A picks file given twice gives the events of the file given once, and says how many
    picks were left out."""
    stations, picks = tiny
    once = associate(picks, stations, MODEL, **SETTINGS)
    jitter = picks.select(np.arange(len(picks)))
    jitter.time = jitter.time + np.timedelta64(400, "us")  # within 1 ms: the same pick
    twice = associate(Picks.concatenate([picks, jitter]), stations, MODEL, **SETTINGS)
    assert len(once.events) == 3
    assert len(twice.events) == len(once.events)
    np.testing.assert_array_equal(twice.events.time, once.events.time)
    np.testing.assert_array_equal(twice.event_id[: len(picks)], once.event_id)
    assert (twice.event_id[len(picks) :] == -1).all()
    assert twice.stats["n_duplicate"] == len(picks)
    assert once.stats["n_duplicate"] == 0
    assert once.notes == []
    assert twice.notes == [
        f"{len(picks)} duplicate picks (the same station, location and phase within 1 ms of "
        "another pick) were left out of the association"
    ]
    assert f"{len(picks)} duplicate picks left out" in twice.summary()


def test_item6_times_outside_1678_2261_refused(tmp_path, tiny):
    """Year 9999 is refused when reading (file and line named), not written back as 1816."""
    path = tmp_path / "picks.csv"
    path.write_text(
        "network,station,location,phase,time,probability\n"
        "SY,S000,,P,2024-01-01T00:00:05.123000Z,0.9\n"
        "SY,S000,,S,9999-01-01T00:00:05.000000Z,0.8\n"
    )
    with pytest.raises(
        InputError, match=r"picks\.csv: line 3: time '9999-01-01T00:00:05\.000000Z' is outside"
    ):
        catalog.read_picks_csv(path)
    stations, picks = tiny
    late = _picks("S000", "P", np.array(["2024-01-01", "9999-01-01"], "datetime64[us]"))
    with pytest.raises(InputError, match=r"pick 1 \(SY\.S000\. P\): time 9999-01-01"):
        associate(late, stations, MODEL)
    edge = tmp_path / "edge.csv"
    edge.write_text("network,station,phase,time\nSY,A,P,2261-12-31T23:59:59Z\nSY,A,P,1678-01-01\n")
    back = catalog.read_picks_csv(catalog.write_picks_csv(catalog.read_picks_csv(edge), edge))
    assert back.time.astype("datetime64[s]").astype(str).tolist() == [
        "2261-12-31T23:59:59",
        "1678-01-01T00:00:00",
    ]


def test_item6_thresholds_outside_0_1_refused():
    """A negative or > 1 threshold is refused, naming the parameter (and the phase)."""
    prob = np.random.default_rng(1).random((1, 2, 500)).astype(np.float32)
    with pytest.raises(
        InputError, match=r"^height: expected a probability threshold in \[0, 1\], got -0\.5$"
    ):
        extract_picks(prob, height=-0.5)
    with pytest.raises(InputError, match=r"^height\[1\]: .* got 1\.5$"):
        extract_picks(prob, height=[0.3, 1.5])
    with pytest.raises(InputError, match=r"^on: .* got 2$"):
        extract_picks(prob, method="trigger", on=2.0, off=0.5)
    with pytest.raises(InputError, match=r"^off: .* got -0\.1$"):
        extract_picks(prob, method="trigger", on=0.5, off=-0.1)
    with pytest.raises(InputError, match=r"^height for phase P: .* got -0\.5$"):
        pick([], "phasenet", height={"P": -0.5})
    assert len(extract_picks(prob, height=0.0)) > 0
    assert len(extract_picks(prob, height=1.0)) == 0


def test_item6_velocities_out_of_range_refused(tmp_path):
    """vs >= vp and vp = 600,000 km/s are refused, naming file, line and column; a liquid
    layer (vs = 0) is still accepted."""
    csv = tmp_path / "crust.csv"
    csv.write_text("# crust\ndepth,vp,vs\n0,5.0,2.9\n10,3.4,3.5\n")
    with pytest.raises(
        InputError,
        match=r"crust\.csv: line 4, column 3 \('vs'\): vs 3\.5 km/s is not below vp 3\.4 km/s "
        r"\(line 4, column 2 \('vp'\)\); S waves are slower",
    ):
        tt.VelocityModel.from_file(csv)
    nd = tmp_path / "fast.nd"
    nd.write_text("0 5.8 3.4\n20 600000 3.9\nmantle\n20 8.0 4.5\n")
    with pytest.raises(
        InputError, match=r"fast\.nd: line 2, column 2 \(vp\): vp must be positive and at most 20"
    ):
        tt.VelocityModel.from_file(nd)
    velest = tmp_path / "m.mod"
    velest.write_text("model\n2\n5.0 0.0 1\n6.0 10.0 1\n2\n2.9 0.0 1\n6.5 10.0 1\n")
    with pytest.raises(InputError, match=r"m\.mod: line 7 \(S block, column 1\): vs 6\.5 km/s"):
        tt.VelocityModel.from_file(velest)
    with pytest.raises(InputError, match=r"vp must be positive and at most 20 km/s, got 600000"):
        tt.VelocityModel.homogeneous(600000.0, 3.5)
    with pytest.raises(InputError, match=r"vs 7 km/s is not below vp 6 km/s"):
        tt.VelocityModel.homogeneous(6.0, 7.0)
    ocean = tt.VelocityModel([0.0, 2.0], [1.5, 6.0], [0.0, 3.5], name="ocean")
    assert ocean.vs[0] == 0.0


def test_item6_station_listed_twice(tmp_path):
    """One station at two positions names both entries; identical repeats are merged with a
    note; channels of an inventory that moved 5 km are refused, naming both."""
    csv = tmp_path / "st.csv"
    csv.write_text(
        "network,station,latitude,longitude,elevation\n"
        "XX,A,1.0,2.0,10\nXX,B,1.5,2.5,30\nXX,A,1.0,2.2,10\n"
    )
    with pytest.raises(
        InputError,
        match=r"st\.csv: station XX\.A\. is given twice with different coordinates: "
        r"line 2 \(1, 2, 10 m\) and line 4 \(1, 2\.2, 10 m\)",
    ):
        read_stations(csv)
    csv.write_text(
        "network,station,latitude,longitude,elevation\n"
        "XX,A,1.0,2.0,10\nXX,B,1.5,2.5,30\nXX,A,1.00,2.0,10\n"
    )
    messages: list[str] = []
    st = read_stations(csv, messages)
    assert st.ids == ["XX.A.", "XX.B."]
    assert messages == [
        f"{csv}: station XX.A. is listed 2 times with the same coordinates (line 2, line 4); merged"
    ]

    def epoch(lat, year):
        ch = Channel("HHZ", "", lat, 20.0, 0.0, 0.0, start_date=obspy.UTCDateTime(year, 1, 1))
        return Station("AAA", lat, 20.0, 0.0, channels=[ch])

    moved = Inventory([Network("XX", stations=[epoch(10.0, 2020), epoch(10.05, 2022)])], source="t")
    with pytest.raises(
        InputError,
        match=r"station XX\.AAA\. is given twice with different coordinates: channel "
        r"XX\.AAA\.\.HHZ from 2020-01-01 .* and channel XX\.AAA\.\.HHZ from 2022-01-01",
    ):
        read_stations(moved)
    resurveyed = Inventory(
        [Network("XX", stations=[epoch(10.0, 2020), epoch(10.0002, 2022)])], source="t"
    )
    assert read_stations(resurveyed).latitude.tolist() == [10.0]


# ---------------------------------------------------------------------------- item 9


def test_item9_mixed_iso_precision_is_read(tmp_path):
    """Times with and without fractional seconds in one file are all read exactly; a bad time
    names its own line."""
    path = tmp_path / "picks.csv"
    path.write_text(
        "network,station,location,phase,time\n"
        "SY,A,,P,2024-01-01T00:00:05.123000\n"
        "SY,A,,S,2024-01-01T00:00:05\n"
        "SY,B,00,P,2024-01-01T00:00:06.5Z\n"
        "SY,B,00,S,2024-01-01T02:00:07+02:00\n"
    )
    picks = catalog.read_picks_csv(path)
    assert picks.time.astype(str).tolist() == [
        "2024-01-01T00:00:05.123000000",
        "2024-01-01T00:00:05.000000000",
        "2024-01-01T00:00:06.500000000",
        "2024-01-01T00:00:07.000000000",
    ]
    path.write_text(
        "network,station,location,phase,time\n"
        "SY,A,,P,2024-01-01T00:00:05.123000\n"
        "SY,A,,S,2024-01-01T00:00:05\n"
        "SY,B,,P,2024-01-32T00:00:05\n"
    )
    with pytest.raises(
        InputError, match=r"picks\.csv: line 4: time '2024-01-32T00:00:05' is not an ISO 8601"
    ):
        catalog.read_picks_csv(path)


# --------------------------------------------------------------------------- item 10


def test_item10_non_ascii_station_code_is_accepted(tmp_path):
    """A non-ASCII station code goes through station files, picks files and association
    without any warning (pytest turns warnings into errors)."""
    stations = synthetic.network(5, xlim=(-20, 20), ylim=(-20, 20), seed=1)
    stations.station = np.array(["ÅSA", "BØ", "S002", "S003", "S004"], dtype=object)
    csv = tmp_path / "st.csv"
    csv.write_text(
        "network,station,latitude,longitude,elevation\n"
        + "".join(
            f"SY,{s},{la},{lo},0\n"
            for s, la, lo in zip(
                stations.station, stations.latitude, stations.longitude, strict=True
            )
        ),
        encoding="utf-8",
    )
    read = read_stations(csv)
    assert read.ids == ["SY.BØ.", "SY.S002.", "SY.S003.", "SY.S004.", "SY.ÅSA."]
    inv = Inventory([Network("SY", stations=[Station("ÅSA", 10.0, 20.0, 0.0)])], source="t")
    inv.write(str(tmp_path / "st.xml"), format="STATIONXML")
    assert read_stations(tmp_path / "st.xml").ids == ["SY.ÅSA."]
    cat = synthetic.picks(
        stations, 2, duration_s=120.0, xlim=(-20, 20), ylim=(-20, 20), zlim=(0, 10), seed=2
    )
    path = catalog.write_picks_csv(cat.picks, tmp_path / "picks.csv")
    back = catalog.read_picks_csv(path)
    assert "ÅSA" in set(back.station)
    np.testing.assert_array_equal(back.station, cat.picks.station)
    res = associate(back, stations, MODEL, **SETTINGS)
    assert res.stats["n_unknown_station"] == 0
    assert len(res.events) == 2
