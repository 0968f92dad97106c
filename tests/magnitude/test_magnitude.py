"""Local magnitude: Wood-Anderson simulation, amplitudes, laws, station and network ML."""

from __future__ import annotations

import numpy as np
import obspy
import pandas as pd
import pytest
from obspy.core.inventory import Channel, Inventory, Network, Response, Station
from obspy.signal.invsim import estimate_magnitude

from seiscore import geo, magnitude
from seiscore.containers import Stations
from seiscore.exceptions import InputError

T0 = obspy.UTCDateTime("2024-03-01T10:00:00")
FS = 100.0
# a broadband velocity sensor: 120 s corner, 1e9 counts per m/s
POLES = [complex(-0.037, 0.037), complex(-0.037, -0.037)]
ZEROS = [0j, 0j]
SENS = 1.0e9


def _response(units="M/S"):
    return Response.from_paz(ZEROS, POLES, SENS, stage_gain_frequency=1.0,
                             input_units=units, output_units="COUNTS")  # fmt: skip


def _inventory(codes, *, missing=(), flat=()):
    stations = []
    for code, lat, lon in codes:
        chans = []
        for comp in "ENZ":
            resp = None if code in missing else _response()
            if code in flat:
                resp = Response(instrument_sensitivity=_response().instrument_sensitivity)
            chans.append(Channel(f"HH{comp}", "", lat, lon, 0.0, 0.0, sample_rate=FS,
                                 response=resp))  # fmt: skip
        stations.append(Station(code, lat, lon, 0.0, channels=chans))
    return Inventory(networks=[Network("XX", stations=stations)], source="test")


def _counts(displacement: np.ndarray) -> np.ndarray:
    """What the sensor records (counts) for ground displacement (m)."""
    n = len(displacement)
    nfft = 1 << int(np.ceil(np.log2(2 * n)))
    f = np.fft.rfftfreq(nfft, 1 / FS)
    h = _response().get_evalresp_response_for_frequencies(f, output="DISP")
    return np.fft.irfft(np.fft.rfft(displacement, nfft) * h, nfft)[:n]


def _burst(amplitude_m, freq, start_s, n, length_s=12.0):
    t = np.arange(n) / FS
    env = np.where((t >= start_s) & (t < start_s + length_s),
                   np.sin(np.pi * (t - start_s) / length_s) ** 2, 0.0)  # fmt: skip
    return amplitude_m * env * np.sin(2 * np.pi * freq * (t - start_s))


def _scene(distance_km=100.0, depth_km=10.0, amp_m=(2e-6, 1e-6), freq=2.0, **inv_kw):
    """One event, one station at ``distance_km`` (three stations when amp_m has three),
    bursts on E and N after S."""
    lat0, lon0 = 45.0, 10.0
    codes, records = [], obspy.Stream()
    for k, amp in enumerate(amp_m if isinstance(amp_m[0], tuple) else [amp_m]):
        az = np.radians(40 + 90 * k)
        lat, lon = geo.unproject(distance_km * np.sin(az), distance_km * np.cos(az), lat0, lon0)
        code = f"S{k}"
        codes.append((code, float(lat), float(lon)))
        n = int(200 * FS)
        for comp, a in zip("EN", amp, strict=True):
            header = {"network": "XX", "station": code, "channel": f"HH{comp}",
                      "sampling_rate": FS, "starttime": T0}  # fmt: skip
            tr = obspy.Trace(_counts(_burst(a, freq, 50.0, n)), header=header)
            records.append(tr)
    inv = _inventory(codes, **inv_kw)
    from seiscore.io.stations import read_stations

    stations = read_stations(inv)
    events = pd.DataFrame(
        {"event_id": [7], "time": [np.datetime64(T0.datetime, "ns")], "latitude": [lat0],
         "longitude": [lon0], "depth_km": [depth_km]}
    )  # fmt: skip
    arrivals = pd.DataFrame(
        [(7, sid, ph, np.datetime64((T0 + t).datetime, "ns"))
         for sid in stations.ids for ph, t in (("P", 30.0), ("S", 45.0))],
        columns=["event_id", "station_id", "phase", "time"],
    )  # fmt: skip
    return records, inv, events, stations, arrivals


def _expected_ml(amp_m, freq, r_km, law):
    wa_mm = amp_m * abs(magnitude.wood_anderson_response(freq)) * 1000.0
    return np.log10(wa_mm) + law.minus_log_a0(r_km)


def test_wood_anderson_constants():
    assert magnitude.WOOD_ANDERSON_GAIN == 2080.0
    w = magnitude.wood_anderson_response(np.array([50.0, 1.25]))
    assert abs(w[0]) == pytest.approx(2080.0, rel=2e-3)  # flat above the 0.8 s natural period
    # at 1.25 Hz (the natural frequency) the response is ~ gain / (2 * damping)
    assert abs(w[1]) == pytest.approx(2080.0 / (2 * 0.8), rel=0.02)


def test_laws_anchor_ml3_at_100km():
    for law in (magnitude.HuttonBoore1987(), magnitude.BakunJoyner1984()):
        assert law.minus_log_a0(100.0) == pytest.approx(3.0)
    hb = magnitude.HuttonBoore1987()
    # the IASPEI form with A in nm: log A_nm + 1.11 log r + 0.00189 r - 2.09
    r, a_mm = 57.0, 0.3
    a_nm = a_mm / 2080.0 * 1e6
    iaspei = np.log10(a_nm) + 1.11 * np.log10(r) + 0.00189 * r - 2.09
    assert np.log10(a_mm) + hb.minus_log_a0(r) == pytest.approx(iaspei, abs=2e-3)
    assert np.isnan(magnitude.BakunJoyner1984().minus_log_a0(900.0))


def test_log_a0_table_and_coefficients(tmp_path):
    path = tmp_path / "loga0.txt"
    path.write_text("# distance -logA0\n0 1.0\n100, 3.0\n200 3.5\n")
    table = magnitude.LogA0Table.read(path)
    np.testing.assert_allclose(table.minus_log_a0([50.0, 150.0]), [2.0, 3.25])
    assert np.isnan(table.minus_log_a0(300.0))
    sc = tmp_path / "seiscomp.txt"
    sc.write_text('"0:-1.3,60:-2.8,400:-4.5"')
    np.testing.assert_allclose(magnitude.LogA0Table.read(sc).minus_log_a0(60.0), 2.8)
    c = magnitude.get_law((1.0, 0.0, 1.0))
    assert c.minus_log_a0(10.0) == pytest.approx(2.0)
    bad = tmp_path / "bad.txt"
    bad.write_text("0 1\n100 x\n")
    with pytest.raises(InputError, match=r"bad.txt, line 2"):
        magnitude.LogA0Table.read(bad)
    with pytest.raises(InputError, match="attenuation law 'richter'"):
        magnitude.get_law("richter")


def test_known_wood_anderson_amplitude_gives_the_formula_ml_on_both_horizontals():
    amp = (2e-6, 0.7e-6)
    records, inv, events, stations, arrivals = _scene(amp_m=amp)
    res = magnitude.local_magnitudes(records, inv, events, stations, arrivals)
    assert not res.notes, res.notes
    law = magnitude.HuttonBoore1987()
    r = float(res.amplitudes.distance_km.iloc[0])
    assert r == pytest.approx(np.hypot(100.0, 10.0), rel=1e-3)
    for row in res.amplitudes.itertuples():
        a = amp[0] if row.channel.endswith("E") else amp[1]
        ml = np.log10(row.amplitude_mm) + law.minus_log_a0(row.distance_km)
        assert ml == pytest.approx(_expected_ml(a, 2.0, r, law), abs=0.01), row.channel
        assert row.period_s == pytest.approx(0.5, abs=0.03)
        assert row.snr > 100
    expect = np.mean([_expected_ml(a, 2.0, r, law) for a in amp])
    assert res.network.magnitude.iloc[0] == pytest.approx(expect, abs=0.01)
    assert res.network.n_magnitude_stations.iloc[0] == 1
    assert res.network.magnitude_type.iloc[0] == "ML"


def test_agrees_with_obspy_estimate_magnitude_bakun_joyner():
    freq, amp_counts = 1.5, 4000.0  # zero to peak, counts
    paz = {"poles": POLES, "zeros": ZEROS, "gain": 1.0, "sensitivity": SENS}
    # the sensor's counts for a displacement sinusoid of amplitude u: u * |H_disp(f)|
    h = abs(_response().get_evalresp_response_for_frequencies(np.array([freq]), output="DISP")[0])
    u = amp_counts / h
    records, inv, events, stations, arrivals = _scene(amp_m=(u, u), freq=freq, distance_km=80.0)
    settings = magnitude.MagnitudeSettings(law="bakun_joyner_1984")
    res = magnitude.local_magnitudes(records, inv, events, stations, arrivals, settings)
    r = float(res.amplitudes.distance_km.iloc[0])
    expect = estimate_magnitude(paz, 2 * amp_counts, 1 / (2 * freq), r)
    assert res.network.magnitude.iloc[0] == pytest.approx(expect, abs=0.01)


def test_missing_response_is_a_note_and_the_others_give_the_ml():
    amps = ((2e-6, 2e-6), (1e-6, 1e-6), (1.5e-6, 1.5e-6))
    records, inv, events, stations, arrivals = _scene(amp_m=amps, missing=("S1",))
    res = magnitude.local_magnitudes(records, inv, events, stations, arrivals)
    assert sorted(res.stations.station_id) == ["XX.S0.", "XX.S2."]
    assert res.network.n_magnitude_stations.iloc[0] == 2
    assert any("XX.S1." in n and "response" in n for n in res.notes), res.notes
    # flat gain only: refused by default, used with response="full_or_flat"
    records, inv, events, stations, arrivals = _scene(amp_m=amps, flat=("S1",))
    res = magnitude.local_magnitudes(records, inv, events, stations, arrivals)
    assert "XX.S1." not in set(res.stations.station_id)
    assert any("only a sensitivity" in n for n in res.notes)
    settings = magnitude.MagnitudeSettings(
        amplitudes=magnitude.AmplitudeSettings(response="full_or_flat")
    )
    res = magnitude.local_magnitudes(records, inv, events, stations, arrivals, settings)
    assert "XX.S1." in set(res.stations.station_id)
    flat = res.stations.set_index("station_id").magnitude
    # the sensor is flat to velocity above its 120 s corner: the flat gain is nearly exact
    assert flat["XX.S1."] == pytest.approx(flat["XX.S2."] + np.log10(1 / 1.5), abs=0.02)


def test_low_snr_channels_are_left_out_with_a_note():
    records, inv, events, stations, arrivals = _scene(amp_m=(2e-6, 1e-6))
    rng = np.random.default_rng(0)
    for tr in records.select(channel="HHN"):
        tr.data = tr.data + rng.normal(0, 3 * np.abs(tr.data).max(), tr.stats.npts)
    res = magnitude.local_magnitudes(records, inv, events, stations, arrivals)
    assert res.stations.channels.iloc[0] == "HHE"
    assert any("HHN: SNR" in n for n in res.notes), res.notes


def test_station_corrections_and_network_statistics(tmp_path):
    amps = pd.DataFrame({
        "event_id": [1] * 5, "network": ["XX"] * 5, "station": list("ABCDE"),
        "location": [""] * 5, "channel": ["HHE"] * 5,
        "amplitude_mm": [1.0, 1.1, 0.9, 1.05, 30.0], "snr": [10.0] * 5,
        "distance_km": [100.0] * 5, "epicentral_km": [99.0] * 5,
    })  # fmt: skip
    path = tmp_path / "corr.txt"
    path.write_text("XX.A 0.1\nXX.B. -0.1  # comment\n")
    st, _ = magnitude.station_magnitudes(amps, corrections=path)
    assert st.set_index("station_id").correction["XX.A."] == pytest.approx(0.1)
    net, st = magnitude.network_magnitudes(st)
    assert net.n_magnitude_stations.iloc[0] == 4  # the 30 mm outlier is left out
    assert not st.set_index("station_id").used["XX.E."]
    assert net.magnitude.iloc[0] == pytest.approx(3.0, abs=0.05)
    tm, _ = magnitude.network_magnitudes(st, method="trimmed_mean", trim=0.25)
    assert tm.magnitude.iloc[0] == pytest.approx(3.0, abs=0.05)
    with pytest.raises(InputError, match="magnitude.method"):
        magnitude.network_magnitudes(st, method="mean")


def test_stations_without_arrivals_or_channels_are_noted():
    records, inv, events, stations, arrivals = _scene(amp_m=(2e-6, 1e-6))
    records = records.select(channel="HHE")
    res = magnitude.local_magnitudes(records, inv, events, stations, arrivals)
    assert any("no N channel" in n for n in res.notes)
    none = magnitude.local_magnitudes(records, inv, events, stations, arrivals.iloc[:0])
    assert none.network.empty
    assert none.notes == [
        "event 7: no P and S time (picked or predicted) at 1 station(s) (XX.S0.); not measured",
        "event 7: no station magnitude; no ML",
    ]


def test_settings_are_validated():
    with pytest.raises(InputError, match="magnitude.noise_s"):
        magnitude.AmplitudeSettings(noise_s=-1)
    with pytest.raises(InputError, match="magnitude.response"):
        magnitude.AmplitudeSettings(response="none")
    assert isinstance(Stations, type)
