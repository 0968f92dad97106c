"""stack(): linear, phase-weighted, robust and selective stacks against NumPy / SciPy, by group,
and the stack kernels' edge cases."""

from __future__ import annotations

import numpy as np
import pytest

from seiscore import InputError, _core
from seiscore import correlation as corr

from .reference import ref_pws, ref_robust, ref_selective

# ------------------------------------------------------------------ stacks


def test_stacks_match_numpy(rng):
    base = np.sin(np.linspace(0, 12, 201))
    d = (base + 0.8 * rng.standard_normal((15, 201))).astype(np.float32)
    d[3] = -3 * base  # an outlier window
    lin, n = corr.stack(d, "linear")
    np.testing.assert_allclose(lin, d.mean(axis=0), atol=1e-6)
    assert n == 15
    pws, _ = corr.stack(d, "pws", pws_power=2)
    np.testing.assert_allclose(pws, ref_pws(d, 2), atol=2e-5)
    rob, _ = corr.stack(d, "robust")
    np.testing.assert_allclose(rob, ref_robust(d), atol=2e-5)
    sel, kept = corr.stack(d, "selective", selective_threshold=0.3)
    ref_sel, ref_kept = ref_selective(d, 0.3)
    assert kept == ref_kept
    assert kept < 15
    np.testing.assert_allclose(sel, ref_sel, atol=1e-5)
    # windows of a clean signal plus three of loud noise: the robust stack down-weights the noise
    d = (base + 0.3 * rng.standard_normal((12, 201))).astype(np.float32)
    d[:3] = 6 * rng.standard_normal((3, 201))

    def misfit(x):
        return np.linalg.norm(x / np.linalg.norm(x) - base / np.linalg.norm(base))

    assert misfit(corr.stack(d, "robust")[0]) < 0.5 * misfit(corr.stack(d, "linear")[0])


def test_stacks_by_group(rng):
    d = rng.standard_normal((12, 31)).astype(np.float32)
    g = np.array([2, 0, 2, 1, 0, 2, 2, 1, 0, 0, 1, 2])
    for method in ("linear", "robust", "selective", "pws"):
        out, counts = corr.stack(d, method, groups=g, selective_threshold=0.0)
        for k in range(3):
            one, c1 = corr.stack(d[g == k], method, selective_threshold=0.0)
            np.testing.assert_allclose(out[k], one, atol=1e-6)
            assert counts[k] == c1


def test_stack_kernels_empty_groups_and_bad_offsets(rng):
    d = rng.standard_normal((4, 9)).astype(np.float32)
    offsets = np.array([0, 2, 2, 4], np.int64)
    out, n_iter = _core.correlation.stack_robust(d, offsets, 1e-4, 10)
    assert np.isnan(out[1]).all()
    assert n_iter[1] == 0
    out, kept = _core.correlation.stack_selective(d, offsets, 0.0)
    assert np.isnan(out[1]).all()
    assert kept[1] == 0
    lin, pre, pim = _core.correlation.stack_sums(d, None, offsets)
    assert pre is None
    assert not lin[1].any()
    with pytest.raises(ValueError, match="offsets"):
        _core.correlation.stack_sums(d, None, np.array([0, 3, 2], np.int64))
    with pytest.raises(ValueError, match="exceeds"):
        _core.correlation.stack_sums(d, None, np.array([0, 5], np.int64))
    with pytest.raises(InputError, match="method"):
        corr.stack(d, "median")
