"""The native convolutional kernel (``_core.picking.convnet``) against a plain NumPy reference of
the ONNX operators on random networks, and PhaseNet through it against ONNX Runtime."""

from __future__ import annotations

import numpy as np
import pytest

from seiscore import _core
from seiscore.exceptions import InputError
from seiscore.models import load_model
from seiscore.models.native import Unsupported, compile_onnx, read_onnx_graph, translate_onnx
from seiscore.models.runtime import MODELS_DIR

from ..conftest import shared_file

PHASENET = MODELS_DIR / "phasenet" / "phasenet.onnx"


# ---- NumPy reference of the ONNX operators (float64) ----------------------------------------


def ref_conv(x, w, b, stride, pl, pr):
    """ONNX Conv over time: x [C, T], w [O, C, K]."""
    c, t = x.shape
    k = w.shape[2]
    xp = np.concatenate([np.zeros((c, pl)), x, np.zeros((c, pr))], axis=1)
    n_out = (t + pl + pr - k) // stride + 1
    y = np.empty((w.shape[0], n_out))
    for j in range(n_out):
        y[:, j] = b + np.einsum("ock,ck->o", w, xp[:, stride * j : stride * j + k])
    return y


def ref_conv_transpose(x, w, b, stride, pl, pr):
    """ONNX ConvTranspose over time (no output padding): x [C, T], w [C, O, K]."""
    c, t = x.shape
    k = w.shape[2]
    full = np.zeros((w.shape[1], (t - 1) * stride + k))
    for i in range(t):
        for kk in range(k):
            full[:, stride * i + kk] += w[:, :, kk].T @ x[:, i]
    return full[:, pl : full.shape[1] - pr] + b[:, None]


def ref_run(x, ops, output):
    """Every window of x [B, C, T] through the ops."""
    out = []
    for window in x.astype(np.float64):
        t = [window]
        for op in ops:
            ins = [t[i] for i in op["inputs"]]
            if op["kind"] in ("conv", "conv_transpose"):
                f = ref_conv if op["kind"] == "conv" else ref_conv_transpose
                y = f(ins[0], op["weight"].astype(np.float64), op["bias"].astype(np.float64),
                      op["stride"], op["pad_left"], op["pad_right"])  # fmt: skip
                if op["relu"]:
                    y = np.maximum(y, 0)
            elif op["kind"] == "concat":
                y = np.concatenate(ins, axis=0)
            elif op["kind"] == "crop":
                y = ins[0][:, op["start"] : op["end"]]
            else:
                e = np.exp(ins[0] - ins[0].max(axis=0))
                y = e / e.sum(axis=0)
            t.append(y)
        out.append(t[output])
    return np.stack(out)


def run_native(x, ops, output):
    net = _core.picking.convnet(x.shape[1], x.shape[2], ops, output)
    y = np.full((x.shape[0], net.out_channels, net.out_length), np.nan, np.float32)
    _core.picking.convnet_run(net, np.ascontiguousarray(x, np.float32), y)
    return y


def conv_op(rng, kind, cin, cout, k, stride, pl, pr, relu, inputs):
    shape = (cout, cin, k) if kind == "conv" else (cin, cout, k)
    return {
        "kind": kind,
        "inputs": inputs,
        "weight": (rng.standard_normal(shape) / np.sqrt(cin * k)).astype(np.float32),
        "bias": rng.standard_normal(cout).astype(np.float32) * 0.1,
        "stride": stride,
        "pad_left": pl,
        "pad_right": pr,
        "relu": relu,
    }


@pytest.mark.parametrize("seed", range(40))
def test_single_convolution_matches_numpy(seed):
    rng = np.random.default_rng(seed)
    kind = "conv" if seed % 2 == 0 else "conv_transpose"
    k = int(rng.integers(1, 10))
    stride = int(rng.integers(1, 6))
    pl, pr = (int(v) for v in rng.integers(0, k, 2))
    cin, cout = (int(v) for v in rng.integers(1, 21, 2))
    length = int(rng.choice([1, 5, 12, 17, 47, 48, 64, 100, 129, 301]))
    if kind == "conv" and length + pl + pr < k:
        length = k
    if kind == "conv_transpose" and (length - 1) * stride + k <= pl + pr:
        length = 3
    op = conv_op(rng, kind, cin, cout, k, stride, pl, pr, bool(seed % 3), [0])
    op["output"] = 1
    x = rng.standard_normal((2, cin, length)).astype(np.float32)
    got = run_native(x, [op], 1)
    want = ref_run(x, [op], 1)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=2e-5)


@pytest.mark.parametrize("seed", range(6))
def test_random_unet_matches_numpy(seed):
    """Down (strided) and up (transposed) paths with crops, skip concatenations and a softmax,
    as in PhaseNet, with random sizes."""
    rng = np.random.default_rng(100 + seed)
    c0 = int(rng.integers(1, 5))
    length = int(rng.integers(40, 400))
    ch = [int(v) for v in rng.integers(2, 19, 3)]
    ops = []

    def add(op):
        op["output"] = len(ops) + 1
        ops.append(op)
        return op["output"]

    a = add(conv_op(rng, "conv", c0, ch[0], 7, 1, 3, 3, True, [0]))
    d = add(conv_op(rng, "conv", ch[0], ch[1], 7, 4, 1, 2, True, [a]))
    d2 = add(conv_op(rng, "conv", ch[1], ch[2], 5, 1, 2, 2, True, [d]))
    n_down = (length + 3 - 7) // 4 + 1
    u = add(conv_op(rng, "conv_transpose", ch[2], ch[0], 7, 4, 1, 2, True, [d2]))
    n_up = 4 * n_down
    if n_up > length:
        u = add({"kind": "crop", "inputs": [u], "start": 0, "end": length})
    elif n_up < length:
        a = add({"kind": "crop", "inputs": [a], "start": 0, "end": n_up})
    cat = add({"kind": "concat", "inputs": [a, u]})
    y = add(conv_op(rng, "conv", 2 * ch[0], ch[0], 7, 1, 3, 3, True, [cat]))
    logits = add(conv_op(rng, "conv", ch[0], 3, 1, 1, 0, 0, False, [y]))
    out = add({"kind": "softmax", "inputs": [logits]})
    x = (rng.standard_normal((3, c0, length)) * 5).astype(np.float32)
    got = run_native(x, ops, out)
    want = ref_run(x, ops, out)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-5)
    # a batch gives each window what it gives alone (no state between windows)
    np.testing.assert_array_equal(run_native(x[1:2], ops, out)[0], got[1])


def test_softmax_extremes_and_nan():
    ops = [{"kind": "softmax", "inputs": [0], "output": 1}]
    x = np.array(
        [[[0.0, 100.0, -100.0, np.nan, 88.0, 1e-3]] * 2 + [[0.0, -100.0, 100.0, 0.0, -88.0, 0.0]]]
    )
    got = run_native(x.astype(np.float32), ops, 1)
    with np.errstate(invalid="ignore"):
        want = ref_run(x, ops, 1)
    np.testing.assert_allclose(
        got[..., [0, 1, 2, 4, 5]], want[..., [0, 1, 2, 4, 5]], rtol=1e-6, atol=1e-7
    )
    assert np.isnan(got[0, :2, 3]).all()


def test_phasenet_native_equals_onnxruntime_on_reference_windows():
    ref = np.load(shared_file("phasenet", "phasenet_tf_reference.npz"))
    x = np.ascontiguousarray(ref["waveform"].transpose(0, 2, 1), np.float32)  # [154, 3, 3000]
    x = x - x.mean(axis=2, keepdims=True)
    x = x / np.maximum(x.std(axis=2, keepdims=True), 1e-10)
    native = load_model("phasenet", threads=1)
    ort = load_model("phasenet", threads=1, engine="onnxruntime")
    assert (native.engine, ort.engine) == ("native", "onnxruntime")
    a = native.run(x)[0]
    b = ort.run(x)[0]
    assert np.abs(a - b).max() < 1e-5
    y = np.empty_like(a[:8])
    native.run_into(np.ascontiguousarray(x[:8]), y)
    np.testing.assert_array_equal(y, a[:8])


def test_int8_and_attention_models_fall_back_to_onnxruntime():
    fast = load_model("phasenet", precision="int8")
    assert fast.engine == "onnxruntime"
    assert "QuantizeLinear" in fast.engine_note or "DequantizeLinear" in fast.engine_note
    with pytest.raises(InputError, match="native engine cannot run"):
        load_model("phasenet", precision="int8", engine="native")
    seist = load_model("seist")  # depthwise (grouped) convolutions and attention
    assert seist.engine == "onnxruntime"
    assert "grouped convolution" in seist.engine_note
    with pytest.raises(InputError, match="engine"):
        load_model("phasenet", engine="tensorflow")


def test_onnx_reader_agrees_with_the_onnx_package():
    onnx = pytest.importorskip("onnx")
    from onnx import numpy_helper

    model = onnx.load(str(PHASENET))
    g = read_onnx_graph(PHASENET)
    assert [n["op"] for n in g["nodes"]] == [n.op_type for n in model.graph.node]
    assert [n["inputs"] for n in g["nodes"]] == [list(n.input) for n in model.graph.node]
    for init in model.graph.initializer:
        np.testing.assert_array_equal(g["initializers"][init.name], numpy_helper.to_array(init))
    assert g["inputs"][0][0] == "waveform"
    assert g["inputs"][0][1][1:] == [3, 3000]


def test_bad_networks_are_refused_with_the_op_named():
    rng = np.random.default_rng(0)
    good = conv_op(rng, "conv", 3, 4, 7, 1, 3, 3, True, [0])
    good["output"] = 1
    bad_channels = dict(good, weight=np.zeros((4, 2, 7), np.float32))
    with pytest.raises(ValueError, match=r"op 0: in_channels 2 but the input has 3"):
        _core.picking.convnet(3, 100, [bad_channels], 1)
    with pytest.raises(ValueError, match=r"ops\[0\]: missing key 'stride'"):
        _core.picking.convnet(3, 100, [{k: v for k, v in good.items() if k != "stride"}], 1)
    with pytest.raises(ValueError, match="op 0: input tensor 5 is not defined"):
        _core.picking.convnet(3, 100, [dict(good, inputs=[5])], 1)
    with pytest.raises(ValueError, match="crop"):
        _core.picking.convnet(
            3, 100, [{"kind": "crop", "inputs": [0], "output": 1, "start": 0, "end": 101}], 1
        )
    with pytest.raises(ValueError, match="kind"):
        _core.picking.convnet(3, 100, [{"kind": "lstm", "inputs": [0], "output": 1}], 1)
    net = _core.picking.convnet(3, 100, [good], 1)
    with pytest.raises(ValueError, match=r"x: expected \[batch, 3, 100\]"):
        _core.picking.convnet_run(
            net, np.zeros((1, 3, 99), np.float32), np.zeros((1, 4, 99), np.float32)
        )
    with pytest.raises(ValueError, match="y: expected shape"):
        _core.picking.convnet_run(
            net, np.zeros((1, 3, 100), np.float32), np.zeros((1, 4, 99), np.float32)
        )


def test_translation_refuses_what_it_cannot_run(tmp_path):
    with pytest.raises(Unsupported, match="not computed"):
        compile_onnx(PHASENET, "waveform", "no_such_output")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x0a\xff")
    with pytest.raises(Unsupported, match="cannot read"):
        translate_onnx(bad, "waveform", "probabilities")


def test_a_compiled_network_pickles():
    """A ConvNet crosses process boundaries (Dask workers) and comes back the same."""
    import pickle

    net = load_model("phasenet", threads=1)._native
    again = pickle.loads(pickle.dumps(net))
    x = np.random.default_rng(3).standard_normal((2, 3, 3000)).astype(np.float32)
    a, b = np.empty_like(x), np.empty_like(x)
    _core.picking.convnet_run(net, x, a)
    _core.picking.convnet_run(again, x, b)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("isa", ["avx2", "baseline"])
def test_every_instruction_set_gives_the_same_network(isa, tmp_path):
    """The loops are compiled once per instruction set; the narrower ones (which this CPU may
    not pick by itself) give PhaseNet's probabilities too."""
    import subprocess
    import sys

    x = np.random.default_rng(5).standard_normal((3, 3, 3000)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    code = (
        "import sys, numpy as np\n"
        "from seiscore.models import load_model\n"
        "m = load_model('phasenet', threads=1, engine='native')\n"
        "x = np.load(sys.argv[1])\n"
        "np.save(sys.argv[2], m.run(x)[0])\n"
        "print(m._native.isa)\n"
    )
    env = dict(__import__("os").environ, SEISCORE_CONVNET_ISA=isa)
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "x.npy"), str(tmp_path / "y.npy")],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    used = out.stdout.strip()
    assert used in (isa, "baseline")  # never wider than asked
    want = load_model("phasenet", threads=1, engine="onnxruntime").run(x)[0]
    assert np.abs(np.load(tmp_path / "y.npy") - want).max() < 1e-5


def test_a_network_too_large_for_memory_is_refused_before_running():
    rng = np.random.default_rng(0)
    wide = conv_op(rng, "conv", 1, 4096, 1, 1, 0, 0, False, [0])
    wide["output"] = 1
    with pytest.raises(ValueError, match="MiB of scratch per window"):
        _core.picking.convnet(1, 1 << 20, [wide], 1)
