"""Pick extraction on one synthetic station-day of P and S probabilities (100 Hz).

Run:  python examples/pick_extraction.py
"""

import time

import numpy as np

import seiscore
from seiscore.picking import extract_picks

fs = 100.0
n = int(86400 * fs)
rng = np.random.default_rng(1)
t = np.arange(n)
prob = np.abs(rng.normal(0, 0.003, (1, 2, n))).astype(np.float32)  # low background
onsets = np.sort(rng.choice(n - 3000, 500, replace=False))
for k, phase_delay in enumerate([0, 800]):  # S about 8 s after P
    for o in onsets:
        c = o + phase_delay
        sl = slice(c - 60, c + 61)
        prob[0, k, sl] += rng.uniform(0.2, 1.0) * np.exp(-0.5 * ((t[sl] - c) / 15.0) ** 2)

print(f"seiscore {seiscore.__version__}: {prob.nbytes / 1e6:.0f} MB of probabilities")
t0 = time.perf_counter()
picks = extract_picks(prob, height=0.3, distance=1.0, sampling_rate=fs)
dt = time.perf_counter() - t0
print(f"{len(picks)} picks in {dt * 1e3:.1f} ms ({prob.nbytes / dt / 1e9:.1f} GB/s)")
df = picks.to_dataframe()
df["phase"] = np.array(["P", "S"])[df["phase"]]
df["time_s"] = df["position"] / fs
print(df.head(8).to_string(index=False))
