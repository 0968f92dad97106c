"""Shared fixtures: seeded random generators, the shared data folder, CUDA auto-skip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture
def rng():
    return np.random.default_rng(20261121)


def shared_file(*parts: str) -> Path:
    """A file under ../shared/data, or skip the test saying which file is missing."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not available: {path}")
    return path


def pytest_collection_modifyitems(config, items):
    from seiscore._backend import cuda_available

    if cuda_available():
        return
    skip = pytest.mark.skip(reason="no CUDA device (or seiscore built without CUDA)")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)
