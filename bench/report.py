"""Markdown table from a pytest-benchmark JSON of bench/test_picking.py.

    python -m pytest bench/test_picking.py --benchmark-only --benchmark-json=out.json
    python bench/report.py out.json

Columns: workload, implementation, median time, GB/s of probabilities read
(n_traces * n_phases * n_samples * 4 bytes / median; GB = 1e9 bytes), and speed-up versus the
SciPy loop (``scipy-loop``) on the same workload.
"""

from __future__ import annotations

import argparse
import json
import sys

REFERENCE = "scipy-loop"
IMPL_ORDER = {"seiscore": 0, "seiscore-1w": 1, "scipy-loop": 2}
IMPL_LABEL = {
    "seiscore": "seiscore (all cores)",
    "seiscore-1w": "seiscore (workers=1)",
    "scipy-loop": "SciPy `find_peaks` loop",
}


def _fmt_time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1.0:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.3f} s"


def _workload_label(info: dict) -> str:
    return f"{info['workload']} [{info['n_traces']}×{info['n_phases']}×{info['n_samples']:,}]"


def rows_from(data: dict) -> list[dict]:
    rows = []
    for b in data.get("benchmarks", []):
        info = b.get("extra_info", {})
        if "workload" not in info or "implementation" not in info:
            continue
        n_bytes = info.get("bytes") or info["n_traces"] * info["n_phases"] * info["n_samples"] * 4
        rows.append(
            {
                "workload": info["workload"],
                "label": _workload_label(info),
                "impl": info["implementation"],
                "median": b["stats"]["median"],
                "rounds": b["stats"]["rounds"],
                "bytes": n_bytes,
            }
        )
    return rows


def markdown_table(rows: list[dict]) -> str:
    ref = {r["workload"]: r["median"] for r in rows if r["impl"] == REFERENCE}
    order = {}
    for r in rows:
        order.setdefault(r["workload"], len(order))
    rows = sorted(
        rows, key=lambda r: (order[r["workload"]], IMPL_ORDER.get(r["impl"], 99), r["impl"])
    )
    lines = [
        "| workload | implementation | median time | GB/s read | speed-up vs SciPy loop |",
        "|---|---|---:|---:|---:|",
    ]
    for r in rows:
        gbs = r["bytes"] / r["median"] / 1e9
        speedup = f"{ref[r['workload']] / r['median']:.1f}×" if r["workload"] in ref else "n/a"
        lines.append(
            f"| {r['label']} | {IMPL_LABEL.get(r['impl'], r['impl'])} | {_fmt_time(r['median'])} "
            f"| {gbs:.2f} | {speedup} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json", help="file written by pytest --benchmark-json=FILE")
    args = parser.parse_args(argv)
    with open(args.json, encoding="utf-8") as f:
        data = json.load(f)
    rows = rows_from(data)
    if not rows:
        print(f"{args.json}: no pick-extraction benchmarks found", file=sys.stderr)
        return 1
    print(markdown_table(rows))
    machine = data.get("machine_info", {})
    cpu = machine.get("cpu", {}).get("brand_raw")
    if cpu:
        python = machine.get("python_version", "?")
        print(f"\nCPU: {cpu}; Python {python}; {data.get('datetime', '')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
