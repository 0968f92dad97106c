"""Run a 1-D convolutional picker (PhaseNet and its fine-tuned copies) in seiscore's own C++
kernel instead of ONNX Runtime, from the same ONNX file.

:func:`compile_onnx` reads the ONNX graph (a small protobuf reader below: the ``onnx`` package
is not a runtime dependency) and translates it into the operations of
``seiscore._core.picking.ConvNet``: Conv and ConvTranspose over the time axis (bias, stride,
pads; a Relu that follows is fused), Concat over channels, Slice over time, and a softmax over
channels (a Softmax node, or the ReduceMax / Sub / Exp / ReduceSum / Div sequence that
``tools/convert_phasenet.py`` writes), with Unsqueeze / Squeeze of a unit height axis. A graph
with anything else (attention, quantised operators, dilations, groups...) is refused with the
reason (:class:`Unsupported`) and the model runs in ONNX Runtime as before.

Why: PhaseNet's 3-32-channel convolutions are too small for a general engine; the kernel
vectorises over time and keeps 8 output channels in registers (``cpp/seiscore/picking/
convnet.cpp``). Measured in ``bench/RESULTS.md`` (issue 17); the outputs agree with ONNX
Runtime's to float32 rounding (``tests/picking/test_native.py``).
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

__all__ = ["Unsupported", "compile_onnx", "read_onnx_graph", "translate_onnx"]


class Unsupported(Exception):
    """The graph has something the native kernel does not run (the message says what)."""


# ---- a minimal protobuf reader for the parts of onnx.proto used here ------------------------


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 70:
            raise ValueError("varint too long")


def _fields(buf: bytes):
    """(field number, wire type, value) for each field of one message; length-delimited values
    are bytes, varints ints, fixed32/fixed64 raw bytes."""
    pos = 0
    n = len(buf)
    while pos < n:
        key, pos = _varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos : pos + 8], pos + 8
        elif wire == 2:
            length, pos = _varint(buf, pos)
            value, pos = buf[pos : pos + length], pos + length
        elif wire == 5:
            value, pos = buf[pos : pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        if pos > n:
            raise ValueError("truncated message")
        yield field, wire, value


def _signed(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


def _ints(wire: int, value) -> list[int]:
    if wire == 0:
        return [_signed(value)]
    out, pos = [], 0
    while pos < len(value):  # packed
        v, pos = _varint(value, pos)
        out.append(_signed(v))
    return out


_DTYPES = {
    1: np.float32, 2: np.uint8, 3: np.int8, 6: np.int32, 7: np.int64, 10: np.float16, 11: np.float64
}  # fmt: skip


def _tensor(buf: bytes) -> tuple[str, np.ndarray]:
    dims: list[int] = []
    dtype = name = raw = None
    floats: list[float] = []
    ints: list[int] = []
    for f, w, v in _fields(buf):
        if f == 1:
            dims += _ints(w, v)
        elif f == 2:
            dtype = v
        elif f == 4:
            floats += list(np.frombuffer(v, "<f4")) if w == 2 else [struct.unpack("<f", v)[0]]
        elif f in (5, 7):
            ints += _ints(w, v)
        elif f == 8:
            name = v.decode()
        elif f == 9:
            raw = v
        elif f == 14 and v == 1:
            raise Unsupported(f"initializer {name}: external data")
    if dtype not in _DTYPES:
        raise Unsupported(f"initializer {name}: data type {dtype}")
    npdtype = np.dtype(_DTYPES[dtype]).newbyteorder("<")
    if raw is not None:
        arr = np.frombuffer(raw, npdtype)
    elif floats:
        arr = np.asarray(floats, npdtype)
    else:
        arr = np.asarray(ints, npdtype)
    size = int(np.prod(dims)) if dims else 1
    if arr.size != size:
        raise Unsupported(f"initializer {name}: {arr.size} values for shape {dims}")
    return name, arr.astype(_DTYPES[dtype]).reshape(dims)


def _attribute(buf: bytes):
    name, value, ints, floats = None, None, [], []
    for f, w, v in _fields(buf):
        if f == 1:
            name = v.decode()
        elif f == 2:
            value = struct.unpack("<f", v)[0]
        elif f == 3:
            value = _signed(v)
        elif f == 4:
            value = v.decode(errors="replace")
        elif f == 7:
            floats += list(np.frombuffer(v, "<f4")) if w == 2 else [struct.unpack("<f", v)[0]]
        elif f == 8:
            ints += _ints(w, v)
    if value is None:
        value = ints or floats or None
    return name, value


def _value_info(buf: bytes) -> tuple[str, list]:
    name, dims = None, []
    for f, _, v in _fields(buf):
        if f == 1:
            name = v.decode()
        elif f == 2:
            for f2, _, tensor_type in _fields(v):
                if f2 != 1:
                    continue
                for f3, _, shape in _fields(tensor_type):
                    if f3 != 2:
                        continue
                    for f4, _, dim in _fields(shape):
                        if f4 != 1:
                            continue
                        d = None
                        for f5, _, dv in _fields(dim):
                            d = dv if f5 == 1 else (dv.decode() if f5 == 2 else d)
                        dims.append(d)
    return name, dims


def read_onnx_graph(path: str | Path) -> dict:
    """The graph of an ONNX file: ``nodes`` (op_type, inputs, outputs, attributes),
    ``initializers`` (name -> array), ``inputs`` and ``outputs`` (name, dims)."""
    data = Path(path).read_bytes()
    graph = None
    for f, _, v in _fields(data):
        if f == 7:
            graph = v
    if graph is None:
        raise Unsupported("no graph in the file")
    nodes, inits, inputs, outputs = [], {}, [], []
    for f, _, v in _fields(graph):
        if f == 1:
            node = {"op": "", "inputs": [], "outputs": [], "attrs": {}, "domain": ""}
            for f2, _, v2 in _fields(v):
                if f2 == 1:
                    node["inputs"].append(v2.decode())
                elif f2 == 2:
                    node["outputs"].append(v2.decode())
                elif f2 == 4:
                    node["op"] = v2.decode()
                elif f2 == 7:
                    node["domain"] = v2.decode()
                elif f2 == 5:
                    k, a = _attribute(v2)
                    node["attrs"][k] = a
            nodes.append(node)
        elif f == 5:
            k, arr = _tensor(v)
            inits[k] = arr
        elif f == 11:
            inputs.append(_value_info(v))
        elif f == 12:
            outputs.append(_value_info(v))
    return {"nodes": nodes, "initializers": inits, "inputs": inputs, "outputs": outputs}


# ---- translation -----------------------------------------------------------------------------


def _time_params(node: dict, ndim: int, kernel_len: int) -> tuple[int, int, int]:
    """(stride, pad_left, pad_right) over the time axis; refuses anything over the unit height
    axis of a 4-D graph, dilations, groups and automatic padding."""
    a = node["attrs"]
    name = node["outputs"][0]
    if int(a.get("group", 1)) != 1:
        raise Unsupported(f"{name}: grouped convolution")
    dil = list(a.get("dilations") or [1] * (ndim - 2))
    if any(d != 1 for d in dil):
        raise Unsupported(f"{name}: dilation")
    if a.get("auto_pad", "NOTSET") not in ("NOTSET", "VALID") and a.get("auto_pad") is not None:
        raise Unsupported(f"{name}: auto_pad {a.get('auto_pad')}")
    strides = list(a.get("strides") or [1] * (ndim - 2))
    pads = list(a.get("pads") or [0] * (2 * (ndim - 2)))
    if a.get("output_padding") and any(a["output_padding"]):
        raise Unsupported(f"{name}: output_padding")
    if a.get("output_shape"):
        raise Unsupported(f"{name}: output_shape")
    if ndim == 4:
        if strides[0] != 1 or pads[0] != 0 or pads[2] != 0:
            raise Unsupported(f"{name}: convolution over the height axis")
        return int(strides[1]), int(pads[1]), int(pads[3])
    return int(strides[0]), int(pads[0]), int(pads[1])


def compile_onnx(path: str | Path, input_name: str, output_name: str):
    """A ``seiscore._core.picking.ConvNet`` computing ``output_name`` from ``input_name``
    ``[batch, channels, samples]`` (fixed channels and samples), or :class:`Unsupported`."""
    from .. import _core

    channels, length, ops, out_id = translate_onnx(path, input_name, output_name)
    try:
        return _core.picking.convnet(channels, length, ops, out_id)
    except ValueError as exc:
        raise Unsupported(str(exc)) from None


def translate_onnx(path: str | Path, input_name: str, output_name: str):
    """(input channels, input samples, operations, output tensor id) for
    ``seiscore._core.picking.convnet``, or :class:`Unsupported`."""
    try:
        g = read_onnx_graph(path)
    except ValueError as exc:
        raise Unsupported(f"cannot read the graph ({exc})") from None
    dims = dict(g["inputs"]).get(input_name)
    if dims is None or len(dims) != 3 or not all(isinstance(d, int) for d in dims[1:]):
        raise Unsupported(f"input {input_name!r} is not [batch, channels, samples], fixed sizes")
    t = _Translation(g, input_name)
    for k, node in enumerate(g["nodes"]):
        if k in t.skip:
            continue
        if node["domain"] not in ("", "ai.onnx"):
            raise Unsupported(f"operator {node['domain']}.{node['op']}")
        handler = _HANDLERS.get(node["op"])
        if handler is None:
            raise Unsupported(f"operator {node['op']} ({node['outputs'][0]})")
        handler(t, k, node)
    if output_name not in t.where:
        raise Unsupported(f"output {output_name!r} is not computed")
    out_id, ndim = t.where[output_name]
    if ndim != 3:
        raise Unsupported(f"output {output_name!r} is not [batch, channels, samples]")
    return int(dims[1]), int(dims[2]), t.ops, out_id


class _Translation:
    """The state of one translation: ONNX tensor name -> (tensor id, ndim; 4 carries the unit
    height axis at position 2), the operations so far, and nodes already consumed."""

    def __init__(self, graph: dict, input_name: str):
        self.nodes = graph["nodes"]
        self.inits = graph["initializers"]
        self.where: dict[str, tuple[int, int]] = {input_name: (0, 3)}
        self.ops: list[dict] = []
        self.skip: set[int] = set()
        self.consumers: dict[str, int] = {}
        for node in self.nodes:
            for i in node["inputs"]:
                self.consumers[i] = self.consumers.get(i, 0) + 1

    def source(self, name: str) -> tuple[int, int]:
        if name not in self.where:
            raise Unsupported(f"tensor {name!r} is not computed by a supported operation")
        return self.where[name]

    def const(self, name: str) -> np.ndarray:
        if name not in self.inits:
            raise Unsupported(f"{name!r} is not a constant")
        return self.inits[name]

    def emit(self, op: dict, out_name: str, ndim: int) -> None:
        op["output"] = len(self.ops) + 1
        self.ops.append(op)
        self.where[out_name] = (op["output"], ndim)


def _squeeze(t: _Translation, k: int, node: dict) -> None:
    ins, outs, op_type = node["inputs"], node["outputs"], node["op"]
    tid, ndim = t.source(ins[0])
    axes = t.const(ins[1]).ravel() if len(ins) > 1 else node["attrs"].get("axes", [])
    axes = [int(a) for a in axes]
    if op_type == "Unsqueeze" and ndim == 3 and axes in ([2], [-2]):
        t.where[outs[0]] = (tid, 4)
    elif op_type == "Squeeze" and ndim == 4 and axes in ([2], [-2]):
        t.where[outs[0]] = (tid, 3)
    else:
        raise Unsupported(f"{outs[0]}: {op_type} over axes {axes}")


def _conv(t: _Translation, k: int, node: dict) -> None:
    ins, outs = node["inputs"], node["outputs"]
    tid, ndim = t.source(ins[0])
    w = t.const(ins[1]).astype(np.float32)
    if w.ndim != ndim or (ndim == 4 and w.shape[2] != 1):
        raise Unsupported(f"{outs[0]}: kernel of shape {w.shape}")
    w = np.ascontiguousarray(w.reshape(w.shape[0], w.shape[1], w.shape[-1]))
    n_out = w.shape[0] if node["op"] == "Conv" else w.shape[1]
    if len(ins) > 2 and ins[2]:
        b = t.const(ins[2]).astype(np.float32).ravel()
    else:
        b = np.zeros(n_out, np.float32)
    stride, pl, pr = _time_params(node, ndim, w.shape[-1])
    relu, out_name = False, outs[0]
    nxt = t.nodes[k + 1] if k + 1 < len(t.nodes) else None
    fuse = nxt is not None and nxt["op"] == "Relu" and nxt["inputs"][0] == outs[0]
    if fuse and t.consumers.get(outs[0]) == 1:  # the Relu runs inside the convolution
        relu, out_name = True, nxt["outputs"][0]
        t.skip.add(k + 1)
    op = {
        "kind": "conv" if node["op"] == "Conv" else "conv_transpose",
        "inputs": [tid],
        "weight": w,
        "bias": np.ascontiguousarray(b),
        "stride": stride,
        "pad_left": pl,
        "pad_right": pr,
        "relu": relu,
    }
    t.emit(op, out_name, ndim)


def _concat(t: _Translation, k: int, node: dict) -> None:
    srcs = [t.source(i) for i in node["inputs"]]
    ndim = srcs[0][1]
    axis = int(node["attrs"].get("axis", 0))
    if axis < 0:
        axis += ndim
    if axis != 1 or any(s[1] != ndim for s in srcs):
        raise Unsupported(f"{node['outputs'][0]}: concat over axis {axis}")
    t.emit({"kind": "concat", "inputs": [s[0] for s in srcs]}, node["outputs"][0], ndim)


def _slice(t: _Translation, k: int, node: dict) -> None:
    ins, outs = node["inputs"], node["outputs"]
    tid, ndim = t.source(ins[0])
    starts, ends = t.const(ins[1]).ravel(), t.const(ins[2]).ravel()
    axes = t.const(ins[3]).ravel() if len(ins) > 3 and ins[3] else np.arange(len(starts))
    steps = t.const(ins[4]).ravel() if len(ins) > 4 and ins[4] else np.ones(len(starts))
    if len(starts) != 1 or int(axes[0]) not in (ndim - 1, -1) or int(steps[0]) != 1:
        raise Unsupported(f"{outs[0]}: slice over axes {list(axes)}")
    crop = {"kind": "crop", "inputs": [tid], "start": int(starts[0]), "end": int(ends[0])}
    t.emit(crop, outs[0], ndim)


def _softmax(t: _Translation, k: int, node: dict) -> None:
    tid, ndim = t.source(node["inputs"][0])
    axis = int(node["attrs"].get("axis", -1))
    if axis not in (1, 1 - ndim):
        raise Unsupported(f"{node['outputs'][0]}: softmax over axis {axis}")
    t.emit({"kind": "softmax", "inputs": [tid]}, node["outputs"][0], ndim)


def _reduce_max(t: _Translation, k: int, node: dict) -> None:
    found = _softmax_sequence(t.nodes, k, t.inits)
    if found is None:
        raise Unsupported(f"{node['outputs'][0]}: ReduceMax outside a softmax")
    last, used = found
    tid, ndim = t.source(node["inputs"][0])
    t.skip.update(used)
    t.emit({"kind": "softmax", "inputs": [tid]}, last, ndim)


_HANDLERS = {
    "Unsqueeze": _squeeze,
    "Squeeze": _squeeze,
    "Conv": _conv,
    "ConvTranspose": _conv,
    "Concat": _concat,
    "Slice": _slice,
    "Softmax": _softmax,
    "ReduceMax": _reduce_max,
}


def _softmax_sequence(nodes: list[dict], k: int, inits: dict):
    """ReduceMax(x, axis 1) -> Sub(x, max) -> Exp -> ReduceSum(axis 1) -> Div(exp, sum) starting
    at node k: (the Div's output, the node indices used), or None."""

    def axes_of(node):
        a = node["attrs"].get("axes")
        if a is None and len(node["inputs"]) > 1 and node["inputs"][1] in inits:
            a = list(inits[node["inputs"][1]].ravel())
        return [int(v) for v in (a or [])]

    if k + 4 >= len(nodes):
        return None
    mx, sub, ex, sm, dv = nodes[k : k + 5]
    x = mx["inputs"][0]
    ok = (
        axes_of(mx) == [1]
        and int(mx["attrs"].get("keepdims", 1)) == 1
        and sub["op"] == "Sub"
        and sub["inputs"] == [x, mx["outputs"][0]]
        and ex["op"] == "Exp"
        and ex["inputs"] == [sub["outputs"][0]]
        and sm["op"] == "ReduceSum"
        and sm["inputs"][0] == ex["outputs"][0]
        and axes_of(sm) == [1]
        and int(sm["attrs"].get("keepdims", 1)) == 1
        and dv["op"] == "Div"
        and dv["inputs"] == [ex["outputs"][0], sm["outputs"][0]]
    )
    return (dv["outputs"][0], {k + 1, k + 2, k + 3, k + 4}) if ok else None
