"""The installed build: version parity, build facts, CUDA extension state."""

from __future__ import annotations

import subprocess
import sys

import seiscore
from seiscore import _backend, _core


def test_version_matches_core():
    assert _core.__version__ == seiscore.__version__
    assert seiscore.build_info()["version"] == seiscore.__version__


def test_build_info_keys_and_types():
    info = seiscore.build_info()
    for key in (
        "version",
        "compiler",
        "openmp",
        "cuda_built",
        "cuda_device_available",
        "max_threads",
    ):
        assert key in info, key
    assert isinstance(info["openmp"], bool)
    assert info["max_threads"] >= 1
    assert info["build_type"] == "optimised"
    assert info["cuda_device_available"] == (info["cuda_device_count"] > 0)


def test_cuda_flag_matches_import():
    try:
        from seiscore import _cuda  # noqa: F401
    except ImportError:
        built = False
    else:
        built = True
    assert seiscore.build_info()["cuda_built"] == built
    if built:
        # a runtime version is compiled in even without a GPU; device_count never raises
        assert _cuda.runtime_version() >= 11000
        assert _cuda.device_count() >= 0


def test_device_resolution_without_gpu_is_explicit():
    if _backend.cuda_available():
        assert _backend.resolve_device("auto") == "cuda"
        return
    assert _backend.resolve_device("auto") == "cpu"
    import pytest

    with pytest.raises(seiscore.BackendUnavailable, match="cuda"):
        _backend.resolve_device("cuda")
    with pytest.raises(ValueError, match="device"):
        _backend.resolve_device("gpu")


def test_info_command_runs():
    out = subprocess.run(
        [sys.executable, "-m", "seiscore.cli", "info"], capture_output=True, text=True, check=True
    ).stdout
    assert "seiscore" in out
    assert "openmp" in out
    assert "cuda built" in out
    out = subprocess.run(
        [sys.executable, "-m", "seiscore.cli", "info", "--json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    import json

    assert json.loads(out)["package_version"] == seiscore.__version__
