"""The pickers side by side on the same data: PhaseNet, SeisT (each size) and the China Seismic
Network (pnsn) pickers — speed on a station-day and accuracy on labelled windows.

Run from the repository root (needs ``../shared/data``; the SeisT sizes are converted on the
fly with ``tools/convert_seist.py``'s code, which needs ``onnx``), then print the table::

    python -m pytest bench/test_picker_comparison.py --benchmark-only \\
        --benchmark-json=pickers.json
    python bench/test_picker_comparison.py pickers.json

**Accuracy**: the 154 real three-component 30-s windows of
``phasenet/phasenet_tf_reference.npz`` (NCEDC, 100 Hz, raw counts, analysts' P and S sample in
each). Each window is one ``Waveforms`` (resampled to 50 Hz for SeisT by
``seiscore.io.to_waveforms``), picked with ``seiscore.picking.pick`` at each card's recommended
thresholds (PhaseNet and SeisT 0.3, 1 s apart; pnsn 0.3, 10 s apart), as the models ship. A pick
of the right phase within 0.5 s of the analyst's is a true positive (at most one per label);
recall = TP / labels, precision = TP / picks of that phase; residual = pick − analyst (s).
Windows shorter than a model's input (SeisT 8192 samples = 164 s, pnsn 5889) are normalised over
their own samples and zero-padded, as ``annotate`` does for short records.

**Speed**: one synthetic 100 Hz three-component station-day (``bench/peers``'
``make_station_day``), ``Stream → Waveforms (resampled to the model's rate) → annotate → picks``
on 2 threads, reported as station-days per hour.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
PEERS = Path(__file__).resolve().parent / "peers"
sys.path.insert(0, str(PEERS))
sys.path.insert(0, str(REPO / "tools"))

THREADS = int(os.environ.get("SEISCORE_BENCH_THREADS", "2"))
TOLERANCE_S = 0.5
PNSN = ("rnn", "eqt", "unet", "lppnt", "lppnm", "lppnl")
PICKERS = ("phasenet", "seist_s", "seist_m", "seist_l") + tuple(f"pnsn_{n}" for n in PNSN)
CONVERTED = Path(os.environ.get("SEISCORE_BENCH_SEIST_DIR", "/tmp/seiscore-bench-seist"))


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared data not available: {path}")
    return path


def load_picker(name: str, threads: int = THREADS):
    """A picker by its name in :data:`PICKERS`."""
    from seiscore.models import load_model

    if name == "phasenet":
        return load_model("phasenet", threads=threads)
    if name.startswith("seist_"):
        ckpt = f"seist_{name[-1]}_dpk_diting"
        path = CONVERTED / ckpt / f"{ckpt}.onnx"
        if not path.exists():
            from convert_seist import convert

            pretrained = _need(SHARED / "seist" / "pretrained")
            convert(pretrained / f"{ckpt}.pth", CONVERTED, ckpt, None)
        return load_model(path, threads=threads)
    short = name.removeprefix("pnsn_")
    onnx_path = _need(SHARED / "pnsn" / "pickers" / f"{short}.onnx")
    return load_model(
        onnx_path, card=REPO / "tests" / "data" / "cards" / f"{name}.json", threads=threads
    )


def labelled_windows():
    """The 154 labelled NCEDC windows as one Stream each, with the analysts' P and S offsets
    (s from the window start)."""
    import obspy

    ref = np.load(_need(SHARED / "phasenet" / "phasenet_tf_reference.npz"))
    start = obspy.UTCDateTime("2020-01-01T00:00:00")
    out = []
    for k in range(ref["waveform"].shape[0]):
        traces = [
            obspy.Trace(
                ref["waveform"][k, :, c].astype(np.float64),
                {
                    "network": "NC",
                    "station": f"W{k:03d}",
                    "channel": f"HH{comp}",
                    "sampling_rate": 100.0,
                    "starttime": start,
                },
            )
            for c, comp in enumerate("ENZ")
        ]
        out.append((obspy.Stream(traces), ref["p_index"][k] / 100.0, ref["s_index"][k] / 100.0))
    return out


def evaluate(model, windows) -> dict:
    """Recall, precision and residuals (s) at :data:`TOLERANCE_S` for P and S over ``windows``,
    and the inference seconds."""
    from seiscore.io import to_waveforms
    from seiscore.picking import pick

    found = {"P": [], "S": []}
    n_picks = {"P": 0, "S": 0}
    t0 = time.perf_counter()
    for stream, p_s, s_s in windows:
        items, _ = to_waveforms(
            stream, sampling_rate=model.card.sampling_rate, components=model.card.channel_order
        )
        picks = pick(items, model)
        rel = (picks.time - np.datetime64(items[0].starttime.ns, "ns")) / np.timedelta64(1, "s")
        for phase, truth in (("P", p_s), ("S", s_s)):
            mine = rel[picks.phase == phase]
            n_picks[phase] += mine.size
            if mine.size:
                best = mine[np.argmin(np.abs(mine - truth))] - truth
                if abs(best) <= TOLERANCE_S:
                    found[phase].append(best)
    seconds = time.perf_counter() - t0
    out = {"windows": len(windows), "seconds": seconds}
    for phase in ("P", "S"):
        r = np.asarray(found[phase])
        out[phase] = {
            "recall": r.size / len(windows),
            "precision": r.size / n_picks[phase] if n_picks[phase] else float("nan"),
            "mean_s": float(r.mean()) if r.size else float("nan"),
            "std_s": float(r.std()) if r.size else float("nan"),
            "mae_s": float(np.abs(r).mean()) if r.size else float("nan"),
        }
    return out


def station_day_speed(model, stream) -> dict:
    """Seconds for one station-day, Stream → picks, and station-days per hour."""
    from seiscore.io import to_waveforms
    from seiscore.picking import pick

    t0 = time.perf_counter()
    items, _ = to_waveforms(
        stream, sampling_rate=model.card.sampling_rate, components=model.card.channel_order
    )
    picks = pick(items, model)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "station_days_per_hour": 3600.0 / seconds, "picks": len(picks)}


def markdown_table(rows: dict) -> str:
    """The comparison table (one row per picker) from ``{name: {"accuracy": ..., "speed":
    ...}}``."""
    head = (
        "| picker | station-days / h (2 cores) | P recall | P precision | P residual mean ± std "
        "(MAE), s | S recall | S precision | S residual mean ± std (MAE), s |\n"
        "|---|---|---|---|---|---|---|---|\n"
    )
    lines = []
    for name, r in rows.items():
        a, s = r.get("accuracy"), r.get("speed")
        cells = [name, f"{s['station_days_per_hour']:.0f}" if s else "–"]
        for phase in ("P", "S"):
            q = a[phase]
            cells += [
                f"{q['recall']:.3f}",
                f"{q['precision']:.3f}",
                f"{q['mean_s']:+.3f} ± {q['std_s']:.3f} ({q['mae_s']:.3f})",
            ]
        lines.append("| " + " | ".join(cells) + " |")
    return head + "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def windows():
    return labelled_windows()


@pytest.fixture(scope="module")
def station_day():
    from seisbench_phasenet import make_station_day

    return make_station_day(seed=0)


@pytest.mark.parametrize("name", PICKERS)
def test_picker_accuracy(benchmark, windows, name):
    model = load_picker(name)
    result = benchmark.pedantic(evaluate, args=(model, windows), rounds=1, iterations=1)
    benchmark.extra_info.update(workload="154 labelled windows", picker=name, **result)
    assert result["P"]["recall"] > 0.0


@pytest.mark.parametrize("name", PICKERS)
def test_picker_station_day(benchmark, station_day, name):
    model = load_picker(name)
    result = benchmark.pedantic(
        station_day_speed, args=(model, station_day), rounds=1, iterations=1
    )
    benchmark.extra_info.update(workload="station-day", picker=name, threads=THREADS, **result)


def table_from_json(path) -> str:
    """The comparison table from a ``--benchmark-json`` file of this module."""
    rows: dict = {}
    for b in json.loads(Path(path).read_text())["benchmarks"]:
        info = b["extra_info"]
        kind = "accuracy" if info["workload"].startswith("154") else "speed"
        rows.setdefault(info["picker"], {})[kind] = info
    return markdown_table({k: rows[k] for k in PICKERS if "accuracy" in rows.get(k, {})})


if __name__ == "__main__":
    print(table_from_json(sys.argv[1]))
