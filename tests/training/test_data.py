"""Training data without torch: pick files, SeisBench data sets, the window store, labels and
augmentation."""

from __future__ import annotations

import numpy as np
import obspy
import pytest

from seiscore.exceptions import InputError
from seiscore.training.augment import AugmentConfig, augment_window, cut_window, parse_augment
from seiscore.training.data import segments_from_seisbench, segments_from_waveforms
from seiscore.training.labels import loss_weights, normalise, phase_labels
from seiscore.training.picks import merge_duplicates, read_reference_picks
from seiscore.training.store import WindowStore, WindowStoreWriter

from .helpers import WINDOW, synthetic_trace, write_seisbench

T0 = obspy.UTCDateTime("2021-03-04T05:06:00")


def test_quakemigrate_picks_keep_unpicked_arrivals(tmp_path):
    f = tmp_path / "20210304050610000.picks"
    f.write_text(
        "Station,Phase,ModelledTime,PickTime,PickError,SNR,Residual\n"
        "STA1,P,2021-03-04T05:06:10.50Z,2021-03-04T05:06:10.52Z,0.01,10,0.02\n"
        "STA1,S,2021-03-04T05:06:10.90Z,-1,-1,-1,-1\n"
    )
    ref = read_reference_picks(tmp_path)
    assert list(ref.phase) == ["P", "S"]
    assert list(ref.picked) == [True, False]
    assert ref.time[0] == pytest.approx((T0 + 10.52).timestamp)
    assert ref.time[1] == pytest.approx((T0 + 10.90).timestamp)  # the modelled time
    assert set(ref.event) == {"20210304050610000"}


def test_seiscore_csv_quakeml_and_nonlinloc_picks(tmp_path):
    (tmp_path / "picks.csv").write_text(
        "network,station,location,phase,time,probability,event_id\n"
        "XX,A,,P,2021-03-04T05:06:10.000000Z,0.9,3\n"
        "XX,A,,S,2021-03-04T05:06:12.000000Z,0.8,3\n"
        "XX,B,,Pg,2021-03-04T05:06:11.000000Z,0.8,-1\n"
    )
    ref = read_reference_picks(tmp_path / "picks.csv")
    assert list(ref.phase) == ["P", "S", "P"]
    assert ref.event[0] == ref.event[1] != ref.event[2]

    cat = obspy.core.event.Catalog()
    ev = obspy.core.event.Event()
    wid = obspy.core.event.WaveformStreamID(network_code="XX", station_code="C")
    ev.picks.append(obspy.core.event.Pick(time=T0 + 3, phase_hint="Sg", waveform_id=wid))
    cat.append(ev)
    cat.write(str(tmp_path / "cat.xml"), format="QUAKEML")
    q = read_reference_picks(tmp_path / "cat.xml")
    assert (q.station[0], q.phase[0], q.time[0]) == ("C", "S", (T0 + 3).timestamp)

    (tmp_path / "ev.obs").write_text(
        "D ? ? i P U 20210304 0506 10.2500 GAU 1.00e-02 -1.00e+00 -1.00e+00 -1.00e+00\n"
        "D ? ? e S ? 20210304 0506 12.5000 GAU 2.00e-02 -1.00e+00 -1.00e+00 -1.00e+00\n"
        "\n"
        "E ? ? i P U 20210304 0507 01.0000 GAU 1.00e-02 -1.00e+00 -1.00e+00 -1.00e+00\n"
    )
    n = read_reference_picks(tmp_path / "ev.obs")
    assert list(n.station) == ["D", "D", "E"]
    assert n.time[1] == pytest.approx((T0 + 12.5).timestamp)
    assert n.event[0] == n.event[1] != n.event[2]


def test_unreadable_pick_file_is_named(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="bad.csv"):
        read_reference_picks(bad)


def test_duplicates_merge_and_join_their_events():
    from seiscore.training.picks import ReferencePicks

    t = T0.timestamp
    ref = ReferencePicks.from_rows(
        [
            ("", "A", "", "P", t + 1.000, "v1", True),
            ("", "A", "", "P", t + 1.004, "v2", True),
            ("", "A", "", "S", t + 2.000, "v2", False),
            ("", "B", "", "P", t + 1.5, "v3", True),
        ]
    )
    m = merge_duplicates(ref, 0.01)
    assert len(m) == 3
    p = (m.station == "A") & (m.phase == "P")
    assert m.time[p][0] == pytest.approx(t + 1.002)
    assert len(set(m.event[m.station == "A"])) == 1  # v1 and v2 are one event
    assert not m.picked[m.phase == "S"][0]


def test_segments_from_waveforms_label_every_pick_of_the_station(tmp_path, rng):
    x = synthetic_trace(rng, 20000, 5000, 5400)
    st = obspy.Stream(
        [
            obspy.Trace(
                x[i],
                header={
                    "network": "XX",
                    "station": "A",
                    "channel": f"HH{c}",
                    "sampling_rate": 100.0,
                    "starttime": T0,
                },
            )
            for i, c in enumerate("ENZ")
        ]
    )
    st.write(str(tmp_path / "a.mseed"), format="MSEED")
    (tmp_path / "p.picks").write_text(
        "Station,Phase,ModelledTime,PickTime,PickError,SNR,Residual\n"
        f"A,P,{T0 + 50},{T0 + 50},0,0,0\nA,S,{T0 + 54},{T0 + 54},0,0,0\n"
        f"A,P,{T0 + 75},-1,-1,-1,-1\n"
    )
    ref = read_reference_picks(tmp_path / "p.picks")
    with WindowStoreWriter(
        tmp_path / "s.h5", sampling_rate=100.0, channel_order="ENZ", segment_length=2 * WINDOW
    ) as w:
        rep = segments_from_waveforms(
            [tmp_path / "a.mseed"], ref, w, window=WINDOW, sampling_rate=100.0, channel_order="ENZ"
        )
    assert rep.segments == 1  # the S pick lies within window / 2 of the P pick
    ws = WindowStore(tmp_path / "s.h5")
    lo = 5000 - WINDOW
    assert ws.picks["P"][0][0] == pytest.approx(5000 - lo)
    assert ws.picks["S"][0][0] == pytest.approx(5400 - lo)
    assert ws.picks["P_ignore"][0][0] == pytest.approx(7500 - lo)
    np.testing.assert_allclose(ws.waveforms([0])[0], x[:, lo : lo + 2 * WINDOW], rtol=1e-6)
    assert ws.station[0] == "XX.A."


@pytest.mark.parametrize("blocks", [True, False])
def test_seisbench_data_set_to_store(tmp_path, rng, blocks):
    truth = write_seisbench(tmp_path / "sb", rng, n_traces=4, blocks=blocks)
    with WindowStoreWriter(
        tmp_path / "s.h5",
        sampling_rate=50.0,
        channel_order="ENZ",
        segment_length=2 * WINDOW,
        flush_every=3,
    ) as w:
        rep = segments_from_seisbench(
            tmp_path / "sb", w, window=WINDOW, sampling_rate=50.0, channel_order="ENZ", chunk_rows=3
        )
    assert rep.segments == 4
    ws = WindowStore(tmp_path / "s.h5", cache_bytes=0)  # read from disk
    for i, (p, s) in enumerate(truth):
        lo = round(p / 2) - WINDOW  # resampled to 50 Hz: positions halve
        assert ws.picks["P"][i][0] == pytest.approx(p / 2 - lo)
        assert ws.picks["S"][i][0] == pytest.approx(s / 2 - lo)
    assert list(ws.event) == ["ev0", "ev0", "ev1", "ev1"]
    assert ws.waveforms([3, 1]).shape == (2, 3, 2 * WINDOW)
    assert np.array_equal(ws.waveforms([3, 1])[1], ws.waveforms([1])[0])
    assert "4 segments" in ws.describe()


def test_labels_weights_and_normalisation():
    y = phase_labels([100.0], [400.0, np.nan], 1000, "gaussian", 10.0)
    assert y.shape == (3, 1000)
    assert y[1].argmax() == 100
    assert y[2].argmax() == 400
    assert y[1, 110] == pytest.approx(np.exp(-0.5), rel=1e-6)
    np.testing.assert_allclose(y.sum(axis=0), 1.0, atol=1e-6)
    tri = phase_labels([100.0], [], 1000, "triangle", 20.0)
    assert tri[1, 110] == pytest.approx(0.5)
    w = loss_weights([500.0], 1000, 5)
    assert w[495:506].sum() == 0
    assert w.sum() == 1000 - 11
    x = np.array([[1.0, 2.0, 3.0], [5.0, 5.0, 5.0]])
    z = normalise(x)
    np.testing.assert_allclose(z[0], [-1.2247449, 0.0, 1.2247449], rtol=1e-6)
    assert np.all(z[1] == 0)


def test_window_keeps_the_anchor_inside(rng):
    seg = np.zeros((3, 2 * WINDOW), np.float32)
    for _ in range(200):
        s = cut_window(seg, (0, 2 * WINDOW), 3100.0, WINDOW, rng, guard=0.05)
        assert 150 <= 3100 - s <= WINDOW - 150
    s = cut_window(seg, (0, 2 * WINDOW), 3100.0, WINDOW, rng, shift=False)
    assert 3100 - s == WINDOW // 2


def test_augmentations(rng):
    x = rng.standard_normal((3, 1000)).astype(np.float32)
    picks = {
        "P": np.array([100.0, 600.0]),
        "S": np.array([]),
        "P_ignore": np.array([]),
        "S_ignore": np.array([]),
    }
    gap = AugmentConfig(
        scale_prob=0, noise_prob=0, gap_prob=1, gap_min=0.5, gap_max=0.5, drop_prob=0
    )
    y, p = augment_window(x, picks, gap, rng)
    zero = np.flatnonzero(np.all(y == 0, axis=0))
    assert len(zero) == 500
    assert all(not (zero[0] <= v <= zero[-1]) for v in p["P"])
    drop = AugmentConfig(scale_prob=0, noise_prob=0, gap_prob=0, drop_prob=1)
    y, _ = augment_window(x, picks, drop, rng)
    dropped = np.all(y == 0, axis=1).sum()
    assert 1 <= dropped <= 2
    assert np.array_equal(augment_window(x, picks, AugmentConfig.none(), rng)[0], x)
    assert parse_augment("noise_prob=1,gap_prob=0").noise_prob == 1.0
    with pytest.raises(ValueError, match="unknown augmentation"):
        parse_augment("colour=3")
