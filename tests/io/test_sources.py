"""Waveform sources: folders, SDS archives and any object with get_waveforms."""

from __future__ import annotations

import numpy as np
import obspy
import pytest

from seiscore.exceptions import InputError
from seiscore.io.sources import (
    FolderSource,
    SDSSource,
    WaveformLoader,
    open_source,
    read_window,
    source_ids,
)

T0 = obspy.UTCDateTime("2024-02-29T23:59:00")


def _traces():
    out = []
    for sta in ("AAA", "BBB"):
        for comp in "ENZ":
            tr = obspy.Trace(np.arange(12000, dtype=np.int32))
            tr.stats.update(
                {
                    "network": "XX",
                    "station": sta,
                    "channel": f"HH{comp}",
                    "sampling_rate": 100.0,
                    "starttime": T0,
                }
            )
            out.append(tr)
    return out


def _sds(root):
    """Each channel as two SDS day files (the record crosses midnight)."""
    for tr in _traces():
        for piece in (tr.slice(T0, T0 + 59.99), tr.slice(T0 + 60, T0 + 120)):
            s = piece.stats
            d = root / str(s.starttime.year) / s.network / s.station / f"{s.channel}.D"
            d.mkdir(parents=True, exist_ok=True)
            day = f"{s.starttime.year}.{s.starttime.julday:03d}"
            piece.write(str(d / f"{piece.id}.D.{day}"), format="MSEED")


class _Client:
    """Stands for an FDSN client or an ObsPy wave bank: only get_waveforms."""

    def __init__(self, traces):
        self.st = obspy.Stream(traces)

    def get_waveforms(self, network, station, location, channel, starttime, endtime):
        if station == "ZZZ":
            raise RuntimeError("No data available for request.")
        return self.st.select(
            network=network, station=station, location=location, channel=channel
        ).slice(starttime, endtime)


def test_folder_sds_and_client_give_the_same_window(tmp_path):
    (tmp_path / "files").mkdir()
    for tr in _traces():
        tr.write(str(tmp_path / "files" / f"{tr.id}.mseed"), format="MSEED")
    _sds(tmp_path / "sds")
    folder = open_source(tmp_path / "files")
    sds = open_source(tmp_path / "sds")
    client = open_source(_Client(_traces()))
    assert isinstance(folder, FolderSource)
    assert isinstance(sds, SDSSource)  # recognised by its layout
    ids = source_ids(folder)
    assert ids == source_ids(sds) == [f"XX.{s}..HH{c}" for s in ("AAA", "BBB") for c in "ENZ"]
    with pytest.raises(InputError, match="give the channels to read"):
        source_ids(client)
    t0, t1 = T0 + 30, T0 + 90  # crosses midnight and the SDS day files
    results = [read_window(src, ids, t0, t1)[0] for src in (folder, sds, client)]
    for st in results:
        st.merge()
        assert len(st) == 6
        for tr in st:
            assert tr.stats.starttime == t0
            np.testing.assert_array_equal(tr.data, np.arange(3000, 9001))


def test_read_window_names_failing_channels():
    st, messages = read_window(_Client(_traces()), ["XX.ZZZ..HHZ", "XX.AAA..HHZ"], T0, T0 + 10)
    assert len(st) == 1
    assert messages == [
        f"XX.ZZZ..HHZ: no data from {T0} to {T0 + 10} "
        "(RuntimeError: No data available for request.)"
    ]


def test_loader_for_correlation_is_picklable(tmp_path):
    import pickle

    (tmp_path / "files").mkdir()
    for tr in _traces():
        tr.write(str(tmp_path / "files" / f"{tr.id}.mseed"), format="MSEED")
    loader = WaveformLoader(open_source(tmp_path / "files"), ["XX.*..HH?"])
    again = pickle.loads(pickle.dumps(loader))
    ws = again(np.datetime64("2024-02-29T23:59:10"), np.datetime64("2024-02-29T23:59:20"))
    assert [w.id for w in ws] == ["XX.AAA.", "XX.BBB."]
    assert ws[0].data.shape == (3, 1001)


def test_open_source_refuses_other_objects():
    with pytest.raises(InputError, match="expected a path, a list of paths or an object"):
        open_source(42)


def test_correlation_takes_a_source_through_a_loader():
    """correlate() reads day by day from any get_waveforms source (ANXCOR users' wave banks)."""
    from seiscore import correlation

    rng = np.random.default_rng(0)
    noise = rng.standard_normal(60_000)
    traces = []
    for sta, shift in (("AAA", 0), ("BBB", 25)):
        tr = obspy.Trace(np.roll(noise, shift).astype(np.float32))
        tr.stats.update(
            {
                "network": "XX",
                "station": sta,
                "channel": "HHZ",
                "sampling_rate": 100.0,
                "starttime": T0,
            }
        )
        traces.append(tr)
    loader = WaveformLoader(
        _Client(traces), ["XX.AAA..HHZ", "XX.BBB..HHZ"], components=("Z",), require=("Z",)
    )
    ds = correlation.correlate(
        loader,
        stations=["XX.AAA.", "XX.BBB."],
        starttime=T0.datetime,
        endtime=(T0 + 600).datetime,
        window_s=100.0,
        max_lag_s=1.0,
        sampling_rate=100.0,
    )
    ccf = ds["ccf_linear"].sel(component="ZZ").isel(pair=0).to_numpy()
    lag = ds["lag"].to_numpy()[int(np.argmax(ccf))]
    assert lag == pytest.approx(0.25)  # BBB is AAA delayed by 25 samples
