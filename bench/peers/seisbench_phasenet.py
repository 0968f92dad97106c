"""Peer benchmark: SeisBench's PhaseNet ``annotate`` on one synthetic station-day.

Runs in the separate benchmark venv (torch + seisbench), not in seiscore's own environment::

    /work/bench-venv/bin/python bench/peers/seisbench_phasenet.py --threads 2

The model is ``seisbench.models.PhaseNet(sampling_rate=100)`` with random weights (never
``from_pretrained``: no download). Speed and memory do not depend on the weights' values.
``annotate`` is called with SeisBench's defaults for PhaseNet (seisbench 0.12.x):

- window (in_samples) 3001 samples, prediction over the whole window (pred_sample (0, 3001))
- overlap 1500 samples (PhaseNet overrides the WaveformModel default of 0), so a step of 1501
- batch_size 256
- stacking "avg" of overlapping windows
- blinding (0, 0)
- per window and per component: subtract the mean, then divide by (std + 1e-10), norm="std"
  (PhaseNet's constructor default; "peak" is the alternative, used by some pretrained weights)
- component order "ZNE" (seisbench config default), grouping "instrument", no filter;
  resampling only if the stream is not already at 100 Hz

SEISBENCH_CACHE_ROOT is pointed at a temporary folder unless it is already set, since
``import seisbench`` creates ``$SEISBENCH_CACHE_ROOT/config.json`` (a local file, no network).

Timing noise on a 2-core machine: annotate predicts in an ``asyncio.to_thread`` worker while the
main thread cuts windows and stacks, so 2 torch/OpenMP threads plus Python share 2 cores and
OpenMP's spin-waiting makes wall time vary (6.5-16 s per station-day measured).
``OMP_WAIT_POLICY=PASSIVE`` in the environment makes it steadier (7.2-8.5 s). Report a median.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time

import numpy as np

os.environ.setdefault("SEISBENCH_CACHE_ROOT", tempfile.mkdtemp(prefix="seisbench-cache-"))

import obspy  # noqa: E402

NETWORK = "XX"
STATION = "DEMO"
CHANNELS = ("HHE", "HHN", "HHZ")
START = obspy.UTCDateTime("2024-01-01T00:00:00")

# SeisBench's annotate defaults for PhaseNet, stated explicitly so the comparison is on equal terms.
SEISBENCH_PHASENET_DEFAULTS = {
    "in_samples": 3001,
    "overlap": 1500,
    "batch_size": 256,
    "stacking": "avg",
    "blinding": (0, 0),
    "norm": "std",
    "component_order": "ZNE",
}


def _wavelet(rng, n, fs, f0, decay_s):
    """Band-limited noise burst with a sharp onset and an exponential coda."""
    t = np.arange(n) / fs
    carrier = rng.standard_normal(n)
    # Crude band limitation: a few cycles of smoothing around f0.
    width = max(1, int(fs / (4.0 * f0)))
    carrier = np.convolve(carrier, np.ones(width) / width, mode="same")
    carrier *= np.sin(2 * np.pi * f0 * t + rng.uniform(0, 2 * np.pi))
    rise = np.minimum(1.0, t / 0.05)
    return carrier * rise * np.exp(-t / decay_s)


def make_station_day(
    seed=0,
    sampling_rate=100.0,
    duration_s=86400,
    n_events=300,
    dtype=np.int32,
    return_picks=False,
):
    """Synthetic 3-component station-day: XX.DEMO..HH{E,N,Z}.

    Background noise (white noise plus a ~0.2 Hz microseism) at roughly 100 counts, with
    ``n_events`` local events, each a P burst (stronger on Z, 5-12 Hz) followed by an S burst
    (stronger on the horizontals, 2-6 Hz) 2-30 s later, amplitudes log-uniform over about three
    orders of magnitude. Data are int32 counts by default, as read from miniSEED.

    With ``return_picks`` it returns ``(stream, picks)`` where picks is a list of
    ``(phase, UTCDateTime)`` of the synthetic onsets.
    """
    rng = np.random.default_rng(seed)
    fs = float(sampling_rate)
    n = int(round(duration_s * fs))
    t = np.arange(n) / fs

    data = np.empty((3, n), dtype=np.float64)  # E, N, Z
    for c in range(3):
        micro = 60.0 * np.sin(2 * np.pi * 0.2 * t + rng.uniform(0, 2 * np.pi))
        micro *= 1.0 + 0.3 * np.sin(2 * np.pi * t / 3600.0 + rng.uniform(0, 2 * np.pi))
        data[c] = micro + 40.0 * rng.standard_normal(n)

    picks = []
    event_len = int(60 * fs)
    onsets = np.sort(rng.uniform(10.0, duration_s - 90.0, size=n_events))
    for t_p in onsets:
        sp = rng.uniform(2.0, 30.0)
        amp = 10 ** rng.uniform(2.5, 5.5)  # counts
        i_p = int(t_p * fs)
        i_s = int((t_p + sp) * fs)
        p_w = _wavelet(rng, event_len, fs, rng.uniform(5.0, 12.0), rng.uniform(1.0, 4.0))
        s_w = _wavelet(rng, event_len, fs, rng.uniform(2.0, 6.0), rng.uniform(3.0, 10.0))
        p_gain = np.array([0.3, 0.3, 1.0]) * amp * 0.4
        s_gain = np.array([1.0, 1.0, 0.4]) * amp
        for c in range(3):
            seg_p = data[c, i_p : i_p + event_len]
            seg_p += p_gain[c] * rng.uniform(0.7, 1.3) * p_w[: seg_p.size]
            seg_s = data[c, i_s : i_s + event_len]
            seg_s += s_gain[c] * rng.uniform(0.7, 1.3) * s_w[: seg_s.size]
        picks.append(("P", START + float(i_p) / fs))
        picks.append(("S", START + float(i_s) / fs))

    if np.dtype(dtype).kind == "i":
        info = np.iinfo(dtype)
        data = np.clip(np.rint(data), info.min, info.max)
    stream = obspy.Stream()
    for c, cha in enumerate(CHANNELS):
        header = {
            "network": NETWORK,
            "station": STATION,
            "location": "",
            "channel": cha,
            "sampling_rate": fs,
            "starttime": START,
        }
        stream.append(obspy.Trace(data=data[c].astype(dtype), header=header))
    del data
    if return_picks:
        return stream, picks
    return stream


_MODEL_CACHE = {}


def make_model(seed=0):
    """Randomly initialised SeisBench PhaseNet at 100 Hz, in eval mode on the CPU."""
    import seisbench.models as sbm
    import torch

    torch.manual_seed(seed)
    model = sbm.PhaseNet(sampling_rate=100)
    model.eval()
    return model.to("cpu")


def run_seisbench(stream, threads, model=None):
    """Run SeisBench PhaseNet ``annotate`` on ``stream``: default args, ``threads`` CPU threads.

    Returns the annotation Stream (PhaseNet_P, PhaseNet_S, PhaseNet_N traces).
    """
    import torch

    torch.set_num_threads(int(threads))
    if model is None:
        if "model" not in _MODEL_CACHE:
            _MODEL_CACHE["model"] = make_model()
        model = _MODEL_CACHE["model"]
    with torch.inference_mode():
        return model.annotate(stream)


def run_archive(folder, threads, model=None) -> dict:
    """SeisBench over a folder of miniSEED station-days as a user would run it: each file read
    with ObsPy (``obspy.read``), then ``model.classify`` (annotate + picks), timed whole."""
    import glob

    import torch

    torch.set_num_threads(int(threads))
    model = model or make_model()
    t0 = time.perf_counter()
    n_picks = 0
    files = sorted(glob.glob(os.path.join(folder, "**", "*.mseed"), recursive=True))
    with torch.inference_mode():
        for path in files:
            out = model.classify(obspy.read(path))
            n_picks += len(out.picks)
    return {"seconds": time.perf_counter() - t0, "station_days": len(files), "picks": n_picks}


def _rss_mb():
    try:
        import psutil

        return psutil.Process().memory_info().rss / 2**20
    except ImportError:  # pragma: no cover
        return float("nan")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--duration-s", type=float, default=86400.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--archive", help="time reading + classify over this folder instead")
    args = parser.parse_args(argv)

    import torch

    if args.archive:
        cpu0 = time.process_time()
        out = run_archive(args.archive, args.threads)
        out["cpu_seconds"] = time.process_time() - cpu0
        out["station_days_per_hour"] = 3600 * out["station_days"] / out["seconds"]
        out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        print(json.dumps(out))
        return 0

    torch.set_num_threads(args.threads)

    t0 = time.perf_counter()
    stream = make_station_day(seed=args.seed, duration_s=args.duration_s)
    t_data = time.perf_counter() - t0

    t0 = time.perf_counter()
    model = make_model(seed=args.seed)
    t_model = time.perf_counter() - t0
    rss_before = _rss_mb()

    cpu0 = time.process_time()
    t0 = time.perf_counter()
    annotations = run_seisbench(stream, args.threads, model=model)
    seconds = time.perf_counter() - t0
    cpu_seconds = time.process_time() - cpu0

    # ru_maxrss is in KiB on Linux: the process's lifetime peak (data + model + annotate).
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    station_days = args.duration_s / 86400.0
    result = {
        "seconds": round(seconds, 3),
        "peak_rss_mb": round(peak_rss_mb, 1),
        "station_days_per_hour": round(3600.0 * station_days / seconds, 2),
        "threads": args.threads,
        "duration_s": args.duration_s,
        "cpu_seconds": round(cpu_seconds, 3),
        "rss_before_annotate_mb": round(rss_before, 1),
        "data_gen_seconds": round(t_data, 3),
        "model_init_seconds": round(t_model, 3),
        "annotation_traces": [tr.id for tr in annotations],
        "annotation_npts": annotations[0].stats.npts if len(annotations) else 0,
        "annotation_dtype": str(annotations[0].data.dtype) if len(annotations) else None,
        "torch": torch.__version__,
        "seisbench": __import__("seisbench").__version__,
        "defaults": SEISBENCH_PHASENET_DEFAULTS,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
