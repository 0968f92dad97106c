"""Inference over continuous data: windows, stitching, gaps, both model contracts, pick()."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from seiscore import BackendUnavailable, InputError
from seiscore.containers import Waveforms
from seiscore.models import available_models, load_model
from seiscore.picking import annotate, pick

from ..conftest import REPO, shared_file

CARDS = REPO / "tests" / "data" / "cards"


def identity_window_model(tmp_path, window=100, layout="NCW"):
    """A window model whose 'probabilities' are its input: stitching must give the input back."""
    shape = ["batch", 3, window] if layout == "NCW" else ["batch", window, 3]
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "identity",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)],
    )
    path = tmp_path / f"identity_{layout}.onnx"
    opset = [helper.make_opsetid("", 17)]
    onnx.save(helper.make_model(graph, opset_imports=opset, ir_version=9), path)
    card = {
        "name": "identity",
        "contract": "window",
        "sampling_rate": 100.0,
        "window_length": window,
        "input_name": "x",
        "output_name": "y",
        "input_layout": layout,
        "channel_order": ["E", "N", "Z"],
        "normalisation": "none",
        "labels": ["noise", "P", "S"],
    }
    path.with_suffix(".json").write_text(json.dumps(card))
    return path


def identity_stream_model(tmp_path, min_length=0):
    """A stream model returning each input row twice (as overlapping inner windows do), with
    times, plus rows past the end (as padding does)."""
    nodes = [
        helper.make_node("Concat", ["wave", "wave", "tail"], ["prob"], axis=0),
        helper.make_node("Shape", ["wave"], ["shape"]),
        helper.make_node("Gather", ["shape", "zero_s"], ["n"], axis=0),
        helper.make_node("Range", ["zero_s", "n", "one_s"], ["t"]),
        helper.make_node("Cast", ["t"], ["tf"], to=TensorProto.FLOAT),
        helper.make_node("Add", ["tf", "beyond"], ["t_tail"]),
        helper.make_node("Slice", ["t_tail", "zero1", "five1"], ["t_tail5"]),
        helper.make_node("Concat", ["tf", "tf", "t_tail5"], ["time"], axis=0),
    ]
    n_big = 10**6
    graph = helper.make_graph(
        nodes,
        "stream_identity",
        [helper.make_tensor_value_info("wave", TensorProto.FLOAT, ["n", 3])],
        [
            helper.make_tensor_value_info("prob", TensorProto.FLOAT, ["m", 3]),
            helper.make_tensor_value_info("time", TensorProto.FLOAT, ["m"]),
        ],
        initializer=[
            helper.make_tensor("tail", TensorProto.FLOAT, [5, 3], [9.0] * 15),
            helper.make_tensor("beyond", TensorProto.FLOAT, [], [float(n_big)]),
            helper.make_tensor("zero_s", TensorProto.INT64, [], [0]),
            helper.make_tensor("one_s", TensorProto.INT64, [], [1]),
            helper.make_tensor("zero1", TensorProto.INT64, [1], [0]),
            helper.make_tensor("five1", TensorProto.INT64, [1], [5]),
        ],
    )
    path = tmp_path / "stream_identity.onnx"
    opset = [helper.make_opsetid("", 17)]
    onnx.save(helper.make_model(graph, opset_imports=opset, ir_version=9), path)
    card = {
        "name": "stream_identity",
        "contract": "stream",
        "sampling_rate": 100.0,
        "input_name": "wave",
        "input_layout": "WC",
        "channel_order": ["E", "N", "Z"],
        "normalisation": "none",
        "labels": ["noise", "P", "S"],
        "min_length": min_length,
    }
    path.with_suffix(".json").write_text(json.dumps(card))
    return path


def make_waveforms(data, components=("E", "N", "Z"), present=None, rate=100.0):
    import obspy

    data = np.asarray(data, np.float32)
    present = np.ones(len(components), bool) if present is None else np.asarray(present)
    start = obspy.UTCDateTime(2024, 1, 1)
    return Waveforms("XX", "TEST", "", "HH", start, rate, tuple(components), data, present)


@pytest.mark.parametrize("layout", ["NCW", "NWC"])
@pytest.mark.parametrize(("n", "overlap"), [(1000, 50), (1037, 0), (1037, 99), (100, 30), (64, 10)])
def test_window_stitching_reproduces_the_model_output(tmp_path, rng, layout, n, overlap):
    model = load_model(identity_window_model(tmp_path, 100, layout))
    data = rng.random((3, n)).astype(np.float32)
    (ann,) = annotate(make_waveforms(data), model, batch_size=7, overlap=overlap)
    assert ann.phases == ("P", "S")
    np.testing.assert_allclose(ann.prob, data[1:], rtol=1e-5, atol=1e-6)


def test_gaps_get_no_probabilities(tmp_path, rng):
    model = load_model(identity_window_model(tmp_path, 100))
    data = rng.random((3, 1500)).astype(np.float32)
    data[2, 400:460] = np.nan  # a gap in one component blanks all
    data[:, 1200:1210] = np.nan
    (ann,) = annotate(make_waveforms(data), model, overlap=50)
    gap = np.zeros(1500, bool)
    gap[400:460] = gap[1200:1210] = True
    assert np.isnan(ann.prob[:, gap]).all()
    np.testing.assert_allclose(ann.prob[:, ~gap], data[1:, ~gap], rtol=1e-5)


def test_stream_contract_uses_time_output_not_rows(tmp_path, rng):
    model = load_model(identity_stream_model(tmp_path))
    data = rng.random((3, 2500)).astype(np.float32)
    (ann,) = annotate(make_waveforms(data), model, chunk_length=900, overlap=100)
    np.testing.assert_allclose(ann.prob, data[1:], rtol=1e-5, atol=1e-6)
    data[:, 700:720] = np.nan
    (ann,) = annotate(make_waveforms(data), model, chunk_length=900, overlap=100)
    assert np.isnan(ann.prob[:, 700:720]).all()
    ok = np.isfinite(data).all(0)
    np.testing.assert_allclose(ann.prob[:, ok], data[1:, ok], rtol=1e-5, atol=1e-6)


def test_stream_contract_pads_short_chunks(tmp_path, rng):
    model = load_model(identity_stream_model(tmp_path, min_length=500))
    data = rng.random((3, 120)).astype(np.float32)
    (ann,) = annotate(make_waveforms(data), model)
    np.testing.assert_allclose(ann.prob, data[1:], rtol=1e-5, atol=1e-6)


def test_phasenet_annotate_matches_tensorflow_reference():
    ref = np.load(shared_file("phasenet", "phasenet_tf_reference.npz"))
    model = load_model("phasenet")
    items = [make_waveforms(ref["waveform"][i].T) for i in range(154)]
    anns = annotate(items, model, batch_size=4)
    for k, ann in enumerate(anns):
        np.testing.assert_allclose(ann.prob, ref["prob_tf"][k].T[1:], atol=1e-4)


def test_bundled_model_and_card():
    assert "phasenet" in available_models()
    model = load_model("phasenet")
    assert model.card.window_length == 3000
    assert model.card.sampling_rate == 100.0
    assert model.card.phase_labels == ("P", "S")
    assert model.card.licence == "MIT"


def test_model_errors_are_clear(tmp_path):
    with pytest.raises(InputError, match="unknown model 'nosuch'.*phasenet"):
        load_model("nosuch")
    with pytest.raises(InputError, match="model file not found"):
        load_model(tmp_path / "missing.onnx")
    path = identity_window_model(tmp_path)
    path.with_suffix(".json").unlink()
    with pytest.raises(InputError, match="no model card"):
        load_model(path)
    with pytest.raises(InputError, match="missing keys"):
        load_model(path, card={"name": "x"})
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(InputError, match="cannot load ONNX model"):
        load_model(bad, card=json.loads((CARDS / "pnsn_rnn.json").read_text()))


def test_cuda_device_without_gpu_is_a_clear_error():
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("onnxruntime-gpu installed: covered by the GPU run")
    with pytest.raises(BackendUnavailable, match="onnxruntime-gpu"):
        load_model("phasenet", device="cuda")


def test_wrong_rate_and_missing_components(tmp_path, rng):
    model = load_model(identity_window_model(tmp_path, 100))
    with pytest.raises(InputError, match="expects 100.0 Hz"):
        annotate(make_waveforms(rng.random((3, 500)), rate=50.0), model)
    with pytest.raises(InputError, match="no E component"):
        annotate(make_waveforms(rng.random((2, 500)), components=("N", "Z")), model)
    # a Z-only station (horizontals zero-filled, present False) runs when the card allows it
    data = np.zeros((3, 500), np.float32)
    data[2] = rng.random(500)
    (ann,) = annotate(make_waveforms(data, present=[False, False, True]), model)
    assert np.isfinite(ann.prob).all()


def test_pick_table_has_times_amplitude_and_snr(tmp_path):
    model = load_model(identity_window_model(tmp_path, 200))
    n = 2000
    data = np.zeros((3, n), np.float32)
    data[1, 500:521] = np.hanning(21)  # a P "probability" peak at 510
    data[2, 1500:1521] = 0.8 * np.hanning(21)  # S at 1510
    w = make_waveforms(data)
    picks = pick(w, model, height=0.5, distance_s=1.0)
    assert picks.phase.tolist() == ["P", "S"]
    offsets = (picks.time - np.datetime64("2024-01-01T00:00:00", "ns")) / np.timedelta64(1, "ms")
    np.testing.assert_allclose(offsets, [5100.0, 15100.0], atol=1e-3)
    np.testing.assert_allclose(picks.probability, [1.0, 0.8], rtol=1e-5)
    assert (picks.snr > 1).all()
    assert (picks.amplitude > 0).all()


def test_pnsn_rnn_reproduces_reference_picks():
    """The third-party 'stream' contract: the rnn picker's picks on X1.53085 equal the
    published ones (odata/testrnn.txt: Pg 96.300 s, Sg 122.470 s) within 0.05 s."""
    from seiscore.io.waveforms import find_waveform_files, read_waveform_files, to_waveforms

    onnx_path = shared_file("pnsn", "pickers", "rnn.onnx")
    folder = shared_file("pnsn", "data", "waveform")
    ref = {}
    for line in shared_file("pnsn", "odata", "testrnn.txt").read_text().splitlines():
        if line and not line.startswith("#") and "," in line:
            fields = line.split(",")
            ref[fields[0][0]] = float(fields[1])
    model = load_model(onnx_path, card=CARDS / "pnsn_rnn.json")
    st, errors = read_waveform_files(find_waveform_files([folder]))
    assert not errors
    items, _ = to_waveforms(st, sampling_rate=100.0)
    picks = pick(items, model)
    start = np.datetime64(items[0].starttime.datetime, "ns")
    for phase, t_ref in ref.items():
        rel = (picks.time[picks.phase == phase] - start) / np.timedelta64(1, "ns") / 1e9
        assert rel.size >= 1, f"no {phase} pick"
        assert np.min(np.abs(rel - t_ref)) <= 0.05, (phase, rel, t_ref)
