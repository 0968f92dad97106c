"""Where one PhaseNet station-day goes: each step of ``seiscore-pick``'s path timed on its own
(issue 17).

    python bench/profile_picking.py [--precision int8] [--repeat 3]

The station-day is ``make_station_day(seed=0)`` (100 Hz, 3 components, int32) written once as
STEIM2 miniSEED. Steps, each timed alone on one thread (best of ``--repeat``; CPU seconds of
the calling thread, so that other load on a shared machine counts less):

decode     ``read_waveform_files`` (ObsPy's miniSEED reader)
merge      ``to_waveforms`` (per component merge, gaps as NaN, common grid, float32); no
           resampling is needed at 100 Hz, so this is all of it
plan       the gap-free runs and the window plan (``_core.picking.plan_windows``)
window     cutting and normalising every window into batches (``cut_windows``)
network    ONNX Runtime on every batch (``Model.run_into``), 8 windows per call
stitch     tapered overlap-add of the outputs and the final division (``stitch_windows``,
           ``finish_stitch``)
extract    picks, amplitudes and SNR (``pick`` with the annotations given)

Then the whole ``annotate`` with 2 threads (wall seconds), as ``seiscore-pick`` runs it.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent / "peers"))


def _best(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.thread_time()
        fn()
        best = min(best, time.thread_time() - t0)
    return best


def main(argv=None) -> int:  # long function: one timed step after the other, as listed above
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--precision", choices=["float32", "int8"], default="float32")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--file", type=Path, default=Path("/tmp/seiscore-profile-day.mseed"))
    args = ap.parse_args(argv)

    from seisbench_phasenet import make_station_day

    from seiscore import _core
    from seiscore.io import to_waveforms
    from seiscore.io.waveforms import read_waveform_files
    from seiscore.models import load_model
    from seiscore.picking import annotate, pick

    if not args.file.exists():
        make_station_day(seed=0).write(str(args.file), format="MSEED", encoding="STEIM2")
    model = load_model("phasenet", threads=1, precision=args.precision)
    card = model.card
    out = {}
    out["decode"] = _best(lambda: read_waveform_files([args.file]), args.repeat)
    st, _ = read_waveform_files([args.file])
    out["merge"] = _best(lambda: to_waveforms(st, sampling_rate=100.0), args.repeat)
    (w,), _ = to_waveforms(st, sampling_rate=100.0)
    rows = np.arange(3, dtype=np.int64)
    n_win, overlap, batch = card.window_length, 1500, model.batch_size
    out["plan"] = _best(
        lambda: _core.picking.plan_windows(w.data, rows, n_win, n_win - overlap), args.repeat
    )
    plan = _core.picking.plan_windows(w.data, rows, n_win, n_win - overlap)
    n = len(plan["start"])
    spans = [(b, min(b + batch, n)) for b in range(0, n, batch)]
    xs = [np.empty((b1 - b0, 3, n_win), np.float32) for b0, b1 in spans]
    ys = [np.empty((b1 - b0, len(card.labels), n_win), np.float32) for b0, b1 in spans]

    def cut():
        for (b0, b1), x in zip(spans, xs, strict=True):
            _core.picking.cut_windows(
                w.data, rows, plan["start"][b0:b1], plan["valid"][b0:b1], x, card.normalisation
            )

    def network():
        for x, y in zip(xs, ys, strict=True):
            model.run_into(x, y)

    labels = np.array([1, 2], np.int64)

    def stitch():
        acc = np.zeros((2, w.n_samples), np.float32)
        weight = np.zeros(w.n_samples, np.float32)
        for (b0, b1), y in zip(spans, ys, strict=True):
            _core.picking.stitch_windows(
                y, labels, plan["start"][b0:b1], plan["valid"][b0:b1], plan["left"][b0:b1],
                plan["right"][b0:b1], overlap // 2, acc, weight,
            )  # fmt: skip
        _core.picking.finish_stitch(acc, weight)

    out["window"] = _best(cut, args.repeat)
    cut()
    out["network"] = _best(network, args.repeat)
    network()
    out["stitch"] = _best(stitch, args.repeat)
    anns = annotate(w, model, overlap=overlap)
    out["extract"] = _best(lambda: pick(w, model, annotations=anns), args.repeat)
    total = sum(out.values())
    print(f"{n} windows, {len(spans)} calls of {batch}; CPU seconds of one thread:")
    for k, v in out.items():
        print(f"  {k:8s} {v:7.3f} s  {100 * v / total:5.1f} %")
    print(f"  {'sum':8s} {total:7.3f} s")
    two = load_model("phasenet", threads=2, precision=args.precision)
    annotate(w, two, overlap=overlap)
    t0 = time.perf_counter()
    annotate(w, two, overlap=overlap)
    print(f"annotate with 2 threads: {time.perf_counter() - t0:.3f} s wall")
    return 0


if __name__ == "__main__":
    sys.exit(main())
