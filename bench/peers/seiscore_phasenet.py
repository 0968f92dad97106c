"""seiscore's side of the PhaseNet station-day comparison, as a script that reports peak memory.

    python bench/peers/seiscore_phasenet.py --threads 2

Same synthetic station-day as ``seisbench_phasenet.py`` (``make_station_day``), same window
(3000 vs SeisBench's 3001 samples), same overlap (1500 samples), std normalisation; times
``Stream → Waveforms → annotate → picks`` and prints a JSON line with seconds, peak RSS and
station-days per hour.
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

OVERLAP = 1500  # SeisBench's PhaseNet default, for equal work
BATCH = 256  # SeisBench's default batch size


def run_seiscore(stream, threads, model=None):
    """Stream → picks with the bundled PhaseNet; returns (annotations, picks)."""
    from seiscore.io import to_waveforms
    from seiscore.models import load_model
    from seiscore.picking import annotate, pick

    model = model or load_model("phasenet", threads=threads)
    items, _ = to_waveforms(stream, sampling_rate=100.0)
    anns = annotate(items, model, batch_size=BATCH, overlap=OVERLAP)
    return anns, pick(items, model, annotations=anns)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--duration-s", type=float, default=86400)
    args = ap.parse_args(argv)
    stream = make_station_day(duration_s=args.duration_s)
    t0 = time.perf_counter()
    _, picks = run_seiscore(stream, args.threads)
    seconds = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    days = args.duration_s / 86400
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_rss_mb": rss,
                "station_days_per_hour": 3600 * days / seconds,
                "picks": len(picks),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
