"""Visible coercion of user input to what the kernels accept, with precise messages.

The compiled bindings refuse wrong dtypes outright; these helpers decide, in one place, what is
converted (and say so in the docstrings of the public functions) and what is an error.
"""

from __future__ import annotations

import numpy as np

from .exceptions import InputError


def as_float32_array(x, name: str, ndim: int, shape_doc: str) -> np.ndarray:
    """Return ``x`` as a float32 array with ``ndim`` dimensions.

    Float32 input is passed through without a copy whatever its strides; other real dtypes are
    converted (a copy). Complex, object and non-numeric input is refused.
    """
    arr = np.asarray(x)
    if arr.dtype.kind not in "fiub":
        raise InputError(f"{name}: expected real numbers, got dtype {arr.dtype}")
    if arr.ndim != ndim:
        raise InputError(f"{name}: expected {ndim} dimensions {shape_doc}, got shape {arr.shape}")
    if arr.dtype != np.float32:
        arr = arr.astype(np.float32)
    if arr.strides and any(s % arr.itemsize for s in arr.strides):
        arr = np.ascontiguousarray(arr)
    return arr


def per_phase(value, n_phases: int, name: str, dtype) -> np.ndarray:
    """Broadcast a scalar or a sequence of length ``n_phases`` to a contiguous 1-D array."""
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(n_phases, float(arr))
    elif arr.ndim != 1 or arr.shape[0] != n_phases:
        raise InputError(
            f"{name}: expected a scalar or one value per phase ({n_phases}), got shape {arr.shape}"
        )
    return np.ascontiguousarray(arr, dtype=dtype)


def check_workers(workers: int | None) -> int:
    """``None`` or 0 → all cores (0 for the kernels); a positive int is a thread count."""
    if workers is None:
        return 0
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 0:
        raise InputError(f"workers: expected None or a non-negative integer, got {workers!r}")
    return int(workers)
