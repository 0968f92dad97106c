"""`seiscore` command line: info."""

from __future__ import annotations

import argparse
import json


def _cmd_info(args: argparse.Namespace) -> int:
    from .._backend import build_info

    info = build_info()
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return 0
    print(f"seiscore {info['package_version']} (core {info['version']})")
    print(f"  python        {info['python']}, numpy {info['numpy']}")
    print(f"  compiler      {info['compiler']} ({info['build_type']})")
    omp = f"yes (OpenMP {info['openmp_version']})" if info["openmp"] else "no (std::thread)"
    print(f"  openmp        {omp}, {info['max_threads']} threads")
    if info["cuda_built"]:
        rt = info["cuda_runtime_version"]
        print(f"  cuda built    yes (runtime {rt // 1000}.{(rt % 1000) // 10})")
    else:
        print("  cuda built    no")
    if info["cuda_device_available"]:
        for d in info["cuda_devices"]:
            cc = ".".join(map(str, d["compute_capability"]))
            gib = d["total_memory"] / 2**30
            print(f"  cuda device   {d['index']}: {d['name']} (sm {cc}, {gib:.0f} GiB)")
    else:
        print("  cuda device   none available")
    return 0
