"""Record the seed corpus of the binding fuzzer: one valid call per seiscore._core function.

    python tools/record_fuzz_corpus.py

Runs the kernel tests with every function of seiscore._core wrapped; for each function keeps
the smallest call that returned normally (by the bytes of its array arguments), and writes
them to tests/robustness/data/fuzz_corpus.pkl. tests/robustness/test_fuzz.py mutates these
calls (dtypes, shapes, strides, extreme sizes and values) and checks that every binding either
answers or refuses with a Python exception and a message: no crash, no hang.
"""

from __future__ import annotations

import functools
import inspect
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "tests" / "robustness" / "data" / "fuzz_corpus.pkl"
TESTS = ["tests/picking", "tests/traveltime", "tests/association", "tests/location",
         "tests/correlation", "-m", "not slow"]  # fmt: skip
MAX_BYTES = 120_000  # keep the corpus small: calls with larger arrays are not kept


def _arrays(values) -> list[np.ndarray]:
    """The arrays among ``values``, also inside lists, tuples and dicts (a network's layers)."""
    out = []
    for v in values:
        if isinstance(v, np.ndarray):
            out.append(v)
        elif isinstance(v, (list, tuple)):
            out += _arrays(v)
        elif isinstance(v, dict):
            out += _arrays(v.values())
    return out


def _cost(args, kwargs) -> tuple[bool, int]:
    """(has an empty array, bytes of the call when stored): smaller is a better seed; a call
    on empty arrays reaches little of a kernel, so any non-empty call is preferred to it."""
    arrays = _arrays(list(args) + list(kwargs.values()))
    empty, nbytes = any(a.size == 0 for a in arrays), sum(a.nbytes for a in arrays)
    if nbytes > MAX_BYTES:
        return empty, nbytes
    try:  # compiled objects (a ConvNet) are stored through pickle: count what that takes
        size = len(pickle.dumps((args, kwargs), protocol=4))
    except (TypeError, pickle.PicklingError):
        size = MAX_BYTES + 1  # not storable: never kept
    return empty, size


class Recorder:
    def __init__(self):
        self.calls: dict[str, tuple[tuple[bool, int], tuple, dict]] = {}

    def wrap(self, qualname, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            out = fn(*args, **kwargs)
            size = _cost(args, kwargs)
            best = self.calls.get(qualname)
            if size[1] <= MAX_BYTES and (best is None or size < best[0]):
                copy = lambda v: np.array(v, copy=True) if isinstance(v, np.ndarray) else v  # noqa: E731
                self.calls[qualname] = (
                    size,
                    tuple(copy(a) for a in args),
                    {k: copy(v) for k, v in kwargs.items()},
                )
            return out

        return wrapper

    def pytest_sessionstart(self, session):
        from seiscore import _core

        for sub in (getattr(_core, n) for n in dir(_core)):
            if not inspect.ismodule(sub):
                continue
            for name in dir(sub):
                fn = getattr(sub, name)
                if callable(fn) and not name.startswith("_") and not isinstance(fn, type):
                    setattr(sub, name, self.wrap(f"{sub.__name__.split('.')[-1]}.{name}", fn))


def main() -> int:
    rec = Recorder()
    rc = pytest.main(["-q", "-x", "-p", "no:cacheprovider", *TESTS], plugins=[rec])
    if rc != 0:
        print("tests failed; corpus not written", file=sys.stderr)
        return 1
    corpus = {k: (a, kw) for k, (_, a, kw) in sorted(rec.calls.items())}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_bytes(pickle.dumps(corpus, protocol=4))
    print(
        f"{len(corpus)} functions, {OUT.stat().st_size / 1024:.0f} KiB -> {OUT.relative_to(REPO)}"
    )
    for k in corpus:
        print("  ", k)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
