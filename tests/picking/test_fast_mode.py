"""The INT8 fast variant of PhaseNet (``precision="int8"``, ``seiscore-pick --fast``) against the
float32 model on the 154 labelled reference windows (issue 17).

The bar for a fast mode: at least 99% of picks identical (same phase, same sample ± 1) and P/S
recall and precision at 0.5 s not lower than float32's. The INT8 variant does not meet it
(measured: 73% of picks within one sample; recall one window lower for P and for S), so the
bar is an expected failure here (strict: it fails loudly once a better fast variant meets it),
and the measured agreement is held as a floor so that it does not silently get worse.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import obspy
import pytest

from seiscore import InputError
from seiscore.containers import Waveforms
from seiscore.models import load_model
from seiscore.picking import annotate, extract_picks

from ..conftest import shared_file

TOLERANCE_S = 0.5  # recall / precision: a pick within 0.5 s of the analyst's


def test_int8_variant_is_selected_by_precision():
    fast = load_model("phasenet", precision="int8")
    assert fast.card.precision == "int8"
    assert fast.card.variant_of == "phasenet"
    assert fast.card.licence == "MIT"
    assert load_model("phasenet", precision="float32").card.name == "phasenet"
    assert load_model("phasenet_int8").card.precision == "int8"
    with pytest.raises(InputError, match="precision"):
        load_model("phasenet", precision="fp8")
    with pytest.raises(InputError, match="no bundled int8 variant"):
        load_model("seist", precision="int8")


def _picks(anns) -> list[tuple[int, int, int]]:
    """(window, phase, sample) of every pick at the card's thresholds (0.3, 1 s apart)."""
    out = []
    for k, a in enumerate(anns):
        sp = extract_picks(a.prob[None, :2], height=0.3, distance=100)
        out += [(k, int(p), int(i)) for p, i in zip(sp.phase, sp.index, strict=True)]
    return out


def identical_fraction(a, b, tolerance: int = 1) -> float:
    """Picks of ``a`` and ``b`` paired one to one (same window and phase, within ``tolerance``
    samples), over the union of both sets of picks."""
    free = defaultdict(list)
    for k, p, i in b:
        free[(k, p)].append(i)
    matched = 0
    for k, p, i in a:
        cands = free[(k, p)]
        j = next((j for j, v in enumerate(cands) if abs(v - i) <= tolerance), None)
        if j is not None:
            cands.pop(j)
            matched += 1
    return matched / max(1, len(a) + len(b) - matched)


def recall_precision(picks, manual: np.ndarray, phase: int, fs: float = 100.0):
    """Windows whose analyst pick has a pick within 0.5 s, and picks within 0.5 s of one."""
    tol = TOLERANCE_S * fs
    mine = [(k, i) for k, p, i in picks if p == phase]
    hits = {k for k, i in mine if abs(i - manual[k]) <= tol}
    good = sum(1 for k, i in mine if abs(i - manual[k]) <= tol)
    return len(hits) / len(manual), good / max(1, len(mine))


@pytest.fixture(scope="module")
def agreement():
    ref = np.load(shared_file("phasenet", "phasenet_tf_reference.npz"))
    start = obspy.UTCDateTime(2024, 1, 1)
    items = [
        Waveforms("XX", f"R{i}", "", "HH", start, 100.0, ("E", "N", "Z"),
                  np.ascontiguousarray(ref["waveform"][i].T, np.float32), np.ones(3, bool))
        for i in range(len(ref["waveform"]))
    ]  # fmt: skip
    p32 = _picks(annotate(items, load_model("phasenet", threads=2)))
    p8 = _picks(annotate(items, load_model("phasenet", precision="int8", threads=2)))
    scores = {
        "identical": identical_fraction(p32, p8),
        "within_10": identical_fraction(p32, p8, tolerance=10),
    }
    for phase, name in ((0, "P"), (1, "S")):
        manual = ref["p_index"] if phase == 0 else ref["s_index"]
        scores[f"float32_{name}"] = recall_precision(p32, manual, phase)
        scores[f"int8_{name}"] = recall_precision(p8, manual, phase)
    return scores


def test_int8_agreement_does_not_get_worse(agreement):
    """Measured when the variant was made: 0.727 of picks within one sample, 0.966 within
    0.1 s; recall P 0.935 / S 0.896 against float32's 0.942 / 0.903 (one window fewer each);
    precision 0.973 / 0.972, as float32's."""
    assert agreement["identical"] >= 0.70
    assert agreement["within_10"] >= 0.90
    for name in ("P", "S"):
        (r32, p32), (r8, p8) = agreement[f"float32_{name}"], agreement[f"int8_{name}"]
        assert r8 >= r32 - 0.02, (name, r8, r32)
        assert p8 >= p32 - 0.02, (name, p8, p32)


@pytest.mark.xfail(
    strict=True,
    reason="INT8 PhaseNet moves ~27% of picks by more than one sample (bar: 1%); recall is one "
    "window lower for P and S: not a validated fast mode (bench/RESULTS.md, issue 17)",
)
def test_int8_meets_the_fast_mode_bar(agreement):
    assert agreement["identical"] >= 0.99
    for name in ("P", "S"):
        (r32, p32), (r8, p8) = agreement[f"float32_{name}"], agreement[f"int8_{name}"]
        assert r8 >= r32
        assert p8 >= p32


def test_seiscore_pick_fast_runs_the_int8_variant(tmp_path, monkeypatch):
    """``seiscore-pick --fast`` loads ``phasenet_int8`` (and the default stays float32)."""
    from seiscore.cli import pick_main
    from seiscore.workflow import pick as job

    loaded = []
    real = job.load_model

    def spy(*args, **kwargs):
        model = real(*args, **kwargs)
        loaded.append(model.card.name)
        return model

    monkeypatch.setattr(job, "load_model", spy)
    demo = sorted(job.DEMO_DIR.glob("*.mseed"))[0]
    for flags, name in (([], "phasenet"), (["--fast"], "phasenet_int8")):
        out = tmp_path / f"{name}.csv"
        assert pick_main([str(demo), "-o", str(out), "--quiet", *flags]) == 0
        assert out.exists()
        assert loaded[-1] == name
