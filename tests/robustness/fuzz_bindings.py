"""A mutation fuzzer for the compiled core (seiscore._core): no crash, no hang, every refusal a
Python exception with a message.

Each round takes one valid call of one binding from the seed corpus
(``data/fuzz_corpus.pkl``, recorded by ``tools/record_fuzz_corpus.py``), mutates one or two of
its arguments (dtype, number of dimensions, a dimension's size, strides, a zero-stride view,
NaN/inf/extreme values, extreme integers such as 2**63 - 1 for sizes and offsets, wrong types,
a missing or absurd configuration entry) and calls it. Outcomes:

* returns, or raises ValueError / TypeError / OverflowError / KeyError / IndexError with a
  non-empty message: fine;
* raises anything else (MemoryError included: a size must be refused before it is allocated),
  or an empty message: a failure;
* runs longer than ``--call-limit`` seconds: a failure (an alarm interrupts the kernel, which
  polls for signals; a kernel that does not stop is caught by the caller's timeout);
* kills the process: the caller sees the exit status and the last call in ``--log``.

    python -m tests.robustness.fuzz_bindings --seed 1 --seconds 30 --log /tmp/fuzz.log
"""

from __future__ import annotations

import argparse
import json
import pickle
import signal
import sys
import time
import warnings
from pathlib import Path

import numpy as np

CORPUS = Path(__file__).resolve().parent / "data" / "fuzz_corpus.pkl"
REFUSALS = (ValueError, TypeError, OverflowError, KeyError, IndexError)
INTS = [0, 1, -1, 2, 3, 7, 2**31 - 1, 2**31, -(2**31), 2**32 + 1, 2**62, 2**63 - 1, -(2**63)]
FLOATS = [0.0, -0.0, 1.0, -1.0, 1e-300, 1e300, -1e300, float("nan"), float("inf"), -float("inf")]
DTYPES = [np.float32, np.float64, np.int8, np.int32, np.int64, np.uint8, np.bool_, np.complex64]


class CallTimeout(Exception):
    pass


def _on_alarm(signum, frame):
    raise CallTimeout()


# ---- mutations of one value ---------------------------------------------------------------


def _mutate_array(rng, a: np.ndarray):
    choice = rng.integers(12)
    if choice == 0:  # another dtype
        return a.astype(DTYPES[rng.integers(len(DTYPES))])
    if choice == 1 and a.ndim:  # one dimension fewer
        return a[0] if a.shape[0] else np.zeros(a.shape[1:], a.dtype)
    if choice == 2:  # one dimension more
        return a[np.newaxis]
    if choice == 3 and a.ndim:  # a dimension changed: empty, one, one more, one fewer
        axis = int(rng.integers(a.ndim))
        n = a.shape[axis]
        new = int(rng.choice([0, 1, n + 1, max(n - 1, 0)]))
        shape = list(a.shape)
        shape[axis] = new
        out = np.zeros(shape, a.dtype)
        sl = tuple(slice(0, min(new, n)) if i == axis else slice(None) for i in range(a.ndim))
        out[sl] = a[sl]
        return out
    if choice == 4 and a.ndim and a.shape[-1] > 1:  # not contiguous
        return a[..., ::2]
    if choice == 5 and a.ndim >= 2:  # transposed view
        return np.swapaxes(a, 0, -1)
    if choice == 6 and a.ndim and a.size:  # a zero-stride (broadcast) view of a larger shape
        shape = list(a.shape)
        shape[-1] = int(rng.choice([shape[-1] * 3 + 1, 100_000]))
        return np.broadcast_to(a.reshape(-1)[:1].reshape((1,) * a.ndim), shape)
    if choice in (7, 8) and a.size and a.dtype.kind == "f":  # special values
        out = a.copy()
        idx = rng.integers(0, a.size, max(1, a.size // 10))
        out.reshape(-1)[idx] = rng.choice([np.nan, np.inf, -np.inf, 1e30, -1e30, 0.0])
        return out
    if choice == 9 and a.size and a.dtype.kind in "iu":  # extreme integers
        out = a.copy()
        info = np.iinfo(a.dtype)
        idx = rng.integers(0, a.size, max(1, a.size // 10))
        out.reshape(-1)[idx] = rng.choice([info.min, info.max, -1, 0])
        return out
    if choice == 10:  # not an array
        return [None, "x", 3, a.tolist()][int(rng.integers(4))]
    return np.empty((0,) * max(a.ndim, 1), a.dtype)  # empty


def _mutate_value(rng, v):
    if isinstance(v, np.ndarray):
        return _mutate_array(rng, v)
    if isinstance(v, bool):
        return [not v, None, 2, "yes"][int(rng.integers(4))]
    if isinstance(v, int):
        return INTS[int(rng.integers(len(INTS)))] if rng.random() < 0.9 else 1.5
    if isinstance(v, float):
        return FLOATS[int(rng.integers(len(FLOATS)))] if rng.random() < 0.9 else "1"
    if isinstance(v, str):
        return ["", "bogus", v * 200, None][int(rng.integers(4))]
    if isinstance(v, (tuple, list)):
        if not v or rng.random() < 0.3:
            return type(v)(list(v) + [0]) if rng.random() < 0.5 else type(v)(list(v)[:-1])
        i = int(rng.integers(len(v)))
        items = list(v)
        items[i] = _mutate_value(rng, items[i])
        return type(v)(items)
    if isinstance(v, dict):
        d = dict(v)
        if d and rng.random() < 0.2:
            d.pop(list(d)[int(rng.integers(len(d)))])
        elif rng.random() < 0.1:
            d["no_such_key"] = 1
        elif d:
            k = list(d)[int(rng.integers(len(d)))]
            d[k] = _mutate_value(rng, d[k])
        return d
    if v is None:
        return [np.zeros(3), 0, "x"][int(rng.integers(3))]
    return None


def _mutate_call(rng, args, kwargs):
    args, kwargs = list(args), dict(kwargs)
    slots = [("a", i) for i in range(len(args))] + [("k", k) for k in kwargs]
    for _ in range(1 + int(rng.random() < 0.25)):
        kind, key = slots[int(rng.integers(len(slots)))]
        if kind == "a":
            args[key] = _mutate_value(rng, args[key])
        else:
            kwargs[key] = _mutate_value(rng, kwargs[key])
    return args, kwargs


def _describe(v) -> str:
    if isinstance(v, np.ndarray):
        return f"array({v.dtype}, shape={v.shape}, strides={v.strides})"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_describe(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)) and len(v) > 8:
        return f"{type(v).__name__}(len={len(v)})"
    return repr(v)


# ---- the run --------------------------------------------------------------------------------


def run(seed: int, seconds: float, call_limit: float, log: Path | None, only: str = "") -> dict:
    from seiscore import _core

    corpus = pickle.loads(CORPUS.read_bytes())
    rng = np.random.default_rng(seed)
    names = sorted(n for n in corpus if only in n)
    if not names:
        raise SystemExit(f"--only {only!r}: no binding of the corpus has it in its name")
    signal.signal(signal.SIGALRM, _on_alarm)
    failures, counts, outcomes = [], {n: 0 for n in names}, {"ok": 0, "refused": 0}
    logf = open(log, "w") if log else None  # noqa: SIM115
    t_end = time.monotonic() + seconds
    i = 0
    while time.monotonic() < t_end:
        name = names[i % len(names)]  # every binding in turn
        i += 1
        args, kwargs = corpus[name]
        if rng.random() < 0.95:
            args, kwargs = _mutate_call(rng, args, kwargs)
        shown = [_describe(a) for a in args] + [f"{k}={_describe(v)}" for k, v in kwargs.items()]
        desc = f"{name}({', '.join(shown)})"
        if logf:
            logf.write(desc + "\n")
            logf.flush()
        fn = getattr(getattr(_core, name.split(".")[0]), name.split(".")[1])
        counts[name] += 1
        t0 = time.monotonic()
        signal.setitimer(signal.ITIMER_REAL, call_limit)
        try:
            fn(*args, **kwargs)
            outcomes["ok"] += 1
        except CallTimeout:
            failures.append(f"no answer within {call_limit} s: {desc}")
        except REFUSALS as e:
            outcomes["refused"] += 1
            if not str(e).strip():
                failures.append(f"{type(e).__name__} without a message: {desc}")
        except Exception as e:  # noqa: BLE001  (anything else is what we look for)
            failures.append(f"{type(e).__name__}: {e} in {desc}")
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        if time.monotonic() - t0 > call_limit:
            failures.append(f"took {time.monotonic() - t0:.1f} s: {desc}")
    if logf:
        logf.close()
    return {"calls": i, "per_function": counts, "outcomes": outcomes, "failures": failures}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--call-limit", type=float, default=5.0)
    p.add_argument("--log", type=Path)
    p.add_argument("--only", default="", help="fuzz only the bindings whose name has this")
    a = p.parse_args(argv)
    warnings.simplefilter("ignore")  # casts to other dtypes warn; the kernels' answers matter
    with np.errstate(all="ignore"):
        print(json.dumps(run(a.seed, a.seconds, a.call_limit, a.log, a.only)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
