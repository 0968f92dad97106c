"""The binding fuzzer (fuzz_bindings.py) as a test: seeded, bounded in time, in a subprocess so
that a crash is seen as an exit status with the call that caused it."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from seiscore import _core

from .fuzz_bindings import CORPUS

REPO = Path(__file__).resolve().parents[2]


def test_the_corpus_covers_every_binding():
    corpus = pickle.loads(CORPUS.read_bytes())
    bound = {
        f"{sub}.{name}"
        for sub in dir(_core)
        if not sub.startswith("_") and hasattr(getattr(_core, sub), "__dict__")
        and type(getattr(_core, sub)).__name__ == "module"
        for name in dir(getattr(_core, sub))
        if not name.startswith("_") and callable(getattr(getattr(_core, sub), name))
        and not isinstance(getattr(getattr(_core, sub), name), type)  # classes: their builders
    }  # fmt: skip
    missing = bound - set(corpus)
    assert not missing, f"no seed call for {sorted(missing)}: run tools/record_fuzz_corpus.py"


@pytest.mark.parametrize("seed", [11, 12])
def test_fuzz_the_bindings(seed, tmp_path):
    log = tmp_path / "calls.log"
    cmd = [sys.executable, "-m", "tests.robustness.fuzz_bindings", "--seed", str(seed),
           "--seconds", "12", "--call-limit", "5", "--log", str(log)]  # fmt: skip
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    last = log.read_text().splitlines()[-1] if log.exists() and log.read_text() else "?"
    assert proc.returncode == 0, (
        f"the fuzzer died (exit {proc.returncode}) in: {last}\n{proc.stderr}"
    )
    report = json.loads(proc.stdout)
    assert report["calls"] > 500, report
    assert all(n > 0 for n in report["per_function"].values()), report["per_function"]
    assert report["outcomes"]["ok"] > 0, "no mutated call was accepted: the corpus is stale"
    assert not report["failures"], "\n".join(report["failures"][:20])
