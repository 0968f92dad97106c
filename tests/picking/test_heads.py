"""Per-pick heads: windows cut around each P pick as the card says, classes and values into the
picks table, QuakeML polarity, the network DL magnitude; SeisT picking and its heads on the
real SC record, the pnsn polarity model on X1.53085."""

from __future__ import annotations

import json
import shutil

import numpy as np
import obspy
import onnx
import pandas as pd
import pytest
from onnx import TensorProto, helper

from seiscore import InputError
from seiscore.cli import pick_main
from seiscore.containers import Picks, Waveforms
from seiscore.io import catalog
from seiscore.models import ModelCard, load_model
from seiscore.picking import apply_heads, network_magnitude, pick

from ..conftest import REPO, shared_file

CARDS = REPO / "tests" / "data" / "cards"
START = obspy.UTCDateTime("2024-01-01T00:00:00")
RATE = 10.0
WINDOW, P_POSITION = 100, 40


def sample_model(tmp_path, task: str, **card):
    """A single-window head on one channel (Z) that reads the sample at ``p_position``: the
    polarity head answers softmax(5·x, −5·x) over (up, down), a value head returns x."""
    k = P_POSITION
    consts = [
        helper.make_tensor("starts", TensorProto.INT64, [1], [k]),
        helper.make_tensor("ends", TensorProto.INT64, [1], [k + 1]),
        helper.make_tensor("axes", TensorProto.INT64, [1], [2]),
        helper.make_tensor("shape", TensorProto.INT64, [2], [-1, 1]),
    ]
    nodes = [
        helper.make_node("Slice", ["x", "starts", "ends", "axes"], ["at"]),
        helper.make_node("Reshape", ["at", "shape"], ["v"]),
    ]
    if task == "polarity":
        consts.append(helper.make_tensor("gain", TensorProto.FLOAT, [2], [5.0, -5.0]))
        nodes += [
            helper.make_node("Mul", ["v", "gain"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["y"], axis=-1),
        ]
        labels, n_out = ["up", "down"], 2
    else:
        nodes.append(helper.make_node("Identity", ["v"], ["y"]))
        labels, n_out = [task], 1
    graph = helper.make_graph(
        nodes,
        task,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 1, WINDOW])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", n_out])],
        initializer=consts,
    )
    path = tmp_path / f"{task}.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    path.with_suffix(".json").write_text(
        json.dumps(
            {
                "name": f"test_{task}",
                "contract": "single",
                "task": task,
                "output_kind": "classes" if task == "polarity" else "values",
                "sampling_rate": RATE,
                "window_length": WINDOW,
                "p_position": P_POSITION,
                "input_name": "x",
                "output_name": "y",
                "channel_order": ["Z"],
                "normalisation": "none",
                "labels": labels,
                **card,
            }
        )
    )
    return load_model(path)


def station(data_z: np.ndarray, name="AAA") -> Waveforms:
    data = np.zeros((3, data_z.size), np.float32)
    data[2] = data_z
    return Waveforms("XX", name, "", "HH", START, RATE, ("E", "N", "Z"), data, np.ones(3, bool))


def picks_at(seconds, phases, name="AAA") -> Picks:
    n = len(seconds)
    times = np.datetime64(START.ns, "ns") + (np.asarray(seconds) * 1e9).astype("timedelta64[ns]")
    f = np.ones(n, np.float32)
    s = np.full(n, "XX", dtype=object)
    return Picks(
        s,
        np.full(n, name, dtype=object),
        np.full(n, "", dtype=object),
        np.array(phases, dtype=object),
        times,
        f,
        f,
        f,
    )


def test_windows_are_cut_at_the_cards_p_position(tmp_path):
    z = np.zeros(600, np.float32)
    z[100], z[300], z[5] = 2.0, -3.0, 0.7  # samples at 10 s, 30 s and 0.5 s
    picks = picks_at([10.0, 30.0, 20.0, 0.5, 45.0], ["P", "P", "S", "P", "P"])
    up_down = sample_model(tmp_path, "polarity", min_probability=0.6)
    dist = sample_model(tmp_path, "distance", units={"distance": "km"})
    out = apply_heads(picks, station(z), [up_down, dist])
    assert out.polarity.tolist() == ["up", "down", "", "up", "undecidable"]
    np.testing.assert_allclose(out.polarity_probability[[0, 1, 4]], [1.0, 1.0, 0.5], atol=1e-4)
    assert np.isnan(out.polarity_probability[2])
    # the value head returns the sample at the pick: the window holds it at p_position, also
    # for a pick 0.5 s into the record (zero-padded before it)
    np.testing.assert_allclose(out.distance_km[[0, 1, 3, 4]], [2.0, -3.0, 0.7, 0.0])
    assert np.isnan(out.distance_km[2])
    assert np.isnan(out.magnitude_dl).all()
    # the input table is unchanged, the rows keep their order
    assert (picks.polarity == "").all()
    assert out.phase.tolist() == picks.phase.tolist()


def test_other_stations_and_rates(tmp_path):
    model = sample_model(tmp_path, "magnitude")
    picks = picks_at([10.0], ["P"], name="BBB")
    out = apply_heads(picks, station(np.ones(300, np.float32)), [model])
    assert np.isnan(out.magnitude_dl).all()  # no waveforms for BBB: left empty
    w = station(np.ones(300, np.float32), name="BBB")
    w.sampling_rate = 20.0
    with pytest.raises(InputError, match="resample first"):
        apply_heads(picks, w, [model])
    with pytest.raises(InputError, match="unknown head"):
        apply_heads(picks, w, ["nosuch"])
    with pytest.raises(InputError, match="not a per-pick head"):
        apply_heads(picks, w, [load_model("phasenet")])


def test_single_cards_are_checked():
    base = {
        "name": "h",
        "contract": "single",
        "task": "distance",
        "output_kind": "values",
        "sampling_rate": 50,
        "window_length": 100,
        "p_position": 10,
        "input_name": "x",
        "channel_order": ["Z", "N", "E"],
        "labels": ["distance"],
    }
    assert ModelCard.from_dict(base).p_position == 10
    for change, match in (
        ({"p_position": 100}, "p_position"),
        ({"task": "depth"}, "task"),
        ({"output_kind": "probabilities"}, "classes' or 'values"),
        ({"input_layout": "W"}, "one channel"),
    ):
        with pytest.raises(InputError, match=match):
            ModelCard.from_dict({**base, **change})


def test_table_csv_and_quakeml_carry_the_heads(tmp_path):
    picks = picks_at([1.0, 2.0, 3.0], ["P", "P", "S"])
    plain = catalog.write_picks_csv(picks, tmp_path / "plain.csv")
    assert "polarity" not in plain.read_text().splitlines()[0]  # no heads: columns as before
    picks.polarity[:2] = ["down", "undecidable"]
    picks.polarity_probability[:2] = [0.9, 0.55]
    picks.magnitude_dl[0], picks.baz_deg[0], picks.distance_km[0] = 2.5, 123.0, 41.0
    back = catalog.read_picks_csv(catalog.write_picks_csv(picks, tmp_path / "heads.csv"))
    assert back.polarity.tolist() == ["down", "undecidable", ""]
    np.testing.assert_allclose(back.distance_km[0], 41.0)
    catalog.write_picks_quakeml(picks, tmp_path / "p.xml")
    qpicks = obspy.read_events(str(tmp_path / "p.xml"))[0].picks
    assert [p.polarity for p in qpicks] == ["negative", "undecidable", None]
    assert qpicks[0].backazimuth == pytest.approx(123.0)
    assert "magnitude_dl=2.5" in qpicks[0].comments[0].text


def test_network_magnitude_is_the_median_of_stations():
    picks = picks_at([1, 2, 3, 4, 5, 6], ["P"] * 6)
    picks.station[:] = ["A", "A", "B", "C", "D", "E"]
    picks.magnitude_dl[:] = [2.0, 3.0, 3.0, 4.0, 1.0, np.nan]
    event_id = np.array([0, 0, 0, 0, 1, -1])
    table = network_magnitude(picks, event_id)
    assert table.event_id.tolist() == [0, 1]
    # event 0: stations A (median of 2 and 3: 2.5), B 3.0, C 4.0 -> median 3.0
    np.testing.assert_allclose(table.magnitude_dl, [3.0, 1.0])
    assert table.magnitude_dl_stations.tolist() == [3, 1]
    assert (table.magnitude_dl_type == "Mdl").all()
    np.testing.assert_allclose(table.magnitude_dl_uncertainty, [1.4826 * 0.5, 0.0], atol=1e-3)
    with pytest.raises(InputError, match="one per pick"):
        network_magnitude(picks, event_id[:3])


def test_network_magnitude_goes_into_quakeml_beside_other_magnitudes():
    from obspy.core.event import Catalog, Event, Magnitude, Origin, ResourceIdentifier

    ev0 = Event(resource_id=ResourceIdentifier("smi:local/event/0"))
    ev0.origins = [Origin(time=START, latitude=0, longitude=0)]
    ml = Magnitude(mag=3.1, magnitude_type="ML")
    ev0.magnitudes.append(ml)
    ev0.preferred_magnitude_id = ml.resource_id
    cat = Catalog([ev0, Event(resource_id=ResourceIdentifier("smi:local/event/1"))])
    table = pd.DataFrame(
        {
            "event_id": [0, 1],
            "magnitude_dl": [2.9, 1.5],
            "magnitude_dl_type": ["Mdl", "Mdl"],
            "magnitude_dl_stations": [4, 2],
            "magnitude_dl_uncertainty": [0.2, 0.1],
        }
    )
    catalog.add_network_magnitudes(cat, table)
    assert [m.magnitude_type for m in cat[0].magnitudes] == ["ML", "Mdl"]
    assert cat[0].preferred_magnitude().magnitude_type == "ML"  # ML stays preferred
    assert cat[1].preferred_magnitude().mag == pytest.approx(1.5)
    assert cat[0].magnitudes[1].station_count == 4


def test_seist_picks_the_sc_record_with_heads(tmp_path, capsys):
    folder = tmp_path / "wave"
    folder.mkdir()
    shutil.copy(shared_file("pnsn", "data", "SC.202305230113.0001.seed"), folder / "SC.mseed")
    out = tmp_path / "picks.csv"
    args = [str(folder), "-o", str(out), "--quakeml", str(tmp_path / "p.xml"), "--quiet"]
    assert pick_main([*args, "--model", "seist", "--heads", "all"]) == 0, capsys.readouterr()
    picks = catalog.read_picks_csv(out)
    stations = {"BAY", "BAJ", "MZP", "ZDZ", "GHS"}
    for phase in ("P", "S"):
        strong = picks.select((picks.phase == phase) & (picks.probability > 0.5))
        assert set(strong.station) == stations, phase
    p = picks.select(picks.phase == "P")
    assert set(p.polarity) <= {"up", "down", "undecidable"}
    assert np.isfinite(p.polarity_probability).all()
    assert ((p.magnitude_dl > 0.5) & (p.magnitude_dl < 4.0)).all()  # a small local event
    assert ((p.distance_km > 5) & (p.distance_km < 100)).all()
    assert ((p.baz_deg >= 0) & (p.baz_deg <= 360)).all()
    s = picks.select(picks.phase == "S")
    assert (s.polarity == "").all()
    assert np.isnan(s.magnitude_dl).all()
    q = obspy.read_events(str(tmp_path / "p.xml"))[0].picks
    assert {x.polarity for x in q if x.phase_hint == "P"} <= {"positive", "negative", "undecidable"}


def test_pnsn_polarity_model_reads_the_x1_p_first_motion():
    """The published polarity model (GPL, test only) through a card: on X1.53085 the rnn P pick
    (96.32 s) has a downward first motion (Z goes negative at the onset)."""
    from seiscore.io.waveforms import find_waveform_files, read_waveform_files, to_waveforms

    st, errors = read_waveform_files(find_waveform_files([shared_file("pnsn", "data", "waveform")]))
    assert not errors
    items, _ = to_waveforms(st, sampling_rate=100.0)
    rnn = load_model(shared_file("pnsn", "pickers", "rnn.onnx"), card=CARDS / "pnsn_rnn.json")
    polar = load_model(shared_file("pnsn", "pickers", "polar.onnx"), card=CARDS / "pnsn_polar.json")
    out = apply_heads(pick(items, rnn), items, [polar])
    p = out.select(out.phase == "P")
    assert p.polarity.tolist() == ["down"]
    assert p.polarity_probability[0] > 0.9


def test_events_csv_gets_the_network_dl_magnitude(tmp_path):
    """``seiscore associate`` on picks with DL magnitudes (``seiscore-pick --heads``) writes
    the network DL magnitude into events.csv."""
    from types import SimpleNamespace

    from seiscore.containers import Events
    from seiscore.workflow.associate import write_events_csv

    picks = picks_at([1, 2, 3, 4], ["P", "P", "P", "S"])
    picks.station[:] = ["A", "B", "C", "A"]
    picks.magnitude_dl[:3] = [2.0, 2.4, 3.0]
    f, i = np.zeros(2), np.zeros(2, np.int32)
    events = Events(
        np.array([0, 1]),
        np.array([START.ns] * 2, "datetime64[ns]"),
        f,
        f,
        f,
        f,
        f,
        i,
        i,
        np.zeros(2, np.float32),
    )
    result = SimpleNamespace(
        events=events,
        picks=picks,
        event_id=np.array([0, 0, 0, 0]),
        score=np.ones(2),
        significance=np.full(2, 9.0),
    )
    df = pd.read_csv(write_events_csv(result, tmp_path / "events.csv"))
    assert df.magnitude_dl[0] == pytest.approx(2.4)
    assert np.isnan(df.magnitude_dl[1])
    assert df.magnitude_dl_type[0] == "Mdl"
    assert df.magnitude_dl_stations[0] == 3
