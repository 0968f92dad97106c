"""Station tables: StationXML, CSV, REAL and QuakeMigrate formats; projection."""

from __future__ import annotations

import numpy as np
import pytest
from obspy import Inventory, UTCDateTime
from obspy.core.inventory import Channel, Network, Site, Station

from seiscore import InputError, geo
from seiscore.io.stations import project_stations, read_stations

from ..conftest import shared_file


def _inventory():
    def chans(lat, lon, elev, loc):
        return [
            Channel(
                code=c,
                location_code=loc,
                latitude=lat,
                longitude=lon,
                elevation=elev,
                depth=0.0,
                start_date=UTCDateTime(2020, 1, 1),
            )
            for c in ("HHZ", "HHN", "HHE")
        ]

    a = Station(
        "AAA",
        10.0,
        20.0,
        100.0,
        channels=chans(10.0, 20.0, 110.0, "") + chans(10.0, 20.0, 110.0, "00"),
        site=Site("a"),
    )
    # the same station again (a second epoch): must not duplicate rows
    a2 = Station("AAA", 10.0, 20.0, 100.0, channels=chans(10.0, 20.0, 110.0, ""), site=Site("a"))
    b = Station("BBB", 10.5, 20.5, 250.0, channels=[], site=Site("b"))
    return Inventory(networks=[Network("XX", stations=[a, a2, b])], source="test")


def test_inventory_deduplicates_channels(tmp_path):
    st = read_stations(_inventory())
    assert st.ids == ["XX.AAA.", "XX.AAA.00", "XX.BBB."]
    np.testing.assert_allclose(st.elevation_m, [110.0, 110.0, 250.0])
    assert np.isnan(st.x_km).all()
    path = tmp_path / "inv.xml"
    _inventory().write(str(path), format="STATIONXML")
    st2 = read_stations(path)
    assert st2.ids == st.ids
    np.testing.assert_allclose(st2.latitude, st.latitude)


def test_csv_and_whitespace_tables(tmp_path):
    csv = tmp_path / "st.csv"
    csv.write_text(
        "Network,Station,Latitude,Longitude,Elevation_m\nXX,B,1.5,2.5,30\nXX,A,1.0,2.0,10\nXX,A,1.0,2.0,10\n"
    )
    st = read_stations(csv)
    assert st.ids == ["XX.A.", "XX.B."]
    np.testing.assert_allclose(st.elevation_m, [10.0, 30.0])
    txt = tmp_path / "st.txt"
    txt.write_text("# comment\nnet sta loc lat lon elevation_km\nXX A 00 1.0 2.0 0.5\n")
    st = read_stations(txt)
    assert st.ids == ["XX.A.00"]
    assert st.elevation_m[0] == pytest.approx(500.0)


def test_real_station_dat():
    st = read_stations(shared_file("real_italy", "Data", "station.dat"))
    assert len(st) > 10
    row = st.ids.index("XO.AM05.")
    assert st.longitude[row] == pytest.approx(13.3528)
    assert st.latitude[row] == pytest.approx(42.9773)
    assert st.elevation_m[row] == pytest.approx(464.0)


def test_quakemigrate_station_file_is_in_km():
    st = read_stations(shared_file("quakemigrate_iceland", "inputs", "iceland_stations.txt"))
    assert len(st) == 13
    row = st.ids.index(".SKR01.")
    assert st.elevation_m[row] == pytest.approx(1295.1)


def test_errors_name_the_file(tmp_path):
    bad = tmp_path / "nocols.csv"
    bad.write_text("network,station,latitude\nXX,A,1.0\n")
    with pytest.raises(InputError, match=r"nocols\.csv.*missing columns.*longitude"):
        read_stations(bad)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(InputError, match="empty.csv.*no stations"):
        read_stations(empty)
    header_only = tmp_path / "header.csv"
    header_only.write_text("network,station,latitude,longitude,elevation\n")
    with pytest.raises(InputError, match="header.csv"):
        read_stations(header_only)
    with pytest.raises(InputError, match="not found"):
        read_stations(tmp_path / "missing.xml")
    with pytest.raises(InputError, match="inventory.*no stations"):
        read_stations(Inventory(networks=[], source="x"))
    xml = tmp_path / "broken.xml"
    xml.write_text("<FDSNStationXML><oops")
    with pytest.raises(InputError, match="broken.xml"):
        read_stations(xml)


def test_project_stations_centroid_and_reference():
    st = read_stations(_inventory())
    proj, ref = project_stations(st)
    assert ref[0] == pytest.approx(np.mean(st.latitude))
    assert ref[1] == pytest.approx(np.mean(st.longitude))
    x, y = geo.project(st.latitude, st.longitude, *ref)
    np.testing.assert_allclose(proj.x_km, x)
    np.testing.assert_allclose(proj.y_km, y)
    assert np.isnan(st.x_km).all()  # input untouched
    proj2, ref2 = project_stations(st, 10.0, 20.0)
    assert ref2 == (10.0, 20.0)
    assert proj2.x_km[0] == pytest.approx(0.0)
    assert proj2.y_km[0] == pytest.approx(0.0)


def test_project_across_antimeridian():
    st = read_stations(_inventory())
    st.longitude = np.array([179.9, 179.9, -179.9])
    _, ref = project_stations(st)
    assert abs(abs(ref[1]) - 180.0) < 0.1
