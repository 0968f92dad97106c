"""PhaseNet in PyTorch, with the weights of the bundled ONNX model.

The bundled ``phasenet.onnx`` (``tools/convert_phasenet.py``) holds the original TensorFlow
weights with batch normalisation folded into each convolution: ``conv(x) * scale + shift`` is
one convolution whose kernel is multiplied by ``scale`` and whose bias is ``shift``. This
module rebuilds that network, layer for layer, as a :class:`torch.nn.Module` whose parameters
carry the ONNX initializer names (``input.weight``, ``down0.conv1.weight``, … ``output.bias``),
so that the ONNX file's initializers load into it one to one and a trained state dict goes back
into the same graph (:mod:`.export`).

Fine-tuning trains the folded weights: that is the original network with its batch-norm
statistics frozen (the usual choice when fine-tuning on a small data set), its scale and shift
merged into the convolutions.

Shapes: input ``[batch, 3, window]`` (channels in the card's order, each normalised per window),
output ``[batch, 3, window]`` (noise, P, S); :meth:`PhaseNet.forward` returns logits and
:meth:`PhaseNet.probabilities` the softmax over the classes, as the ONNX graph does. The padding
is TensorFlow's ``same`` padding of the original (the smaller half before the signal), computed
for ``window`` exactly as the converter does, so the network runs at the window it was built for.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 (the usual name)
from torch import nn

__all__ = ["PhaseNet", "load_onnx_weights", "phasenet_from_onnx"]

DEPTHS = 5
FILTERS_ROOT = 8
KERNEL = 7
STRIDE = 4


def same_padding(length: int, kernel: int, stride: int) -> tuple[int, int, int]:
    """TensorFlow ``same`` padding of a convolution: (output length, pad before, pad after)."""
    out = -(-length // stride)
    total = max((out - 1) * stride + kernel - length, 0)
    return out, total // 2, total - total // 2


def transpose_same_crop(length: int, kernel: int, stride: int) -> tuple[int, int, int]:
    """TensorFlow ``same`` transposed convolution: (output length, crop before, crop after) of
    the full transposed output (``(length - 1) * stride + kernel`` samples)."""
    out = length * stride
    total = max((length - 1) * stride + kernel - out, 0)
    return out, total // 2, total - total // 2


class _Conv(nn.Module):
    """Convolution over time with explicit (asymmetric) zero padding, then ReLU."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, pads: tuple[int, int]):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(cout, cin, 1, kernel))
        self.bias = nn.Parameter(torch.zeros(cout))
        self.stride = stride
        self.pads = pads

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, (self.pads[0], self.pads[1]))
        return F.relu(F.conv2d(x, self.weight, self.bias, stride=(1, self.stride)))


class _ConvTranspose(nn.Module):
    """Transposed convolution (upsampling by ``stride``), cropped as the ONNX ``pads`` are and
    then centred on ``keep`` samples (the skip connection's length), then ReLU."""

    def __init__(self, cin: int, cout: int, length: int, keep: int):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(cin, cout, 1, KERNEL))
        self.bias = nn.Parameter(torch.zeros(cout))
        up, before, _after = transpose_same_crop(length, KERNEL, STRIDE)
        self.start = before + (up - keep) // 2
        self.keep = keep

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.conv_transpose2d(x, self.weight, None, stride=(1, STRIDE))
        y = y[..., self.start : self.start + self.keep] + self.bias[:, None, None]
        return F.relu(y)


class PhaseNet(nn.Module):
    """The PhaseNet U-Net (Zhu & Beroza 2019) for windows of ``window`` samples; parameter names
    are the ONNX initializer names of the bundled model (see the module docstring)."""

    def __init__(self, window: int = 3000, in_channels: int = 3, classes: int = 3):
        super().__init__()
        self.window = window
        self.layers = nn.ModuleDict()
        length = window
        _, b, e = same_padding(length, KERNEL, 1)
        self.layers[_key("input")] = _Conv(in_channels, FILTERS_ROOT, KERNEL, 1, (b, e))
        lengths, cin = [], FILTERS_ROOT
        for i in range(DEPTHS):
            cout = FILTERS_ROOT * 2**i
            self.layers[_key(f"down{i}.conv1")] = _Conv(cin, cout, KERNEL, 1, (b, e))
            lengths.append(length)
            if i < DEPTHS - 1:
                length, pb, pe = same_padding(length, KERNEL, STRIDE)
                self.layers[_key(f"down{i}.conv3")] = _Conv(cout, cout, KERNEL, STRIDE, (pb, pe))
            cin = cout
        for i in range(DEPTHS - 2, -1, -1):
            cout = FILTERS_ROOT * 2**i
            self.layers[_key(f"up{i}.conv0")] = _ConvTranspose(cin, cout, length, lengths[i])
            length = lengths[i]
            self.layers[_key(f"up{i}.conv1")] = _Conv(2 * cout, cout, KERNEL, 1, (b, e))
            cin = cout
        self.output = nn.Conv2d(cin, classes, (1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``[batch, class, window]`` of normalised windows ``[batch, channel, window]``."""
        net = self.layers[_key("input")](x[:, :, None, :])
        skips = []
        for i in range(DEPTHS):
            net = self.layers[_key(f"down{i}.conv1")](net)
            skips.append(net)
            if i < DEPTHS - 1:
                net = self.layers[_key(f"down{i}.conv3")](net)
        for i in range(DEPTHS - 2, -1, -1):
            up = self.layers[_key(f"up{i}.conv0")](net)
            net = self.layers[_key(f"up{i}.conv1")](torch.cat([skips[i], up], dim=1))
        return self.output(net)[:, :, 0, :]

    def probabilities(self, x: torch.Tensor) -> torch.Tensor:
        """Softmax over the classes of :meth:`forward`: what the ONNX graph returns."""
        return torch.softmax(self.forward(x), dim=1)

    def onnx_state(self) -> dict[str, np.ndarray]:
        """The weights as float32 arrays under their ONNX initializer names."""
        return {
            _onnx_name(k): v.detach().cpu().numpy().astype(np.float32)
            for k, v in self.state_dict().items()
        }


def _key(name: str) -> str:
    """Module key of an ONNX layer name (``down0.conv1`` → ``down0_conv1``: keys hold no dot)."""
    return name.replace(".", "_")


def _onnx_name(param: str) -> str:
    """``layers.down0_conv1.weight`` → ``down0.conv1.weight``; ``output.weight`` unchanged."""
    if not param.startswith("layers."):
        return param
    layer, _, kind = param.removeprefix("layers.").rpartition(".")
    return f"{layer.replace('_', '.')}.{kind}"


def load_onnx_weights(path) -> tuple[dict[str, np.ndarray], int]:
    """The float initializers of a PhaseNet ONNX file by name, and its window length."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    weights = {
        t.name: numpy_helper.to_array(t)
        for t in model.graph.initializer
        if t.data_type == onnx.TensorProto.FLOAT
    }
    dims = model.graph.input[0].type.tensor_type.shape.dim
    return weights, int(dims[-1].dim_value)


def phasenet_from_onnx(path) -> PhaseNet:
    """A :class:`PhaseNet` holding the weights of a PhaseNet ONNX file (the bundled
    ``phasenet.onnx`` or one written by :func:`seiscore.training.export.export_onnx`)."""
    weights, window = load_onnx_weights(Path(path))
    net = PhaseNet(window=window)
    state = net.state_dict()
    expected = {_onnx_name(k): k for k in state}
    missing = sorted(set(expected) - set(weights))
    if missing:
        raise ValueError(f"{path}: not a PhaseNet graph (no initializers {missing[:4]} …)")
    for name, key in expected.items():
        value = torch.from_numpy(np.array(weights[name], dtype=np.float32))
        if value.shape != state[key].shape:
            raise ValueError(
                f"{path}: initializer {name} has shape {tuple(value.shape)}, "
                f"PhaseNet expects {tuple(state[key].shape)}"
            )
        state[key] = value
    net.load_state_dict(state)
    return net


#: base models that can be fine-tuned, by name (``--base``); any PhaseNet ONNX file with its
#: card beside it (e.g. an earlier fine-tune) is accepted too
BASES = ("phasenet",)


def load_base(base) -> tuple[PhaseNet, Path, dict]:
    """The torch network, ONNX file and raw card of a base model: a bundled name in
    :data:`BASES` or the path of a PhaseNet ONNX file (its card ``.json`` beside it)."""
    import json

    from ..exceptions import ConfigError
    from ..models import MODELS_DIR, ModelCard

    text = str(base)
    if text in BASES:
        path = MODELS_DIR / text / f"{text}.onnx"
    elif text.endswith(".onnx"):
        path = Path(text)
    else:
        raise ConfigError(
            f"--base {text!r}: seiscore fine-tunes {list(BASES)} or a PhaseNet ONNX file it "
            "wrote (SeisT and the other bundled models have no torch version here yet)"
        )
    card_path = path.with_suffix(".json")
    for p in (path, card_path):
        if not p.is_file():
            raise ConfigError(f"--base: {p} not found")
    raw = json.loads(card_path.read_text())
    card = ModelCard.from_dict(raw, str(card_path))
    if card.contract != "window" or len(card.labels) != 3:
        raise ConfigError(f"--base {text}: not a PhaseNet-style picker ({card_path})")
    try:
        net = phasenet_from_onnx(path)
    except ValueError as exc:
        raise ConfigError(f"--base: {exc}") from None
    return net, path, raw
