"""PhaseNet on a CUDA GPU: station-days per hour through ONNX Runtime's CUDA provider (issue 17).

    python bench/gpu_picking.py [--days 4] [--batch 256 512 1024] [--json gpu.json]

Needs onnxruntime-gpu (``pip install ".[gpu]"``) and a GPU; exits 2 with a message otherwise.
The path measured is the one ``annotate`` takes with ``device="cuda"``: windows cut and
normalised by the C++ kernels into page-locked (pinned) host buffers when ONNX Runtime can
allocate them (``Model.pinned``), one large batch per call through IO binding (the output
written straight into a pinned buffer), outputs stitched by the C++ kernels. Each batch size
is timed on ``--days`` synthetic station-days (``make_station_day`` seeds 0..days-1, already
as Waveforms: reading is not timed), after one warm-up station-day; probabilities are checked
against the CPU's on the first station-day (max |difference|, expected < 1e-4).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent / "peers"))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=int, default=4)
    ap.add_argument("--batch", type=int, nargs="+", default=[256, 512, 1024])
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)

    import onnxruntime as ort

    if "CUDAExecutionProvider" not in ort.get_available_providers():
        print("no CUDAExecutionProvider: install onnxruntime-gpu on a machine with a GPU")
        return 2
    from seisbench_phasenet import make_station_day

    from seiscore.io import to_waveforms
    from seiscore.models import load_model
    from seiscore.picking import annotate

    days = [
        to_waveforms(make_station_day(seed=k), sampling_rate=100.0)[0] for k in range(args.days)
    ]
    gpu = load_model("phasenet", device="cuda")
    cpu_first = annotate(days[0], load_model("phasenet"))
    results = {"pinned": gpu.pinned, "device": ort.get_device(), "runs": []}
    for batch in args.batch:
        first = annotate(days[0], gpu, batch_size=batch)  # warm-up, and the CPU check
        diff = max(
            float(np.nanmax(np.abs(a.prob - b.prob))) for a, b in zip(first, cpu_first, strict=True)
        )
        t0 = time.perf_counter()
        for items in days:
            annotate(items, gpu, batch_size=batch)
        seconds = time.perf_counter() - t0
        run = {
            "batch": batch,
            "seconds_per_station_day": seconds / args.days,
            "station_days_per_hour": 3600 * args.days / seconds,
            "max_abs_diff_vs_cpu": diff,
        }
        results["runs"].append(run)
        print(json.dumps(run))
    print(f"pinned host buffers: {gpu.pinned}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
