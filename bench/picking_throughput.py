"""Picking throughput, same run, same cores: seiscore (exact and INT8 fast mode) against
SeisBench's PhaseNet, per station-day and end to end over a miniSEED archive (issue 17).

    python bench/picking_throughput.py [--rounds 3] [--threads 2] [--days 10] [--json out.json]

Every measurement is a fresh subprocess (its own peak RSS), and the implementations take turns
round by round (seiscore exact, seiscore fast, SeisBench, then again), so that load from other
processes on a shared machine falls on all of them alike; medians are reported with their
ratios to SeisBench.

- station-day: ``bench/peers/seiscore_phasenet.py`` and ``seisbench_phasenet.py`` on the
  synthetic 100 Hz 3-C station-day (Stream in memory → probabilities → picks for seiscore,
  ``annotate`` for SeisBench), overlap 1500 for both.
- archive: ``--days`` station-days (one station per day file, ``make_station_day`` with seeds
  0..days-1, int32 STEIM2 miniSEED) in a folder; seiscore runs ``seiscore-pick``'s job over
  the folder (reading, picking, CSV), SeisBench reads each file with ObsPy and runs
  ``classify``.

SeisBench runs in its own environment: ``SEISCORE_PEER_PYTHON`` (default
``/work/sb-venv/bin/python``) with torch 2.13.0 (CPU) and seisbench; without it only seiscore
is measured.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PEERS = HERE / "peers"
PEER_PYTHON = os.environ.get("SEISCORE_PEER_PYTHON", "/work/sb-venv/bin/python")


def make_archive(folder: Path, days: int) -> Path:
    """``days`` synthetic station-days as miniSEED files (made once, reused)."""
    sys.path.insert(0, str(PEERS))
    from seisbench_phasenet import make_station_day

    folder.mkdir(parents=True, exist_ok=True)
    for k in range(days):
        path = folder / f"XX.DEMO{k}.2024.001.mseed"
        if path.exists():
            continue
        st = make_station_day(seed=k)
        for tr in st:
            tr.stats.station = f"DEMO{k}"
        st.write(str(path), format="MSEED", encoding="STEIM2", reclen=4096)
    return folder


def _run(cmd: list[str]) -> dict:
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def _median(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--days", type=int, default=10, help="station-days in the archive")
    ap.add_argument("--archive-rounds", type=int, default=1)
    ap.add_argument("--folder", type=Path, default=Path("/tmp/seiscore-bench-archive"))
    ap.add_argument("--json", type=Path, help="write every run here")
    args = ap.parse_args(argv)

    peer = Path(PEER_PYTHON).exists()
    t = ["--threads", str(args.threads)]
    ours = [sys.executable, str(PEERS / "seiscore_phasenet.py"), *t]
    theirs = [PEER_PYTHON, str(PEERS / "seisbench_phasenet.py"), *t]
    jobs = {
        "seiscore exact": ours,
        "seiscore exact (ORT)": [*ours, "--engine", "onnxruntime"],
        "seiscore fast (int8)": [*ours, "--precision", "int8"],
        **({"seisbench": theirs} if peer else {}),
    }
    runs: dict[str, list[dict]] = {k: [] for k in jobs}
    for _ in range(args.rounds):
        for name, cmd in jobs.items():
            runs[name].append(_run(cmd))
    folder = make_archive(args.folder, args.days)
    archive: dict[str, list[dict]] = {k: [] for k in jobs}
    for _ in range(args.archive_rounds):
        for name, cmd in jobs.items():
            archive[name].append(_run([*cmd, "--archive", str(folder)]))

    print(f"station-day, {args.threads} threads, median of {args.rounds}:")
    _report(runs, peer)
    print(
        f"archive of {args.days} station-days (reading included), median of {args.archive_rounds}:"
    )
    _report(archive, peer)
    if args.json:
        args.json.write_text(json.dumps({"station_day": runs, "archive": archive}, indent=1))
    return 0


def _report(runs: dict[str, list[dict]], peer: bool) -> None:
    ref = _median(runs["seisbench"], "seconds") if peer else None
    for name, rs in runs.items():
        sec = _median(rs, "seconds")
        ratio = f"{ref / sec:5.2f}x SeisBench" if ref else ""
        print(
            f"  {name:22s} {sec:7.2f} s  cpu {_median(rs, 'cpu_seconds'):7.2f} s  "
            f"{_median(rs, 'station_days_per_hour'):8.0f} station-days/h  "
            f"peak RSS {max(r['peak_rss_mb'] for r in rs):6.0f} MB  {ratio}"
        )


if __name__ == "__main__":
    sys.exit(main())
