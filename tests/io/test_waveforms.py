"""seiscore.io.waveforms: files, SDS archives, Stream → Waveforms (gaps, resampling, grid)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
from obspy import Stream, Trace, UTCDateTime, read

from seiscore import InputError
from seiscore.containers import Waveforms
from seiscore.io import (
    find_waveform_files,
    iter_days,
    read_sds,
    read_waveform_files,
    to_waveforms,
    waveforms_to_stream,
)

from ..conftest import shared_file

T0 = UTCDateTime("2021-03-04T05:06:07.000000Z")


def _tr(data, channel="HHZ", start=T0, rate=100.0, net="XX", sta="STA", loc="00") -> Trace:
    tr = Trace(data=np.asarray(data) if not np.ma.isMaskedArray(data) else data)
    tr.stats.network, tr.stats.station, tr.stats.location = net, sta, loc
    tr.stats.channel = channel
    tr.stats.sampling_rate = rate
    tr.stats.starttime = start
    return tr


def _enz(n=300, rate=100.0, start=T0, band="HH", **kw) -> list[Trace]:
    """Three traces with constant, distinct values per component (E=1, N=2, Z=3) + a ramp."""
    ramp = np.arange(n, dtype=np.int32)
    return [
        _tr(ramp + 1000 * v, band + c, start, rate, **kw) for c, v in (("E", 1), ("N", 2), ("Z", 3))
    ]


# --------------------------------------------------------------------------------------------
# finding and reading files
# --------------------------------------------------------------------------------------------


def test_find_waveform_files_walks_folders_by_suffix(tmp_path):
    top = tmp_path / "data"
    (top / "sub" / "deeper").mkdir(parents=True)
    for rel in ("a.mseed", "sub/b.SAC", "sub/deeper/c.MiniSEED", "sub/d.Ms"):
        (top / rel).write_bytes(b"x")
    (top / "notes.txt").write_text("not a waveform")
    (top / "sub" / "e.mseed.bak").write_bytes(b"x")
    odd = tmp_path / "explicit.dat"  # named explicitly: taken whatever its suffix
    odd.write_bytes(b"x")

    found = find_waveform_files([top, odd, top / "a.mseed", str(top)])

    expected = sorted(
        p.resolve()
        for p in (
            top / "a.mseed",
            top / "sub/b.SAC",
            top / "sub/deeper/c.MiniSEED",
            top / "sub/d.Ms",
            odd,
        )
    )
    assert found == expected
    assert find_waveform_files(top, suffixes=(".sac",)) == [(top / "sub/b.SAC").resolve()]


def test_find_waveform_files_errors_name_the_path(tmp_path):
    missing = tmp_path / "nowhere" / "x.mseed"
    with pytest.raises(InputError, match="nowhere"):
        find_waveform_files([missing])
    empty = tmp_path / "only_text"
    empty.mkdir()
    (empty / "readme.txt").write_text("hi")
    with pytest.raises(InputError, match=r"only_text.*\.mseed"):
        find_waveform_files(empty)


def test_read_miniseed_and_sac_stamps_the_source(tmp_path):
    z = _tr(np.arange(500, dtype=np.int32), "HHZ")
    e = _tr(np.linspace(-1, 1, 500).astype(np.float32), "HHE")
    z.write(str(tmp_path / "z.mseed"), format="MSEED")
    e.write(str(tmp_path / "e.sac"), format="SAC")

    st, messages = read_waveform_files(find_waveform_files(tmp_path))

    assert messages == []
    by_chan = {tr.stats.channel: tr for tr in st}
    assert set(by_chan) == {"HHZ", "HHE"}
    np.testing.assert_array_equal(by_chan["HHZ"].data, z.data)
    np.testing.assert_array_equal(by_chan["HHE"].data, e.data)
    assert by_chan["HHZ"].stats._source == str((tmp_path / "z.mseed").resolve())
    assert by_chan["HHE"].stats._source == str((tmp_path / "e.sac").resolve())

    ws, _ = to_waveforms(st)
    assert ws[0].sources == tuple(str((tmp_path / f).resolve()) for f in ("e.sac", "z.mseed"))


def test_read_cuts_on_read(tmp_path):
    _tr(np.arange(1000, dtype=np.int32)).write(str(tmp_path / "z.mseed"), format="MSEED")
    st, _ = read_waveform_files([tmp_path / "z.mseed"], starttime=T0 + 2, endtime=T0 + 3)
    assert st[0].stats.starttime == T0 + 2
    assert st[0].stats.npts == 101
    assert st[0].data[0] == 200


def test_corrupt_files_give_messages_and_the_rest_is_read(tmp_path, rng):
    good = tmp_path / "good.mseed"
    _tr(np.arange(2000, dtype=np.int32)).write(str(good), format="MSEED", reclen=512)
    noise = tmp_path / "noise.mseed"
    noise.write_bytes(rng.bytes(4096))
    empty = tmp_path / "empty.sac"
    empty.write_bytes(b"")
    truncated = tmp_path / "trunc.mseed"
    truncated.write_bytes(good.read_bytes()[:700])  # one whole record and a piece of the next
    odd = tmp_path / "we[i]rd.mseed"  # glob characters in the name must not matter
    odd.write_bytes(good.read_bytes())

    files = find_waveform_files(tmp_path)
    st, messages = read_waveform_files(files)

    assert sorted(tr.stats._source for tr in st) == sorted(
        str(p.resolve()) for p in (good, truncated, odd)
    )
    assert all("\n" not in m for m in messages)
    for bad in (noise, empty):
        assert [m for m in messages if m.startswith(f"{bad.resolve()}: ")], messages
    assert any(m.startswith(f"{truncated.resolve()}: warning:") for m in messages), messages
    assert not [m for m in messages if m.startswith(str(good.resolve()))]

    with pytest.raises(InputError, match="noise.mseed"):
        read_waveform_files([good, noise], errors="raise")
    with pytest.raises(InputError, match="errors"):
        read_waveform_files([good], errors="ignore")


# --------------------------------------------------------------------------------------------
# Stream → Waveforms
# --------------------------------------------------------------------------------------------


def test_components_ordered_whatever_the_trace_order(rng):
    traces = _enz()
    order = rng.permutation(3)
    st = Stream([traces[i] for i in order])

    ws, messages = to_waveforms(st)

    assert messages == []
    (w,) = ws
    assert isinstance(w, Waveforms)
    assert (w.network, w.station, w.location, w.band) == ("XX", "STA", "00", "HH")
    assert w.components == ("E", "N", "Z")
    assert w.present.tolist() == [True, True, True]
    assert w.starttime == T0
    assert w.sampling_rate == 100.0
    assert w.data.dtype == np.float32
    assert w.data.flags.c_contiguous
    np.testing.assert_array_equal(w.data[:, 0], [1000, 2000, 3000])
    np.testing.assert_array_equal(w.data[2], np.arange(300) + 3000)

    ws, _ = to_waveforms(st, components=("Z", "N", "E"))
    np.testing.assert_array_equal(ws[0].data[:, 0], [3000, 2000, 1000])


def test_gaps_become_nan_at_exact_samples():
    e, n, z = _enz(300)
    z1 = _tr(z.data[:100].copy(), "HHZ", T0)
    z2 = _tr(z.data[150:].copy(), "HHZ", T0 + 1.5)

    (w,), messages = to_waveforms(Stream([e, n, z2, z1]))

    assert messages == []
    assert w.n_samples == 300
    gap = np.zeros(300, bool)
    gap[100:150] = True
    for row in w.data:  # NaN marks samples where any present component lacks data
        np.testing.assert_array_equal(np.isnan(row), gap)
    np.testing.assert_array_equal(w.data[2, ~gap], z.data[~gap])
    np.testing.assert_array_equal(w.data[0, ~gap], e.data[~gap])


def test_masked_samples_become_nan():
    e, n, z = _enz(50)
    mask = np.zeros(50, bool)
    mask[[3, 4, 40]] = True
    z.data = np.ma.masked_array(z.data, mask=mask)
    (w,), _ = to_waveforms(Stream([e, n, z]))
    np.testing.assert_array_equal(np.flatnonzero(np.isnan(w.data[1])), [3, 4, 40])


def test_overlaps_identical_and_conflicting():
    e, n, z = _enz(300)
    a = _tr(z.data[:200].copy(), "HHZ", T0)
    b = _tr(z.data[100:].copy(), "HHZ", T0 + 1.0)  # same samples 100..199
    (w,), messages = to_waveforms(Stream([e, n, b, a]))
    assert messages == []
    np.testing.assert_array_equal(w.data[2], z.data)

    c = _tr(z.data[100:].copy() + 7, "HHZ", T0 + 1.0)  # 100..199 differ from a
    (w,), messages = to_waveforms(Stream([e, n, a, c]))
    assert len(messages) == 1
    assert "XX.STA.00.HHZ" in messages[0]
    assert "disagree on 100 samples" in messages[0]
    np.testing.assert_array_equal(w.data[2, :200], z.data[:200])  # the first kept
    np.testing.assert_array_equal(w.data[2, 200:], z.data[200:] + 7)


def test_numbered_horizontals_are_taken_as_e_and_n():
    e, n, z = _enz()
    e.stats.channel, n.stats.channel = "HH1", "HH2"
    (w,), messages = to_waveforms(Stream([z, n, e]))
    assert messages == [
        "XX.STA.00: HH1/HH2 taken as E/N without rotation (no orientation metadata)"
    ]
    assert w.present.all()
    np.testing.assert_array_equal(w.data[:, 0], [1000, 2000, 3000])


def test_numbered_horizontals_rotated_with_orientations():
    e, n, z = _enz()
    e.stats.channel, n.stats.channel = "HH1", "HH2"
    # HH1 points to azimuth 30 (so it is "E" rotated by -60), HH2 to 120
    orient = {"XX.STA.00.HH1": 30.0, "XX.STA.00.HH2": 120.0, "XX.STA.00.HHZ": 0.0}
    (w,), messages = to_waveforms(Stream([z, n, e]), orientations=orient)
    x1, x2 = 1000.0, 2000.0  # first samples of the channels taken for E and N
    a1, a2 = np.radians(30.0), np.radians(120.0)
    np.testing.assert_allclose(w.data[0, 0], x1 * np.sin(a1) + x2 * np.sin(a2), rtol=1e-6)
    np.testing.assert_allclose(w.data[1, 0], x1 * np.cos(a1) + x2 * np.cos(a2), rtol=1e-6)
    assert messages == ["XX.STA.00: HH1 (30°) and HH2 (120°) rotated to east and north"]
    orient["XX.STA.00.HH2"] = 100.0
    _, messages = to_waveforms(Stream([z, n, e]), orientations=orient)
    assert messages == ["XX.STA.00: HH1 (30°) and HH2 (100°) are not orthogonal; not rotated"]


def test_u_is_up_unless_galperin_and_pressure_channels_are_named():
    e, n, z = _enz()
    z.stats.channel = "HNU"
    e.stats.channel, n.stats.channel = "HNE", "HNN"
    (w,), messages = to_waveforms(Stream([z, n, e]))
    assert messages == ["XX.STA.00: HNU taken as the vertical (U = up)"]
    np.testing.assert_array_equal(w.data[2], z.data)
    e.stats.channel, n.stats.channel = "HNV", "HNW"
    out, messages = to_waveforms(Stream([z, n, e]))
    assert out == []
    assert "U/V/W (Galperin) components (HNU, HNV, HNW) are not supported" in messages[0]
    z.stats.channel = "HDH"
    out, messages = to_waveforms(Stream([z]))
    assert messages == [
        "XX.STA.00: HDH are pressure channels (hydrophone or barometer), not "
        "seismometer components; skipped"
    ]


def test_missing_horizontals_are_zeros_with_messages():
    _, _, z = _enz(100)
    z.data = np.ma.masked_array(z.data, mask=np.arange(100) == 10)

    (w,), messages = to_waveforms(Stream([z]))

    assert w.present.tolist() == [False, False, True]
    assert messages == [
        "XX.STA.00: no E component; filled with zeros",
        "XX.STA.00: no N component; filled with zeros",
    ]
    keep = np.arange(100) != 10
    np.testing.assert_array_equal(w.data[:2, keep], 0.0)
    assert np.isnan(w.data[:, 10]).all()
    np.testing.assert_array_equal(w.data[2, keep], z.data.data[keep])


def test_station_without_z_is_skipped():
    e, n, _ = _enz(sta="NOZ")
    others = _enz(sta="OK")
    ws, messages = to_waveforms(Stream([e, n, *others]))
    assert [w.station for w in ws] == ["OK"]
    assert len(messages) == 1
    assert "XX.NOZ.00" in messages[0]
    assert "HHE" in messages[0]
    assert "HHN" in messages[0]
    assert "no Z component" in messages[0]


def test_groups_by_band_and_sorted_by_id():
    st = Stream(_enz(sta="B") + _enz(sta="A") + _enz(sta="A", band="EH"))
    ws, messages = to_waveforms(st)
    assert messages == []
    assert [(w.station, w.band) for w in ws] == [("A", "EH"), ("A", "HH"), ("B", "HH")]


def _sine_traces(rate, seconds, freq, start=T0, offset=5000.0, amp=300.0):
    t = np.arange(int(round(seconds * rate))) / rate
    return [
        _tr(offset + amp * np.sin(2 * np.pi * freq * t + ph), "HH" + c, start, rate)
        for c, ph in (("E", 0.3), ("N", 1.1), ("Z", 2.0))
    ]


def _sine_expected(w, freq, offset=5000.0, amp=300.0):
    t = w.times()
    return np.array([offset + amp * np.sin(2 * np.pi * freq * t + ph) for ph in (0.3, 1.1, 2.0)])


def test_resample_200_to_100_integer_decimation():
    st = Stream(_sine_traces(200.0, 20.0, 1.0))
    (w,), messages = to_waveforms(st, sampling_rate=100)
    assert messages == []
    assert w.sampling_rate == 100.0
    assert w.starttime == T0
    assert w.n_samples == 2000  # 4000 samples at 200 Hz: last at 19.995 s → 19.99 s at 100 Hz
    err = np.abs(w.data - _sine_expected(w, 1.0))
    assert err[:, 100:-100].max() < 1e-3 * 300
    assert err.max() < 0.01 * 300  # edges too
    # the interior is scipy.signal.decimate's zero-phase FIR decimation
    ref = scipy.signal.decimate(st[2].data - 5000.0, 2, ftype="fir", zero_phase=True) + 5000.0
    np.testing.assert_allclose(w.data[2, 100:-100], ref[100:-100], atol=1e-2)


def test_resample_40_to_100_upsampling():
    st = Stream(_sine_traces(40.0, 30.0, 0.5))
    (w,), messages = to_waveforms(st, sampling_rate=100.0)
    assert messages == []
    assert w.n_samples == 2998  # 1200 samples at 40 Hz end at 29.975 s → 29.97 s at 100 Hz
    assert abs(w.endtime - st[0].stats.endtime) < 0.01
    err = np.abs(w.data - _sine_expected(w, 0.5))
    assert err[:, 100:-100].max() < 1e-4 * 300  # the 5000-count offset must not ripple
    # grid points that coincide with input samples (every 5th at 100 Hz = every 2nd at 40 Hz)
    np.testing.assert_allclose(w.data[0, 500:2500:5], st[0].data[200:1000:2], atol=0.3)


def test_resample_irrational_ratio_lanczos():
    st = Stream(_sine_traces(100.0, 60.0, 0.5))
    (w,), messages = to_waveforms(st, sampling_rate=99.5)
    assert messages == []
    assert w.n_samples == int(np.floor(5999 * 0.995)) + 1
    err = np.abs(w.data - _sine_expected(w, 0.5))
    assert err[:, 100:-100].max() < 1e-3 * 300


def test_resampling_keeps_gaps():
    traces = _sine_traces(200.0, 10.0, 1.0)
    z = traces[2]
    data = z.data.copy()
    data[400:601] = np.nan  # 2.0 s .. 3.0 s: the data after the gap start off the 100 Hz grid
    z.data = np.ma.masked_invalid(data)
    (w,), _ = to_waveforms(Stream(traces), sampling_rate=100.0)
    nan = np.flatnonzero(np.isnan(w.data[0]))
    np.testing.assert_array_equal(nan, np.arange(200, 301))
    err = np.abs(w.data - _sine_expected(w, 1.0))
    assert np.nanmax(err[:, 100:-100]) < 0.01 * 300


def test_mixed_rates_resampled_to_highest_with_message():
    traces = _sine_traces(100.0, 20.0, 0.5)
    traces[0] = _sine_traces(50.0, 20.0, 0.5)[0]  # E at 50 Hz
    (w,), messages = to_waveforms(Stream(traces))
    assert w.sampling_rate == 100.0
    assert len(messages) == 1
    assert "resampled to 100 Hz" in messages[0]
    assert "50 Hz" in messages[0]
    err = np.abs(w.data - _sine_expected(w, 0.5))
    assert np.nanmax(err[:, 100:-100]) < 1e-3 * 300


def test_sub_sample_offset_is_shifted_onto_the_grid():
    rate = 100.0
    n = 200

    # linear in time, so linear interpolation is exact: value = 10 + 2 * (t - T0) * rate
    def ramp_trace(chan, offset_samples):
        start = T0 + offset_samples / rate
        k = np.arange(n) + offset_samples
        return _tr(10.0 + 2.0 * k, chan, start, rate)

    st = Stream([ramp_trace("HHE", 0.3), ramp_trace("HHN", 0.0), ramp_trace("HHZ", 0.004)])
    (w,), messages = to_waveforms(st)

    assert w.starttime == T0
    assert w.n_samples == n  # E's last sample (199.3) is past grid 199, not at 200
    assert len(messages) == 1
    assert "E component" in messages[0]
    assert "0.30 samples" in messages[0]
    assert np.isnan(w.data[:, 0]).all()  # E has no value at grid 0 → NaN everywhere
    expected = 10.0 + 2.0 * np.arange(1, n)
    np.testing.assert_allclose(w.data[0, 1:], expected, rtol=1e-6)
    np.testing.assert_array_equal(w.data[1, 1:], expected)
    np.testing.assert_allclose(w.data[2, 1:], expected + 0.008, rtol=1e-6)  # snapped, unshifted


def test_components_covering_different_spans():
    e, n, z = _enz(300)
    late = _tr(z.data[50:].copy(), "HHZ", T0 + 0.5)
    short = _tr(e.data[:250].copy(), "HHE", T0)
    (w,), messages = to_waveforms(Stream([short, n, late]))
    assert messages == []
    assert w.starttime == T0
    assert w.n_samples == 300
    valid = np.zeros(300, bool)
    valid[50:250] = True
    assert (np.isfinite(w.data) == valid).all()


def test_bad_arguments_name_the_parameter():
    st = Stream(_enz())
    with pytest.raises(InputError, match="sampling_rate"):
        to_waveforms(st, sampling_rate=-1)
    with pytest.raises(InputError, match="require"):
        to_waveforms(st, components=("E", "N"), require=("Z",))
    with pytest.raises(InputError, match="components"):
        to_waveforms(st, components=("E", "E", "Z"))


def test_waveforms_to_stream_round_trip():
    e, n, z = _enz(300)
    z1 = _tr(z.data[:100].copy(), "HHZ", T0)
    z2 = _tr(z.data[150:].copy(), "HHZ", T0 + 1.5)
    (w,), _ = to_waveforms(Stream([z1, z2, n]))  # E missing: zeros, not written back

    st = waveforms_to_stream(w)
    assert sorted(tr.id for tr in st) == ["XX.STA.00.HHN"] * 2 + ["XX.STA.00.HHZ"] * 2
    zs = sorted(st.select(channel="HHZ"), key=lambda tr: tr.stats.starttime)
    assert [tr.stats.starttime for tr in zs] == [T0, T0 + 1.5]
    np.testing.assert_array_equal(zs[1].data, z.data[150:])

    st2 = waveforms_to_stream(w, channel_prefix="BH")
    assert {tr.stats.channel for tr in st2} == {"BHN", "BHZ"}
    (w2,), _ = to_waveforms(st, components=("N", "Z"))
    np.testing.assert_array_equal(w2.data, w.data[1:])


# --------------------------------------------------------------------------------------------
# SDS archives and days
# --------------------------------------------------------------------------------------------


def test_iter_days_splits_at_midnight():
    days = iter_days("2020-12-31T12:00:00", "2021-01-02T06:30:00")
    assert days == [
        (UTCDateTime("2020-12-31T12:00:00"), UTCDateTime("2021-01-01T00:00:00")),
        (UTCDateTime("2021-01-01T00:00:00"), UTCDateTime("2021-01-02T00:00:00")),
        (UTCDateTime("2021-01-02T00:00:00"), UTCDateTime("2021-01-02T06:30:00")),
    ]
    assert iter_days(UTCDateTime("2021-01-01"), UTCDateTime("2021-01-02")) == [
        (UTCDateTime("2021-01-01"), UTCDateTime("2021-01-02"))
    ]
    assert iter_days(np.datetime64("2021-01-01T23:00"), "2021-01-02T01:00")[1][0] == UTCDateTime(
        "2021-01-02"
    )
    with pytest.raises(InputError, match="endtime"):
        iter_days("2021-01-02", "2021-01-01")


def _write_sds(root, tr):
    """Write ``tr`` as SDS day files (split at midnight)."""
    for d0, d1 in iter_days(tr.stats.starttime, tr.stats.endtime + tr.stats.delta):
        part = tr.slice(d0, d1 - tr.stats.delta / 2)
        s = part.stats
        folder = root / str(d0.year) / s.network / s.station / f"{s.channel}.D"
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{s.network}.{s.station}.{s.location}.{s.channel}.D.{d0.year}.{d0.julday:03d}"
        part.write(str(folder / name), format="MSEED")


def test_read_sds_across_midnight(tmp_path):
    start = UTCDateTime("2020-02-29T23:59:00")
    n = 20 * 60 * 2  # two minutes at 20 Hz
    for c, v in (("E", 0), ("N", 10_000), ("Z", 20_000)):
        _write_sds(tmp_path, _tr(np.arange(n, dtype=np.int32) + v, "BH" + c, start, 20.0, net="SD"))
    assert (tmp_path / "2020/SD/STA/BHZ.D/SD.STA.00.BHZ.D.2020.060").is_file()
    assert (tmp_path / "2020/SD/STA/BHZ.D/SD.STA.00.BHZ.D.2020.061").is_file()

    st = read_sds(tmp_path, start + 30, start + 90, station="STA", channel="BH?")
    assert len(st) == 3
    (w,), messages = to_waveforms(st)
    assert messages == []
    assert w.starttime == start + 30
    assert w.sampling_rate == 20.0
    assert w.n_samples == 60 * 20 + 1  # both ends inclusive
    np.testing.assert_array_equal(w.data[2], np.arange(600, 600 + w.n_samples) + 20_000)
    assert len(w.sources) == 6
    assert all(".2020.06" in s for s in w.sources)

    with pytest.raises(InputError, match=r"2021-01-01"):
        read_sds(tmp_path, "2021-01-01", "2021-01-02")
    with pytest.raises(InputError, match="missing_root"):
        read_sds(tmp_path / "missing_root", start, start + 60)


# --------------------------------------------------------------------------------------------
# real data
# --------------------------------------------------------------------------------------------


def test_real_seed_file_five_stations():
    path = shared_file("pnsn", "data", "SC.202305230113.0001.seed")
    st, messages = read_waveform_files(find_waveform_files(path))
    assert messages == []
    ws, messages = to_waveforms(st)
    assert messages == []
    assert len(ws) == 5
    assert len({w.station for w in ws}) == 5
    for w in ws:
        assert w.network == "SC"
        assert w.band == "SH"
        assert w.sampling_rate == 100.0
        assert w.present.all()
        assert w.data.shape == (3, 20000)
        assert np.isfinite(w.data).all()
        assert w.sources == (str(path.resolve()),)
    # rows are the channels' counts, converted to float32 without any processing
    raw = read(str(path))
    bay = next(w for w in ws if w.station == "BAY")
    np.testing.assert_array_equal(bay.data[2], raw.select(station="BAY", channel="SHZ")[0].data)


def test_real_sac_files_one_station():
    folder = shared_file("pnsn", "data", "waveform")
    files = sorted(folder.glob("X1.53085*.sac"))
    if len(files) != 3:
        pytest.skip(f"expected 3 X1.53085 SAC files in {folder}")
    st, messages = read_waveform_files(files)
    assert messages == []
    (w,), messages = to_waveforms(st)
    assert messages == []
    assert w.id == "X1.53085.01"
    assert w.band == "BH"
    assert w.starttime == UTCDateTime("2012-07-26T23:58:53.625")
    assert w.data.shape == (3, 26001)
    assert w.present.all()
    assert len(w.sources) == 3
    # spans midnight: two station-days
    assert len(iter_days(w.starttime, w.endtime)) == 2


def test_files_without_suffix_are_found_by_content(tmp_path):
    e, n, z = _enz()
    (tmp_path / "sac").mkdir()
    z.write(str(tmp_path / "sac" / "STA.HHZ"), format="SAC")  # LOKI names its SAC files so
    n.write(str(tmp_path / "sac" / "STA_N"), format="MSEED")
    (tmp_path / "sac" / "notes.txt").write_text("not a waveform")
    (tmp_path / "sac" / "other").write_text("neither")
    messages = []
    files = find_waveform_files(tmp_path / "sac", messages=messages)
    assert sorted(p.name for p in files) == ["STA.HHZ", "STA_N"]
    assert messages == [
        f"{tmp_path / 'sac'}: 2 file(s) without a waveform suffix taken by their "
        "content: STA.HHZ (SAC), STA_N (MSEED)"
    ]


def test_sds_stations_refuse_a_missing_or_empty_archive(tmp_path):
    from seiscore.io.waveforms import sds_stations

    with pytest.raises(InputError, match="SDS archive not found"):
        sds_stations(tmp_path / "nowhere")
    with pytest.raises(InputError, match="no SDS data"):
        sds_stations(tmp_path)
