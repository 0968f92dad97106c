"""QuakeMigrate's detect, timed on given onsets (run with the peers' Python, e.g.
``/work/peers-venv/bin/python``, where ``pip install quakemigrate`` put QuakeMigrate 1.2.2).

    python quakemigrate_detect.py workload.npz result.json ROUNDS THREADS

``workload.npz`` holds ``onsets`` (float64 [n_onsets, n_samples], the raw onsets QuakeMigrate
takes: it clips them at 0.01 and takes their log), ``traveltimes`` (int32 [nx, ny, nz, n_onsets],
samples), ``sampling_rate``, ``timestep_s``, ``pre_pad``, ``post_pad`` (samples) and ``n_out``
(origin-time samples to scan). The loop is QuakeScan._continuous_compute's for detect: per
timestep, the onsets of the timestep plus the pads, ``quakemigrate.core.migrate`` (the 4-D
coalescence map) and ``find_max_coa`` (its maximum, normalised maximum and node per sample),
concatenated. No data reading, onset computation or file writing is timed (seiscore's side
does not time them either). Writes the median wall time per round, each round's times and the
concatenated traces (to check that both sides computed the same).
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np


def detect(onsets, tt, n_out, step, pre, post, threads):
    from quakemigrate.core import find_max_coa, migrate

    n_onsets = onsets.shape[0]
    out = [[], [], []]
    for start in range(0, n_out, step):
        n = min(step, n_out - start)
        window = onsets[:, start : start + pre + n + post]
        map4d = migrate(window, tt, pre, window.shape[1] - pre - n, n_onsets, threads)
        for k, v in enumerate(find_max_coa(map4d, threads)):
            out[k].append(v)
        del map4d
    return [np.concatenate(v) for v in out]


def main(argv):
    src, dst, rounds, threads = argv[1], argv[2], int(argv[3]), int(argv[4])
    with np.load(src) as z:
        w = {k: z[k] for k in z.files}
    onsets = np.ascontiguousarray(w["onsets"], np.float64)
    tt = np.ascontiguousarray(w["traveltimes"], np.int32)
    step = int(round(float(w["timestep_s"]) * float(w["sampling_rate"])))
    args = (int(w["n_out"]), step, int(w["pre_pad"]), int(w["post_pad"]), threads)
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        max_coa, norm, node = detect(onsets, tt, *args)
        times.append(time.perf_counter() - t0)
    np.savez(dst.replace(".json", ".npz"), max_coa=max_coa, norm_coa=norm, max_node=node)
    import quakemigrate

    with open(dst, "w") as f:
        json.dump(
            {
                "median_s": float(np.median(times)),
                "times_s": times,
                "version": quakemigrate.__version__,
            },
            f,
        )


if __name__ == "__main__":
    main(sys.argv)
