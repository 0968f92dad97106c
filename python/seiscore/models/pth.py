"""Read PyTorch checkpoints (``.pth`` / ``.pt`` saved by ``torch.save``) without PyTorch.

The format (PyTorch >= 1.6, "zip serialization"), as far as weights need it:

* The file is a zip archive (stored, not compressed) with one top folder, ``<name>/``:
  ``<name>/data.pkl`` (a pickle, protocol 2), ``<name>/data/<key>`` (one raw storage per key:
  the tensor elements, little-endian, C order of the *storage*, no header),
  ``<name>/version`` and sometimes ``<name>/byteorder`` (``little`` or ``big``).
* The pickle rebuilds the saved object, usually an ``OrderedDict`` of parameter name → tensor
  (a state dict), sometimes wrapped in a dict (``{"model_dict": ..., "epoch": ...}``).
* Each tensor is ``torch._utils._rebuild_tensor_v2(storage, offset, size, stride,
  requires_grad, backward_hooks[, metadata])``; its ``storage`` argument is a *persistent id*
  ``("storage", <torch.FloatStorage class>, "<key>", "<device>", <numel>)`` that names the
  raw file ``data/<key>`` and its element type. Several tensors may share one storage (views);
  ``offset``, ``size`` and ``stride`` are in elements.
* ``torch._utils._rebuild_parameter(tensor, requires_grad, hooks)`` wraps a tensor as an
  ``nn.Parameter`` (a state dict saved from parameters directly).

:func:`read_state_dict` maps exactly these callables to NumPy (``numpy.lib.stride_tricks``
builds each view, then copies it), and refuses every other global in the pickle, so reading a
file runs no code from it.
"""

from __future__ import annotations

import pickle
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np

from ..exceptions import InputError

__all__ = ["read_state_dict"]

# torch storage class name → NumPy dtype of its elements
_STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "BFloat16Storage": None,  # no NumPy type: refused with a message
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class _StorageType:
    """Stands for a ``torch.*Storage`` class in the pickle: only its element type matters."""

    def __init__(self, name: str):
        self.name = name


def _rebuild_tensor(storage, offset, size, stride, *_ignored):
    """A NumPy copy of the tensor view ``storage[offset:]`` with ``size`` and ``stride``
    (elements)."""
    size = tuple(int(s) for s in size)
    stride = tuple(int(s) for s in stride)
    if not size:
        return np.array(storage[int(offset)])  # a 0-d array
    view = np.lib.stride_tricks.as_strided(
        storage[int(offset) :],
        shape=size,
        strides=tuple(s * storage.itemsize for s in stride),
        writeable=False,
    )
    return np.array(view)


def _rebuild_parameter(tensor, *_ignored):
    return tensor


class _Unpickler(pickle.Unpickler):
    """Unpickles a checkpoint's ``data.pkl`` with its storages from the zip, allowing only the
    globals a state dict needs."""

    def __init__(self, file, archive: zipfile.ZipFile, prefix: str, byteorder: str, source: str):
        super().__init__(file)
        self._archive = archive
        self._prefix = prefix
        self._byteorder = "<" if byteorder == "little" else ">"
        self._source = source
        self._storages: dict[str, np.ndarray] = {}

    def find_class(self, module, name):
        if module == "collections" and name == "OrderedDict":
            return OrderedDict
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor
        if module == "torch._utils" and name == "_rebuild_parameter":
            return _rebuild_parameter
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        raise InputError(
            f"{self._source}: the checkpoint pickle refers to {module}.{name}, which a plain "
            "state dict does not hold; refusing to read it without PyTorch"
        )

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and pid and pid[0] == "storage"):
            raise InputError(f"{self._source}: unknown persistent id {pid!r}")
        _, kind, key, _location, _numel = pid
        dtype = _STORAGE_DTYPES.get(kind.name)
        if dtype is None:
            raise InputError(f"{self._source}: {kind.name} tensors have no NumPy type")
        if key not in self._storages:
            raw = self._archive.read(f"{self._prefix}data/{key}")
            self._storages[key] = np.frombuffer(raw, np.dtype(dtype).newbyteorder(self._byteorder))
        return self._storages[key]


def read_state_dict(path, key: str | None = None) -> dict[str, np.ndarray]:
    """The tensors of a PyTorch checkpoint as NumPy arrays, by name, read without PyTorch.

    ``key``: take the state dict from this entry of a checkpoint dict (e.g. ``"model_dict"``);
    by default a dict holding ``model_dict``, ``state_dict`` or ``model`` is unwrapped. Raises
    :class:`~seiscore.InputError` for a file that is not a zip checkpoint or that needs more
    than tensors and dicts to unpickle.
    """
    path = Path(path)
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise InputError(f"{path}: not a zip-format PyTorch checkpoint ({exc})") from None
    with archive:
        pkl = [n for n in archive.namelist() if n.endswith("/data.pkl") or n == "data.pkl"]
        if len(pkl) != 1:
            raise InputError(f"{path}: expected one data.pkl in the archive, found {len(pkl)}")
        prefix = pkl[0][: -len("data.pkl")]
        names = set(archive.namelist())
        order = "little"
        if f"{prefix}byteorder" in names:
            order = archive.read(f"{prefix}byteorder").decode().strip()
        with archive.open(pkl[0]) as fh:
            obj = _Unpickler(fh, archive, prefix, order, str(path)).load()
    return _unwrap(obj, key, path)


def _unwrap(obj, key: str | None, path: Path) -> dict[str, np.ndarray]:
    """The name → array mapping inside a loaded checkpoint."""
    if key is not None:
        if not isinstance(obj, dict) or key not in obj:
            raise InputError(f"{path}: no entry {key!r} in the checkpoint")
        obj = obj[key]
    elif isinstance(obj, dict):
        for wrapper in ("model_dict", "state_dict", "model"):
            if isinstance(obj.get(wrapper), dict):
                obj = obj[wrapper]
                break
    if not isinstance(obj, dict):
        raise InputError(f"{path}: the checkpoint holds a {type(obj).__name__}, not a state dict")
    out = {k: v for k, v in obj.items() if isinstance(v, np.ndarray)}
    if not out:
        raise InputError(f"{path}: the checkpoint holds no tensors")
    return out
