#!/usr/bin/env python
"""Convert the original PhaseNet weights (TensorFlow variables in an .npz) to ONNX.

The network is the published PhaseNet U-Net (Zhu & Beroza 2019): 2-D
convolutions with kernel [7, 1] over [time, 1].  The graph is built directly
with ``onnx.helper``; batch normalisation (inference mode, moving statistics)
is folded into the convolution weights.  No TensorFlow or PyTorch is needed.

Inside the graph the time axis is the last of a [batch, channel, 1, time]
tensor (convolutions with kernels [1, 7]): ONNX Runtime then runs them with
its blocked NCHWc kernels instead of im2col + GEMM.  The softmax over the
three classes is written out (ReduceMax, Sub, Exp, ReduceSum, Div) on the
[batch, class, time] logits rather than as a Softmax over a non-last axis,
which ONNX Runtime runs through two transposes.  Same arithmetic with sums
reordered: the outputs agree with the former 1-D graph within 2e-7 and with
TensorFlow within 5e-6, at 0.60 instead of 0.81 ms of one core per window
(AMD EPYC Zen 4; bench/RESULTS.md, issue 17).

Usage::

    python tools/convert_phasenet.py \
        --weights ../shared/data/phasenet/phasenet_model95_weights.npz \
        --out python/seiscore/data/models/phasenet/ \
        [--reference ../shared/data/phasenet/phasenet_tf_reference.npz]

Writes ``phasenet.onnx``, the model card ``phasenet.json`` and (if a LICENSE
file lies beside the weights) a copy of the original MIT ``LICENSE``.

Layout of the graph: input ``waveform`` float32 [batch, 3, 3000] (NCW,
channels E, N, Z, each normalised per window: minus mean, divided by std);
output ``probabilities`` float32 [batch, 3, 3000] (classes noise, P, S,
softmax over axis 1).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# Hyper-parameters of the original model (config.log of run 190703-214543).
WINDOW = 3000
N_CHANNEL = 3
N_CLASS = 3
DEPTHS = 5
FILTERS_ROOT = 8
KERNEL = 7
STRIDE = 4  # pool_size [4, 1], applied as stride of a convolution
BN_EPSILON = 1e-3  # default of tf.layers.batch_normalization
OPSET = 17

INPUT_NAME = "waveform"
OUTPUT_NAME = "probabilities"

PROVENANCE = (
    "Original PhaseNet (Zhu & Beroza 2019, Geophys. J. Int. 216(1):261-273; "
    "https://github.com/AI4EPS/PhaseNet), model 190703-214543, epoch 95, "
    "trained on NCEDC data. TensorFlow variables converted to ONNX by "
    "tools/convert_phasenet.py (graph rebuilt with onnx.helper, batch "
    "normalisation folded into the convolutions, TensorFlow 'same' padding "
    "reproduced)."
)
CITATION = (
    "Zhu, W., & Beroza, G. C. (2019). PhaseNet: a deep-neural-network-based "
    "seismic arrival-time picking method. Geophysical Journal International, "
    "216(1), 261-273. https://doi.org/10.1093/gji/ggy423"
)


# ---------------------------------------------------------------------------
# Shape helpers (TensorFlow "same" padding)
# ---------------------------------------------------------------------------


def same_pads(length: int, kernel: int, stride: int) -> tuple[int, int, int]:
    """TF 'same' padding of a forward convolution: (out_len, pad_begin, pad_end).

    TF puts the smaller half at the beginning, the extra sample at the end.
    """
    out = -(-length // stride)  # ceil
    total = max((out - 1) * stride + kernel - length, 0)
    begin = total // 2
    return out, begin, total - begin


def transpose_same_pads(length: int, kernel: int, stride: int) -> tuple[int, int, int]:
    """TF conv2d_transpose with padding 'same': output = length * stride.

    It is the gradient of a 'same' forward convolution on the output length;
    the cropping of the full transposed output equals that convolution's padding.
    """
    out = length * stride
    total = max((length - 1) * stride + kernel - out, 0)
    begin = total // 2
    return out, begin, total - begin


# ---------------------------------------------------------------------------
# Graph builder
# ---------------------------------------------------------------------------


class GraphBuilder:
    def __init__(self, weights: dict[str, np.ndarray], eps: float):
        self.w = weights
        self.eps = eps
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.used: set[str] = set()

    def get(self, name: str) -> np.ndarray:
        self.used.add(name)
        return np.asarray(self.w[name], dtype=np.float64)

    def add_init(self, name: str, arr: np.ndarray, dtype=np.float32) -> str:
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(arr, dtype=dtype), name))
        return name

    def bn_scale_shift(self, prefix: str) -> tuple[np.ndarray, np.ndarray]:
        gamma = self.get(prefix + "__gamma")
        beta = self.get(prefix + "__beta")
        mean = self.get(prefix + "__moving_mean")
        var = self.get(prefix + "__moving_variance")
        scale = gamma / np.sqrt(var + self.eps)
        return scale, beta - mean * scale

    def conv_bn_relu(
        self,
        x: str,
        name: str,
        kernel_var: str,
        bn_prefix: str,
        stride: int,
        pads: tuple[int, int],
        bias_var: str | None = None,
    ) -> str:
        """TF conv2d (kernel [k,1,cin,cout]) + batch norm + ReLU as ONNX Conv+Relu."""
        k = self.get(kernel_var)[:, 0]  # [k, cin, cout]
        w = k.transpose(2, 1, 0)  # ONNX Conv: [cout, cin, k]
        bias = self.get(bias_var) if bias_var else np.zeros(w.shape[0])
        scale, shift = self.bn_scale_shift(bn_prefix)
        w = w * scale[:, None, None]
        b = bias * scale + shift
        wn = self.add_init(name + ".weight", w[:, :, None, :])  # [cout, cin, 1, k]
        bn = self.add_init(name + ".bias", b)
        y = name + ".conv"
        self.nodes.append(
            helper.make_node(
                "Conv",
                [x, wn, bn],
                [y],
                name=name + "/Conv",
                kernel_shape=[1, w.shape[2]],
                strides=[1, stride],
                pads=[0, pads[0], 0, pads[1]],
                dilations=[1, 1],
                group=1,
            )
        )
        out = name + ".relu"
        self.nodes.append(helper.make_node("Relu", [y], [out], name=name + "/Relu"))
        return out

    def convT_bn_relu(
        self, x: str, name: str, kernel_var: str, bn_prefix: str, stride: int, pads: tuple[int, int]
    ) -> str:
        """TF conv2d_transpose (kernel [k,1,cout,cin]) + batch norm + ReLU."""
        k = self.get(kernel_var)[:, 0]  # [k, cout, cin]
        w = k.transpose(2, 1, 0)  # ONNX ConvTranspose: [cin, cout, k]
        scale, shift = self.bn_scale_shift(bn_prefix)
        w = w * scale[None, :, None]
        wn = self.add_init(name + ".weight", w[:, :, None, :])  # [cin, cout, 1, k]
        bn = self.add_init(name + ".bias", shift)
        y = name + ".convT"
        self.nodes.append(
            helper.make_node(
                "ConvTranspose",
                [x, wn, bn],
                [y],
                name=name + "/ConvTranspose",
                kernel_shape=[1, w.shape[2]],
                strides=[1, stride],
                pads=[0, pads[0], 0, pads[1]],
                dilations=[1, 1],
                group=1,
            )
        )
        out = name + ".relu"
        self.nodes.append(helper.make_node("Relu", [y], [out], name=name + "/Relu"))
        return out

    def crop(self, x: str, name: str, start: int, length: int) -> str:
        s = self.add_init(name + ".starts", np.array([start]), np.int64)
        e = self.add_init(name + ".ends", np.array([start + length]), np.int64)
        a = self.add_init(name + ".axes", np.array([3]), np.int64)  # time
        out = name + ".out"
        self.nodes.append(helper.make_node("Slice", [x, s, e, a], [out], name=name + "/Slice"))
        return out


def softmax_over_classes(g: GraphBuilder, logits: str, out: str) -> None:
    """Softmax over axis 1 of [batch, class, time], written out: exp(x - max) / sum."""
    axis_c = g.add_init("axis_c", np.array([1]), np.int64)
    steps = [
        ("ReduceMax", [logits], "softmax.max", {"axes": [1], "keepdims": 1}),
        ("Sub", [logits, "softmax.max"], "softmax.shifted", {}),
        ("Exp", ["softmax.shifted"], "softmax.exp", {}),
        ("ReduceSum", ["softmax.exp", axis_c], "softmax.sum", {"keepdims": 1}),
        ("Div", ["softmax.exp", "softmax.sum"], out, {}),
    ]
    for op, inputs, output, attrs in steps:
        g.nodes.append(helper.make_node(op, inputs, [output], name=f"output/{op}", **attrs))


def build_model(
    weights: dict[str, np.ndarray], eps: float = BN_EPSILON, window: int = WINDOW
) -> onnx.ModelProto:
    g = GraphBuilder(weights, eps)
    length = window

    # [batch, channel, time] -> [batch, channel, 1, time]
    axis_h = g.add_init("axis_h", np.array([2]), np.int64)
    g.nodes.append(
        helper.make_node("Unsqueeze", [INPUT_NAME, axis_h], ["input.4d"], name="input/Unsqueeze")
    )
    # Input block: conv (with bias) + BN + ReLU, "same" padding, stride 1.
    _, pb, pe = same_pads(length, KERNEL, 1)
    net = g.conv_bn_relu(
        "input.4d",
        "input",
        "Input__input_conv__kernel",
        "Input__input_bn",
        1,
        (pb, pe),
        bias_var="Input__input_conv__bias",
    )

    # Down branch.
    skips: list[tuple[str, int]] = []
    for i in range(DEPTHS):
        tag = f"DownConv_{i}__down"
        _, pb, pe = same_pads(length, KERNEL, 1)
        net = g.conv_bn_relu(
            net, f"down{i}.conv1", f"{tag}_conv1_{i + 1}__kernel", f"{tag}_bn1_{i + 1}", 1, (pb, pe)
        )
        skips.append((net, length))
        if i < DEPTHS - 1:
            length, pb, pe = same_pads(length, KERNEL, STRIDE)
            net = g.conv_bn_relu(
                net,
                f"down{i}.conv3",
                f"{tag}_conv3_{i + 1}__kernel",
                f"{tag}_bn3_{i + 1}",
                STRIDE,
                (pb, pe),
            )

    # Up branch: transposed conv (x4), crop to the skip's length, concat
    # [skip, upsampled] on channels, conv.
    for i in range(DEPTHS - 2, -1, -1):
        tag = f"UpConv_{i}__up"
        up_len, pb, pe = transpose_same_pads(length, KERNEL, STRIDE)
        net = g.convT_bn_relu(
            net,
            f"up{i}.conv0",
            f"{tag}_conv0_{i + 1}__kernel",
            f"{tag}_bn0_{i + 1}",
            STRIDE,
            (pb, pe),
        )
        skip, skip_len = skips[i]
        if up_len != skip_len:
            # Centre crop of the upsampled tensor; offset rounds down.
            net = g.crop(net, f"up{i}.crop", (up_len - skip_len) // 2, skip_len)
        cat = f"up{i}.concat"
        g.nodes.append(helper.make_node("Concat", [skip, net], [cat], name=cat + "/Concat", axis=1))
        length = skip_len
        _, pb, pe = same_pads(length, KERNEL, 1)
        net = g.conv_bn_relu(
            cat, f"up{i}.conv1", f"{tag}_conv1_{i + 1}__kernel", f"{tag}_bn1_{i + 1}", 1, (pb, pe)
        )

    # Output: 1x1 conv with bias, softmax over classes.
    k = g.get("Output__output_conv__kernel")[:, 0]  # [1, cin, ncls]
    w = g.add_init("output.weight", k.transpose(2, 1, 0)[:, :, None, :])
    b = g.add_init("output.bias", g.get("Output__output_conv__bias"))
    g.nodes.append(
        helper.make_node(
            "Conv",
            [net, w, b],
            ["logits.4d"],
            name="output/Conv",
            kernel_shape=[1, 1],
            strides=[1, 1],
            pads=[0, 0, 0, 0],
        )
    )
    g.nodes.append(
        helper.make_node("Squeeze", ["logits.4d", axis_h], ["logits"], name="output/Squeeze")
    )
    softmax_over_classes(g, "logits", OUTPUT_NAME)

    unused = set(weights) - g.used
    if unused:
        raise ValueError(f"weights not used by the graph: {sorted(unused)}")

    inp = helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["batch", N_CHANNEL, window])
    out = helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["batch", N_CLASS, window])
    graph = helper.make_graph(g.nodes, "phasenet", [inp], [out], initializer=g.inits)
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="seiscore tools/convert_phasenet.py",
    )
    model.ir_version = 8  # readable by onnxruntime >= 1.10
    model.doc_string = PROVENANCE
    for key, val in (
        ("licence", "MIT"),
        ("citation", CITATION),
        ("input_layout", "NCW"),
        ("channel_order", "E,N,Z"),
        ("labels", "noise,P,S"),
    ):
        entry = model.metadata_props.add()
        entry.key, entry.value = key, val
    onnx.checker.check_model(model, full_check=True)
    return model


def model_card(eps: float, window: int = WINDOW) -> dict:
    return {
        "name": "phasenet",
        "contract": "window",
        "sampling_rate": 100.0,
        "window_length": window,
        "input_name": INPUT_NAME,
        "output_name": OUTPUT_NAME,
        "input_layout": "NCW",
        "input_shape": ["batch", N_CHANNEL, window],
        "output_layout": "NCW",
        "output_shape": ["batch", N_CLASS, window],
        "channel_order": ["E", "N", "Z"],
        "normalisation": "std",
        "labels": ["noise", "P", "S"],
        "recommended": {
            "P": {"height": 0.3, "distance_s": 1.0},
            "S": {"height": 0.3, "distance_s": 1.0},
        },
        "licence": "MIT",
        "provenance": PROVENANCE,
        "citation": CITATION,
        "opset": OPSET,
        "batch_norm_epsilon": eps,
    }


def normalise(wave: np.ndarray) -> np.ndarray:
    """[n, 3000, 3] raw counts -> [n, 3, 3000] per-window, per-channel std-normalised."""
    x = np.asarray(wave, dtype=np.float64)
    x = x - x.mean(axis=1, keepdims=True)
    std = x.std(axis=1, keepdims=True)
    std[std == 0] = 1.0
    return (x / std).astype(np.float32).transpose(0, 2, 1)


def check_reference(model_path: Path, reference: Path) -> tuple[float, float]:
    import onnxruntime as ort

    ref = np.load(reference)
    sess = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    prob = sess.run([OUTPUT_NAME], {INPUT_NAME: normalise(ref["waveform"])})[0]
    diff = np.abs(prob.transpose(0, 2, 1) - ref["prob_tf"])
    return float(diff.max()), float(diff.mean())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--weights", required=True, type=Path, help="phasenet_model95_weights.npz")
    ap.add_argument("--out", required=True, type=Path, help="output folder")
    ap.add_argument("--eps", type=float, default=BN_EPSILON, help="batch-norm epsilon")
    ap.add_argument(
        "--reference",
        type=Path,
        default=None,
        help="optional phasenet_tf_reference.npz to check the result against",
    )
    ap.add_argument(
        "--window",
        type=int,
        default=WINDOW,
        help="samples per window (default 3000, as trained and bundled; other lengths are for "
        "measurements: the probabilities then differ, see bench/RESULTS.md, issue 17)",
    )
    args = ap.parse_args(argv)

    with np.load(args.weights) as data:
        weights = {k: data[k] for k in data.files}
    model = build_model(weights, args.eps, args.window)

    args.out.mkdir(parents=True, exist_ok=True)
    onnx_path = args.out / "phasenet.onnx"
    onnx.save_model(model, str(onnx_path))
    with open(args.out / "phasenet.json", "w", encoding="utf-8") as fh:
        json.dump(model_card(args.eps, args.window), fh, indent=2)
        fh.write("\n")
    licence = args.weights.parent / "LICENSE"
    if licence.is_file():
        shutil.copyfile(licence, args.out / "LICENSE")
    else:
        print(f"warning: no LICENSE beside {args.weights}; copy it by hand", file=sys.stderr)
    print(f"wrote {onnx_path} ({onnx_path.stat().st_size} bytes)")

    if args.reference is not None and args.window == WINDOW:
        mx, mean = check_reference(onnx_path, args.reference)
        print(f"reference check: max abs diff {mx:.3e}, mean abs diff {mean:.3e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
