"""Which compiled backends this installation has: build facts and CUDA availability."""

from __future__ import annotations

import platform
from functools import lru_cache
from typing import Any

from . import _core
from .exceptions import BackendUnavailable


@lru_cache(maxsize=1)
def _cuda_module():
    """The ``seiscore._cuda`` extension, or ``None`` when it was not built or cannot load."""
    try:
        from . import _cuda  # type: ignore[attr-defined]
    except ImportError:
        return None
    return _cuda


def cuda_built() -> bool:
    """True when this installation was compiled with the CUDA extension."""
    return _cuda_module() is not None


def cuda_device_count() -> int:
    """Number of CUDA devices the CUDA extension sees (0 without extension, driver or GPU)."""
    mod = _cuda_module()
    return int(mod.device_count()) if mod is not None else 0


def cuda_available() -> bool:
    """True when CUDA kernels can run here: extension built and at least one device."""
    return cuda_device_count() > 0


def resolve_device(device: str) -> str:
    """Map ``"auto" | "cpu" | "cuda"`` to ``"cpu"`` or ``"cuda"``; explain when CUDA can't run."""
    if device not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device: expected 'auto', 'cpu' or 'cuda', got {device!r}")
    if device == "cpu":
        return "cpu"
    if cuda_available():
        return "cuda"
    if device == "auto":
        return "cpu"
    if not cuda_built():
        raise BackendUnavailable(
            "device='cuda' requested but seiscore was built without CUDA; reinstall with a CUDA "
            "toolkit on the PATH (SEISCORE_CUDA=ON pip install .)"
        )
    raise BackendUnavailable("device='cuda' requested but no CUDA device is visible")


def build_info() -> dict[str, Any]:
    """Version, compiler, OpenMP, CUDA built / CUDA device, Python and NumPy of this install."""
    import numpy as np

    from . import __version__

    info: dict[str, Any] = dict(_core.build_info())
    info["package_version"] = __version__
    info["python"] = platform.python_version()
    info["numpy"] = np.__version__
    mod = _cuda_module()
    info["cuda_built"] = bool(info["cuda_built"]) and mod is not None
    info["cuda_runtime_version"] = int(mod.runtime_version()) if mod is not None else 0
    info["cuda_driver_version"] = int(mod.driver_version()) if mod is not None else 0
    info["cuda_device_count"] = cuda_device_count()
    info["cuda_device_available"] = info["cuda_device_count"] > 0
    info["cuda_devices"] = (
        [mod.device_properties(i) for i in range(info["cuda_device_count"])] if mod else []
    )
    return info
