"""The SeisT network (Li et al. 2023) as an ONNX graph, built from a checkpoint's weights.

SeisT ("Seismogram Transformer", IEEE TGRS 2024, doi:10.1109/TGRS.2024.3371503, MIT) is one
backbone with five heads. This module writes the network down from the paper's description and
the names and shapes of the published checkpoints (read with :mod:`.pth`, no PyTorch), in
``onnx.helper`` nodes (``onnx`` is imported when a graph is built: the ``convert`` extra).

Input ``waveform[batch, 3, 8192]`` (channels Z, N, E at 50 Hz, each window and channel demeaned
and divided by its standard deviation). The backbone, all 1-D over time:

* **stem**: four blocks; each runs three depthwise-separable convolutions side by side (a 1×1
  convolution, a depthwise convolution of kernel ``k``, ``k + 4`` or ``k + 8`` with "same"
  zero padding and the block's stride, a 1×1 convolution, batch norm, GELU), concatenates them
  and mixes them with a 1×1 convolution and batch norm. Strides 2, 1, 1, 2: 8192 → 2048.
* **four stages**, each: an aggregation (average pool + max pool of size 2, 1×1 convolution,
  batch norm: the length halves), then blocks of two kinds, the last ones attention blocks:

  - *multi-scale mixed convolution*: per kernel size a 1×1 projection to a slice of the channels
    with batch norm, plus a residual grouped-convolution block on it (grouped convolution,
    batch norm, GELU, 1×1 convolution, residual; batch norm, MLP, residual); the slices are
    concatenated and batch-normed;
  - *multi-path transformer*: a projection to the attention channels (multi-head attention
    whose keys and values come from a pooled copy of the sequence, average + max pool by the
    stage's ratio 8, 4, 2 or 1, with a 1×1 convolution and batch norm) and one to the
    convolution channels (a residual grouped-convolution block of kernel 3), concatenated,
    batch-normed, then a residual MLP.

* **heads**: ``dpk`` (detection, P, S) upsamples back to 8192 samples in six linear
  interpolation + convolution + batch norm + GELU steps, then a convolution and a sigmoid per
  channel; ``pmp`` (P polarity) averages over time, then a linear layer and a softmax over
  (up, down); ``emg``, ``baz``, ``dis`` average over time, then a linear layer and a sigmoid
  scaled to 0–8 (magnitude), 0–360 (back-azimuth, degrees) or 0–500 (epicentral distance, km).

Every layer's channels, kernel sizes, group counts and block kinds are read from the weight
shapes and names; what shapes do not hold (strides, pooling ratios, attention head widths, the
heads' output scales) is in the tables below, per size ``s``/``m``/``l``. Dropout and drop-path
are identities at inference; batch norm uses its running statistics (epsilon 1e-5).
"""

from __future__ import annotations

import math
import re

import numpy as np

from ..exceptions import InputError

__all__ = ["SEIST_TASKS", "SeistSpec", "build_seist", "parse_checkpoint_name", "seist_card"]

WINDOW = 8192
SAMPLING_RATE = 50.0
IN_CHANNELS = 3
OPSET = 17
BN_EPSILON = 1e-5
INPUT_NAME = "waveform"

# What the weights do not say: attention head width per stage, by size; shared constants.
HEAD_DIMS = {"s": (8, 8, 8, 16), "m": (8, 8, 16, 32), "l": (8, 8, 16, 32)}
STEM_STRIDES = (2, 1, 1, 2)
STAGE_AGGREGATION = 2
ATTENTION_AGGREGATION = (8, 4, 2, 1)

# task → (output name, output labels, kind, scale of the sigmoid for values)
SEIST_TASKS = {
    "dpk": ("prob", ("detection", "P", "S"), "traces", None),
    "pmp": ("prob", ("up", "down"), "classes", None),
    "emg": ("value", ("magnitude",), "values", 8.0),
    "baz": ("value", ("back_azimuth",), "values", 360.0),
    "dis": ("value", ("distance",), "values", 500.0),
}


class SeistSpec:
    """Size, task and training set of a checkpoint, from its name
    ``seist_<size>_<task>_<dataset>``."""

    def __init__(self, size: str, task: str, dataset: str):
        if size not in HEAD_DIMS:
            raise InputError(f"SeisT size must be one of {sorted(HEAD_DIMS)}, got {size!r}")
        if task not in SEIST_TASKS:
            raise InputError(f"SeisT task must be one of {sorted(SEIST_TASKS)}, got {task!r}")
        self.size, self.task, self.dataset = size, task, dataset

    @property
    def name(self) -> str:
        return f"seist_{self.size}_{self.task}_{self.dataset}"

    @property
    def output_name(self) -> str:
        return SEIST_TASKS[self.task][0]

    @property
    def labels(self) -> tuple[str, ...]:
        return SEIST_TASKS[self.task][1]


def parse_checkpoint_name(name: str) -> SeistSpec:
    """``seist_m_dpk_diting(.pth)`` → its :class:`SeistSpec`."""
    stem = re.sub(r"\.(pth|pt)$", "", str(name).rsplit("/", 1)[-1])
    m = re.fullmatch(r"seist_([sml])_([a-z]+)_([a-z0-9]+)", stem)
    if not m:
        raise InputError(f"{name}: not a SeisT checkpoint name (seist_<size>_<task>_<dataset>)")
    return SeistSpec(*m.groups())


class _Graph:
    """ONNX nodes and initialisers, with the sequence length tracked beside each tensor."""

    def __init__(self, weights: dict[str, np.ndarray]):
        from onnx import helper, numpy_helper

        self.helper, self.numpy_helper = helper, numpy_helper
        self.w = weights
        self.used: set[str] = set()
        self.nodes: list = []
        self.inits: list = []
        self._count = 0

    def has(self, key: str) -> bool:
        return key in self.w

    def param(self, key: str) -> np.ndarray:
        if key not in self.w:
            raise InputError(f"the checkpoint has no weight {key!r}")
        self.used.add(key)
        return self.w[key]

    def const(self, arr: np.ndarray, hint: str) -> str:
        self._count += 1
        name = f"{hint}#{self._count}"
        self.inits.append(self.numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def op(self, op_type: str, inputs: list[str], hint: str = "", **attrs) -> str:
        self._count += 1
        out = f"{hint or op_type}/{op_type}#{self._count}"
        self.nodes.append(
            self.helper.make_node(op_type, inputs, [out], name=out.replace("#", "_"), **attrs)
        )
        return out

    # -- layers ------------------------------------------------------------------------------

    def conv(self, x: str, key: str, stride: int = 1, pads=(0, 0), group: int = 1) -> str:
        """``key.weight`` [out, in/group, k] (and ``key.bias`` when the checkpoint has one)."""
        w = self.param(f"{key}.weight").astype(np.float32)
        inputs = [x, self.const(w, f"{key}.weight")]
        if self.has(f"{key}.bias"):
            inputs.append(self.const(self.param(f"{key}.bias").astype(np.float32), f"{key}.bias"))
        return self.op(
            "Conv",
            inputs,
            key,
            kernel_shape=[int(w.shape[2])],
            strides=[stride],
            pads=[int(pads[0]), int(pads[1])],
            group=group,
        )

    def same_conv(self, x: str, key: str, length: int, stride: int = 1, in_ch: int = 0):
        """A convolution after SeisT's "same" zero padding (output length ``ceil(L / stride)``;
        the odd sample of padding goes to the end); grouped when the weight says so. Returns
        (tensor, new length)."""
        w = self.w[f"{key}.weight"]
        k = int(w.shape[2])
        if k < stride:
            raise InputError(f"{key}: kernel {k} shorter than its stride {stride}")
        total = (stride - length % stride) % stride + k - stride
        group = in_ch // int(w.shape[1]) if in_ch else 1
        y = self.conv(x, key, stride, (total // 2, total - total // 2), group)
        return y, -(-length // stride)

    def bn(self, x: str, key: str) -> str:
        names = [
            self.const(self.param(f"{key}.{p}").astype(np.float32), f"{key}.{p}")
            for p in ("weight", "bias", "running_mean", "running_var")
        ]
        self.used.add(f"{key}.num_batches_tracked")
        return self.op("BatchNormalization", [x, *names], key, epsilon=BN_EPSILON)

    def gelu(self, x: str) -> str:
        """The exact GELU, ``x · ½(1 + erf(x / √2))``."""
        inv = self.const(np.array(1.0 / math.sqrt(2.0), np.float32), "gelu.inv_sqrt2")
        one = self.const(np.array(1.0, np.float32), "gelu.one")
        half = self.const(np.array(0.5, np.float32), "gelu.half")
        e = self.op("Erf", [self.op("Mul", [x, inv])])
        return self.op("Mul", [self.op("Mul", [x, half]), self.op("Add", [e, one])])

    def add(self, a: str, b: str) -> str:
        return self.op("Add", [a, b])

    def concat(self, parts: list[str]) -> str:
        return parts[0] if len(parts) == 1 else self.op("Concat", parts, axis=1)

    def pool_sum(self, x: str, ratio: int, length: int) -> tuple[str, int]:
        """Average pool + max pool of size and stride ``ratio`` (lengths divide exactly here)."""
        if length % ratio:
            raise InputError(f"pooling {length} samples by {ratio} leaves a partial window")
        attrs = {"kernel_shape": [ratio], "strides": [ratio]}
        avg = self.op("AveragePool", [x], **attrs)
        mx = self.op("MaxPool", [x], **attrs)
        return self.add(avg, mx), length // ratio

    def mlp(self, x: str, key: str) -> str:
        return self.conv(self.gelu(self.conv(x, f"{key}.lin0")), f"{key}.lin1")


def _channels(g: _Graph, key: str) -> int:
    """Output channels of the convolution ``key``."""
    return int(g.w[f"{key}.weight"].shape[0])


def _stem(g: _Graph, x: str, length: int) -> tuple[str, int]:
    """The four stem blocks."""
    in_ch = IN_CHANNELS
    for i, stride in enumerate(STEM_STRIDES):
        paths = []
        for j in range(3):
            key = f"stem.{i}.convs.{j}"
            y = g.conv(x, f"{key}.in_proj")
            y, out_len = g.same_conv(y, f"{key}.dconv", length, stride, in_ch)
            y = g.gelu(g.bn(g.conv(y, f"{key}.pconv"), f"{key}.norm"))
            paths.append(y)
        x = g.bn(g.conv(g.concat(paths), f"stem.{i}.out_proj"), f"stem.{i}.norm")
        length, in_ch = out_len, _channels(g, f"stem.{i}.out_proj")
    return x, length


def _aggregate(g: _Graph, x: str, key: str, ratio: int, length: int) -> tuple[str, int]:
    """Local-aware aggregation: pooled sum, 1×1 convolution, batch norm."""
    if ratio > 1:
        x, length = g.pool_sum(x, ratio, length)
    return g.bn(g.conv(x, f"{key}.proj"), f"{key}.norm"), length


def _group_conv_block(g: _Graph, x: str, key: str, length: int) -> str:
    """Residual grouped convolution (conv, BN, GELU, 1×1) then residual BN + MLP."""
    ch = _channels(g, f"{key}.conv")
    y, _ = g.same_conv(x, f"{key}.conv", length, 1, ch)
    y = g.conv(g.gelu(g.bn(y, f"{key}.norm0")), f"{key}.proj")
    x = g.add(x, y)
    return g.add(x, g.mlp(g.bn(x, f"{key}.norm1"), f"{key}.mlp"))


def _mixed_conv(g: _Graph, x: str, key: str, length: int) -> str:
    """Multi-scale mixed convolution: one projected slice per kernel size, each plus its
    grouped-convolution block, concatenated and batch-normed."""
    parts = []
    j = 0
    while g.has(f"{key}.projs.{j}.weight"):
        y = g.bn(g.conv(x, f"{key}.projs.{j}"), f"{key}.norms.{j}")
        parts.append(g.add(y, _group_conv_block(g, y, f"{key}.convs.{j}", length)))
        j += 1
    if not parts:
        raise InputError(f"{key}: no projections in the checkpoint")
    return g.bn(g.concat(parts), f"{key}.out_norm")


def _attention(g: _Graph, x: str, key: str, head_dim: int, ratio: int, length: int) -> str:
    """Multi-head attention; keys and values from the sequence pooled by ``ratio``."""
    channels = _channels(g, f"{key}.q_proj")
    heads = channels // head_dim
    if heads * head_dim != channels:
        raise InputError(f"{key}: {channels} channels do not split into heads of {head_dim}")
    split = g.const(np.array([0, heads, head_dim, -1], np.int64), "heads.shape")
    q = g.op("Reshape", [g.conv(x, f"{key}.q_proj"), split])
    if g.has(f"{key}.aggr.proj.weight"):
        x, _ = _aggregate(g, x, f"{key}.aggr", ratio, length)
        x = g.bn(x, f"{key}.norm")
    k = g.op("Reshape", [g.conv(x, f"{key}.k_proj"), split])
    v = g.op("Reshape", [g.conv(x, f"{key}.v_proj"), split])
    scale = g.const(np.array(math.sqrt(head_dim), np.float32), "attention.sqrt_dim")
    q = g.op("Transpose", [g.op("Div", [q, scale])], perm=[0, 1, 3, 2])  # [N, H, L, E]
    attn = g.op("Softmax", [g.op("MatMul", [q, k])], axis=-1)  # [N, H, L, Lk]
    vt = g.op("Transpose", [v], perm=[0, 1, 3, 2])  # [N, H, Lk, E]
    y = g.op("Transpose", [g.op("MatMul", [attn, vt])], perm=[0, 1, 3, 2])  # [N, H, E, L]
    merge = g.const(np.array([0, channels, -1], np.int64), "heads.merge")
    return g.conv(g.op("Reshape", [y, merge]), f"{key}.out_proj")


def _transformer(g: _Graph, x: str, key: str, head_dim: int, ratio: int, length: int) -> str:
    """Multi-path transformer layer: an attention path and (when the weights have one) a
    grouped-convolution path, concatenated and batch-normed, then a residual MLP."""
    parts = []
    if g.has(f"{key}.attn_proj.weight"):
        y = g.bn(g.conv(x, f"{key}.attn_proj"), f"{key}.norm0")
        parts.append(g.add(y, _attention(g, y, f"{key}.attention", head_dim, ratio, length)))
    if g.has(f"{key}.conv_proj.weight"):
        y = g.bn(g.conv(x, f"{key}.conv_proj"), f"{key}.norm1")
        parts.append(g.add(y, _group_conv_block(g, y, f"{key}.gconv", length)))
    x = g.bn(g.concat(parts), f"{key}.norm2")
    return g.add(x, g.mlp(x, f"{key}.mlp"))


def _encoder(g: _Graph, x: str, size: str, length: int) -> tuple[str, int]:
    """The four stages: aggregation, then mixed-convolution and transformer blocks."""
    for i in range(len(ATTENTION_AGGREGATION)):
        x, length = _aggregate(g, x, f"encoder_layers.{i}.0", STAGE_AGGREGATION, length)
        j = 1
        while any(k.startswith(f"encoder_layers.{i}.{j}.") for k in g.w):
            key = f"encoder_layers.{i}.{j}"
            if g.has(f"{key}.mlp.lin0.weight"):
                x = _transformer(g, x, key, HEAD_DIMS[size][i], ATTENTION_AGGREGATION[i], length)
            else:
                x = _mixed_conv(g, x, key, length)
            j += 1
    return x, length


def linear_upsampling(n_in: int, n_out: int) -> tuple[np.ndarray, ...]:
    """Indices and weights of 1-D linear interpolation from ``n_in`` to ``n_out`` samples with
    half-pixel centres (PyTorch ``interpolate(mode="linear", align_corners=False)``), computed
    in float32 as that is: ``y[j] = w0[j] · x[i0[j]] + w1[j] · x[i1[j]]``."""
    scale = np.float32(n_in) / np.float32(n_out)
    src = scale * (np.arange(n_out, dtype=np.float32) + np.float32(0.5)) - np.float32(0.5)
    src = np.maximum(src, np.float32(0.0))
    i0 = np.floor(src).astype(np.int64)
    w1 = np.clip(src - i0.astype(np.float32), 0.0, 1.0).astype(np.float32)
    i1 = np.where(i0 < n_in - 1, i0 + 1, i0)
    return i0, i1, (np.float32(1.0) - w1).astype(np.float32), w1


def _upsampling_sizes(n_in: int, n_out: int, depth: int) -> list[int]:
    """Lengths after each of ``depth`` upsampling steps: a constant factor, rounded down from
    the end (the last is ``n_out``)."""
    sizes = [n_out] * depth
    factor = (n_out / n_in) ** (1 / depth)
    for i in range(depth - 2, -1, -1):
        sizes[i] = int(sizes[i + 1] / factor)
    return sizes


def _picking_head(g: _Graph, x: str, length: int) -> str:
    """Detection and picking head: upsample back to the window, convolve, sigmoid."""
    depth = 0
    while g.has(f"out_head.up_layers.{depth}.conv.weight"):
        depth += 1
    for i, size in enumerate(_upsampling_sizes(length, WINDOW, depth)):
        i0, i1, w0, w1 = linear_upsampling(length, size)
        a = g.op("Gather", [x, g.const(i0, "up.i0")], axis=2)
        b = g.op("Gather", [x, g.const(i1, "up.i1")], axis=2)
        x = g.add(g.op("Mul", [a, g.const(w0, "up.w0")]), g.op("Mul", [b, g.const(w1, "up.w1")]))
        key = f"out_head.up_layers.{i}"
        x, length = g.same_conv(x, f"{key}.conv", size)
        x = g.gelu(g.bn(x, f"{key}.norm"))
    k = int(g.w["out_head.out_conv.weight"].shape[2])
    x = g.conv(x, "out_head.out_conv", 1, (k // 2, k // 2))
    return g.op("Sigmoid", [x])


def _pooled_head(g: _Graph, x: str, task: str) -> str:
    """Classification / regression head: mean over time, linear, softmax or scaled sigmoid."""
    x = g.op("ReduceMean", [x], axes=[2], keepdims=0)
    w = g.const(g.param("out_head.lin.weight").astype(np.float32), "lin.weight")
    b = g.const(g.param("out_head.lin.bias").astype(np.float32), "lin.bias")
    x = g.op("Gemm", [x, w, b], transB=1)
    scale = SEIST_TASKS[task][3]
    if scale is None:
        return g.op("Softmax", [x], axis=-1)
    return g.op("Mul", [g.op("Sigmoid", [x]), g.const(np.array(scale, np.float32), "scale")])


def build_seist(
    weights: dict[str, np.ndarray], spec: SeistSpec, *, doc: str = "", window: int = WINDOW
):
    """The ONNX model (``onnx.ModelProto``) of one SeisT checkpoint.

    ``weights``: the state dict (from :func:`seiscore.models.pth.read_state_dict`); ``spec``:
    size and task. Input ``waveform[batch, 3, 8192]``; output ``prob[batch, 3, 8192]``
    (``dpk``: detection, P, S), ``prob[batch, 2]`` (``pmp``: up, down) or
    ``value[batch, 1]``. Raises :class:`~seiscore.InputError` when a weight the graph needs
    is missing or one in the checkpoint is left unused.
    """
    import onnx
    from onnx import TensorProto, helper

    g = _Graph(weights)
    x, length = _stem(g, INPUT_NAME, window)
    x, length = _encoder(g, x, spec.size, length)
    y = _picking_head(g, x, length) if spec.task == "dpk" else _pooled_head(g, x, spec.task)
    g.nodes.append(helper.make_node("Identity", [y], [spec.output_name], name="output"))
    unused = sorted(k for k in weights if k not in g.used)
    if unused:
        raise InputError(f"{spec.name}: weights the graph does not use: {unused[:8]}")
    shape = ["batch", 3, WINDOW] if spec.task == "dpk" else ["batch", len(spec.labels)]
    graph = helper.make_graph(
        g.nodes,
        spec.name,
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["batch", 3, window])],
        [helper.make_tensor_value_info(spec.output_name, TensorProto.FLOAT, shape)],
        initializer=g.inits,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="seiscore.models.seist",
    )
    model.ir_version = 8  # readable by onnxruntime >= 1.10
    model.doc_string = doc or spec.name
    onnx.checker.check_model(model, full_check=True)
    return model


# -- model cards ------------------------------------------------------------------------------

CITATION = (
    "Li, S., Yang, X., Cao, A., Wang, C., Liu, Y., Liu, Y., & Niu, Q. (2024). SeisT: A "
    "foundational deep-learning model for earthquake monitoring tasks. IEEE Transactions on "
    "Geoscience and Remote Sensing, 62, 1-15. https://doi.org/10.1109/TGRS.2024.3371503"
)
NOTE = (
    "The authors' note (senli1073/SeisT README): these weights were trained for the paper's "
    "evaluation, on the DiTing dataset (China, 50 Hz; the emg_pnw weights on PNW, the Pacific "
    "Northwest); for operational use the authors recommend retraining SeisT on larger data "
    "that fit the task."
)
#: Sample of the 8192-sample window that holds the P pick for the single-value heads. The
#: training code (training/preprocess.py, default p_position_ratio -1) cuts each DiTing record
#: at a random start between 0 and (record length - 8192) - 0.5 s, so P lay 14-30 s into the
#: training windows if the records hold P about 30 s after their start (an assumption here);
#: seiscore cuts with P at 22 s. The outputs change little with it: on X1.53085, magnitude
#: 3.65-3.96 and distance 213.6-216.4 km for P anywhere between 1 s and 80 s.
P_POSITION = 1100
#: Class probability below which the polarity is "undecidable".
POLARITY_MIN_PROBABILITY = 0.7

_TASK_CARDS = {
    "pmp": {"task": "polarity", "output_kind": "classes"},
    "emg": {"task": "magnitude", "output_kind": "values", "units": {"magnitude": ""}},
    "baz": {"task": "back_azimuth", "output_kind": "values", "units": {"back_azimuth": "deg"}},
    "dis": {"task": "distance", "output_kind": "values", "units": {"distance": "km"}},
}


def seist_card(spec: SeistSpec, name: str, checkpoint_sha256: str = "") -> dict:
    """The model card (a JSON-ready dict) of one converted SeisT checkpoint."""
    provenance = (
        f"SeisT checkpoint {spec.name}.pth (senli1073/SeisT, commit 3a1ebdd, MIT), "
        f"size {spec.size}, trained on {'PNW' if spec.dataset == 'pnw' else 'DiTing'}; "
        "converted to ONNX by tools/convert_seist.py (graph written with onnx.helper from "
        "the paper and the weights' names and shapes, checkpoint read without PyTorch)"
        + (f"; checkpoint sha256 {checkpoint_sha256}" if checkpoint_sha256 else "")
    )
    card = {
        "name": name,
        "sampling_rate": SAMPLING_RATE,
        "window_length": WINDOW,
        "input_name": INPUT_NAME,
        "output_name": spec.output_name,
        "input_layout": "NCW",
        "input_shape": ["batch", IN_CHANNELS, WINDOW],
        "channel_order": ["Z", "N", "E"],
        "normalisation": "std",
        "resampling": "to 50 Hz with an anti-alias filter (seiscore.io.to_waveforms); the "
        "DiTing training records are 50 Hz",
        "labels": list(spec.labels),
        "licence": "MIT",
        "licence_file": "LICENSE",
        "provenance": provenance,
        "citation": CITATION,
        "note": NOTE,
        "size": spec.size,
        "checkpoint": spec.name,
        "opset": OPSET,
    }
    if spec.task == "dpk":
        card.update(
            contract="window",
            phases={"P": "P", "S": "S"},
            traces=["detection"],
            output_shape=["batch", 3, WINDOW],
            recommended={
                "P": {"height": 0.3, "distance_s": 1.0},
                "S": {"height": 0.3, "distance_s": 1.0},
            },
        )
        return card
    card.update(contract="single", p_position=P_POSITION, **_TASK_CARDS[spec.task])
    card["p_position_note"] = (
        "the training code cut 8192-sample windows from DiTing records at a random start up to "
        "(record length - 8192) - 0.5 s, so P lay about 14-30 s into them (assuming DiTing "
        "records hold P about 30 s after their start); seiscore puts P at 22 s (sample 1100). "
        "On X1.53085 magnitude and distance move by up to 0.31 and 2.8 km for P between 1 s "
        "and 80 s"
    )
    card["output_shape"] = ["batch", len(spec.labels)]
    if spec.task == "pmp":
        card["min_probability"] = POLARITY_MIN_PROBABILITY
        card["polarity_note"] = (
            "on the 18 reference windows (events and Gaussian noise alike) the published pmp "
            "weights answer 0.55-0.64 'up', and flipping the input's sign moves that by < 0.06: "
            "below min_probability the polarity is 'undecidable'"
        )
    if spec.task == "emg":
        card["magnitude_type"] = "Mdl"
        card["magnitude_note"] = (
            "event magnitude from one station; DiTing's training magnitudes are ML (Ms and mb "
            "converted to ML)"
            if spec.dataset == "diting"
            else "event magnitude from one station; trained on PNW catalogue magnitudes"
        )
    return card
