"""seiscore's side of the PhaseNet station-day comparison, as a script that reports peak memory.

    python bench/peers/seiscore_phasenet.py --threads 2 [--precision int8]
    python bench/peers/seiscore_phasenet.py --threads 2 --archive DIR [--precision int8]

Same synthetic station-day as ``seisbench_phasenet.py`` (``make_station_day``), same window
(3000 vs SeisBench's 3001 samples), same overlap (1500 samples), std normalisation; times
``Stream → Waveforms → annotate → picks`` and prints a JSON line with seconds, CPU seconds,
peak RSS and station-days per hour. Batch size: seiscore's default (8 windows per call on the
CPU; the result does not depend on it). With ``--archive``: ``seiscore-pick``'s job
(``run_pick_job``: read the miniSEED files, pick every station-day, write the CSV) over the
folder, timed whole.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from seisbench_phasenet import make_station_day  # noqa: E402

# Imported here, before any timer starts, as the SeisBench side imports torch and seisbench
# before its timer (in make_model): one-time imports are not per-station-day work.
from seiscore.io import to_waveforms  # noqa: E402
from seiscore.models import load_model  # noqa: E402
from seiscore.picking import annotate, pick  # noqa: E402
from seiscore.workflow.pick import run_pick_job  # noqa: E402

OVERLAP = 1500  # SeisBench's PhaseNet default, for equal work


def run_seiscore(stream, threads, model=None, precision=None):
    """Stream → picks with the bundled PhaseNet; returns (annotations, picks)."""
    model = model or load_model("phasenet", threads=threads, precision=precision)
    items, _ = to_waveforms(stream, sampling_rate=100.0)
    anns = annotate(items, model, overlap=OVERLAP)
    return anns, pick(items, model, annotations=anns)


def run_archive(folder, threads, precision=None, engine="auto") -> dict:
    """``seiscore-pick FOLDER -o picks.csv``'s job, timed whole (reading included); the model
    is loaded before the timer starts, as SeisBench's is."""
    import tempfile

    model = load_model("phasenet", threads=threads, precision=precision, engine=engine)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        result = run_pick_job([folder], Path(tmp) / "picks.csv", model=model, progress=False)
        seconds = time.perf_counter() - t0
    return {"seconds": seconds, "station_days": result.station_days, "picks": len(result.picks)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--duration-s", type=float, default=86400)
    ap.add_argument("--precision", choices=["float32", "int8"], default="float32")
    ap.add_argument("--archive", help="time seiscore-pick's job over this folder instead")
    ap.add_argument("--engine", choices=["auto", "native", "onnxruntime"], default="auto")
    args = ap.parse_args(argv)
    if args.archive:
        cpu0 = time.process_time()
        out = run_archive(args.archive, args.threads, args.precision, args.engine)
        out["cpu_seconds"] = time.process_time() - cpu0
        out["station_days_per_hour"] = 3600 * out["station_days"] / out["seconds"]
    else:
        stream = make_station_day(duration_s=args.duration_s)
        model = load_model(
            "phasenet", threads=args.threads, precision=args.precision, engine=args.engine
        )
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        _, picks = run_seiscore(stream, args.threads, model)
        seconds = time.perf_counter() - t0
        days = args.duration_s / 86400
        out = {
            "seconds": seconds,
            "cpu_seconds": time.process_time() - cpu0,
            "station_days_per_hour": 3600 * days / seconds,
            "picks": len(picks),
        }
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["precision"] = args.precision
    out["engine"] = args.engine
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
