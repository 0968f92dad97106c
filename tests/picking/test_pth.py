"""The torch-free checkpoint reader: tensors (views with offsets and strides too) come back as
NumPy arrays, and a pickle that asks for anything but tensors and dicts is refused unrun."""

from __future__ import annotations

import io
import pickle
import sys
import types
import zipfile
from collections import OrderedDict

import numpy as np
import pytest

from seiscore import InputError
from seiscore.models.pth import read_state_dict

from ..conftest import shared_file


class _Storage:
    """Stands for one torch storage while pickling: saved as a persistent id."""

    def __init__(self, key: str, data: np.ndarray):
        self.key, self.data = key, data


def _fake_torch(monkeypatch):
    """Modules named like torch's, so that pickle writes the globals torch.save writes."""
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    class FloatStorage:
        pass

    class LongStorage:
        pass

    def _rebuild_tensor_v2(*args):  # never called: only referenced by name
        raise AssertionError

    for obj, module in (
        (FloatStorage, "torch"),
        (LongStorage, "torch"),
        (_rebuild_tensor_v2, "torch._utils"),
    ):
        obj.__module__, obj.__qualname__ = module, obj.__name__
    torch.FloatStorage, torch.LongStorage = FloatStorage, LongStorage
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    torch._utils = utils
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch._utils", utils)
    return torch, utils


class _Tensor:
    def __init__(self, storage, offset, size, stride, rebuild):
        self.args = (storage, offset, size, stride, False, OrderedDict())
        self.rebuild = rebuild

    def __reduce__(self):
        return self.rebuild, self.args


def _write_checkpoint(path, obj, storages, torch_module):
    class _Pickler(pickle.Pickler):
        def persistent_id(self, o):
            if isinstance(o, _Storage):
                long = o.data.dtype == np.int64
                kind = torch_module.LongStorage if long else torch_module.FloatStorage
                return ("storage", kind, o.key, "cpu", o.data.size)
            return None

    buf = io.BytesIO()
    _Pickler(buf, protocol=2).dump(obj)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", buf.getvalue())
        for s in storages:
            little = s.data.astype(s.data.dtype.newbyteorder("<"))
            z.writestr(f"archive/data/{s.key}", little.tobytes())
        z.writestr("archive/version", "3\n")


def test_tensors_and_views_come_back(tmp_path, monkeypatch):
    torch, utils = _fake_torch(monkeypatch)
    flat = np.arange(12, dtype=np.float32)
    longs = np.array([7], np.int64)
    s0, s1 = _Storage("0", flat), _Storage("1", longs)
    state = OrderedDict(
        [
            ("w", _Tensor(s0, 0, (3, 4), (4, 1), utils._rebuild_tensor_v2)),
            ("wt", _Tensor(s0, 0, (4, 3), (1, 4), utils._rebuild_tensor_v2)),  # transposed view
            ("tail", _Tensor(s0, 8, (2, 2), (2, 1), utils._rebuild_tensor_v2)),  # offset view
            ("n", _Tensor(s1, 0, (), (), utils._rebuild_tensor_v2)),
        ]
    )
    path = tmp_path / "ckpt.pth"
    _write_checkpoint(path, {"model_dict": state, "epoch": 3}, [s0, s1], torch)
    monkeypatch.delitem(sys.modules, "torch")
    monkeypatch.delitem(sys.modules, "torch._utils")
    out = read_state_dict(path)
    np.testing.assert_array_equal(out["w"], flat.reshape(3, 4))
    np.testing.assert_array_equal(out["wt"], flat.reshape(3, 4).T)
    np.testing.assert_array_equal(out["tail"], flat[8:].reshape(2, 2))
    assert out["n"] == 7
    assert out["n"].dtype == np.int64
    assert out["w"].flags.writeable


def test_other_globals_are_refused_unrun(tmp_path):
    path = tmp_path / "evil.pth"
    payload = b"\x80\x02cos\nsystem\nq\x00X\x04\x00\x00\x00trueq\x01\x85q\x02Rq\x03."
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("evil/data.pkl", payload)
    with pytest.raises(InputError, match="os.system"):
        read_state_dict(path)


def test_not_a_checkpoint(tmp_path):
    path = tmp_path / "x.pth"
    path.write_bytes(b"not a zip")
    with pytest.raises(InputError, match="not a zip-format"):
        read_state_dict(path)


def test_reads_a_published_checkpoint():
    state = read_state_dict(shared_file("seist", "pretrained", "seist_s_pmp_diting.pth"))
    assert state["stem.0.convs.0.dconv.weight"].shape == (3, 1, 11)
    assert state["out_head.lin.weight"].shape == (2, 64)
    assert state["stem.0.norm.num_batches_tracked"].dtype == np.int64
