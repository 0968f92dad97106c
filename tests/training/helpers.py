"""Tiny synthetic training data: segments with impulsive P and S arrivals in noise, and a
SeisBench-format data set made of them."""

from __future__ import annotations

import numpy as np

WINDOW = 3000


def wavelet(n: int, rng, period: float = 20.0, decay: float = 60.0) -> np.ndarray:
    t = np.arange(n)
    return np.sin(2 * np.pi * t / period + rng.uniform(0, 6)) * np.exp(-t / decay)


def synthetic_trace(rng, length: int, p: int, s: int) -> np.ndarray:
    """[3, length] (E, N, Z): noise, a P burst on Z, a larger S burst on E and N."""
    x = rng.standard_normal((3, length)).astype(np.float32)
    n = min(600, length - p)
    x[2, p : p + n] += 12 * wavelet(n, rng, 12.0)
    x[:2, p : p + n] += 3 * wavelet(n, rng, 12.0)
    n = min(900, length - s)
    x[:2, s : s + n] += 25 * wavelet(n, rng, 25.0, 120.0)
    return x


def write_seisbench(
    folder, rng, n_traces: int = 6, length: int = 6000, rate: float = 100.0, blocks: bool = True
):
    """A SeisBench data set (metadata.csv + waveforms.hdf5, ZNE order, channels first) of
    synthetic traces, two traces per event; returns the P and S samples written."""
    import h5py
    import pandas as pd

    folder.mkdir(parents=True, exist_ok=True)
    rows, data = [], []
    for i in range(n_traces):
        p = int(rng.integers(1000, 4000))
        s = p + int(rng.integers(150, 600))
        x = synthetic_trace(rng, length, p, s)[[2, 1, 0]]  # E,N,Z -> Z,N,E
        data.append(x)
        name = f"bucket0${i},:3,:{length}" if blocks else f"trace{i}"
        rows.append(
            {
                "trace_name": name,
                "source_id": f"ev{i // 2}",
                "station_network_code": "XX",
                "station_code": f"S{i:02d}",
                "station_location_code": "",
                "trace_sampling_rate_hz": rate,
                "trace_start_time": "2020-01-01T00:00:00.000000Z",
                "trace_P_arrival_sample": p,
                "trace_S_arrival_sample": s,
            }
        )
    pd.DataFrame(rows).to_csv(folder / "metadata.csv", index=False)
    with h5py.File(folder / "waveforms.hdf5", "w") as h5:
        fmt = h5.create_group("data_format")
        fmt.create_dataset("component_order", data="ZNE")
        fmt.create_dataset("dimension_order", data="CW")
        g = h5.create_group("data")
        if blocks:
            g.create_dataset("bucket0", data=np.stack(data))
        else:
            for i, x in enumerate(data):
                g.create_dataset(f"trace{i}", data=x)
    return [(r["trace_P_arrival_sample"], r["trace_S_arrival_sample"]) for r in rows]
