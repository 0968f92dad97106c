"""Run a peer associator (PyOcto or GaMMA) on a catalogue saved by bench/test_association.py.

This script runs in the peers' environment (``/work/venv-peers``: pyocto 0.2.2 pins numpy<2 on
Python 3.11), so it imports neither seiscore nor anything built against numpy 2. It reads

* ``picks.npz``: ``pick_idx`` (int), ``station`` (str id), ``phase`` ("P"/"S"),
  ``time`` (float seconds), ``probability``;
* ``stations.npz``: ``id``, ``x_km``, ``y_km``, ``elevation_m``;
* ``config.json``: search box (``xlim``, ``ylim``, ``zlim``, km), ``vp``, ``vs`` (km/s), and the
  peer's own settings under ``pyocto`` / ``gamma``;

and writes ``<out>/assignments.npz`` (``pick_idx``, ``event_idx``), ``<out>/events.npz``
(``event_idx``, ``time`` s, ``x``, ``y``, ``z`` km) and ``<out>/timing.json`` (``associate_s``:
the association call alone; ``cpu_s``: CPU seconds of the whole process and its worker
processes, including reading the files; ``n_picks``).

    python bench/peers/association_peers.py pyocto DIR OUT
    python bench/peers/association_peers.py gamma DIR OUT
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd


def run_pyocto(picks: pd.DataFrame, stations: pd.DataFrame, cfg: dict):
    import pyocto

    p = cfg["pyocto"]
    model = pyocto.VelocityModel0D(
        p_velocity=cfg["vp"],
        s_velocity=cfg["vs"],
        tolerance=p["tolerance"],
        association_cutoff_distance=p.get("association_cutoff_distance"),
    )
    associator = pyocto.OctoAssociator(
        xlim=tuple(cfg["xlim"]),
        ylim=tuple(cfg["ylim"]),
        zlim=tuple(cfg["zlim"]),
        velocity_model=model,
        time_before=p["time_before"],
        n_picks=p["n_picks"],
        n_p_picks=p["n_p_picks"],
        n_s_picks=p["n_s_picks"],
        n_p_and_s_picks=p["n_p_and_s_picks"],
        pick_match_tolerance=p["pick_match_tolerance"],
        n_threads=cfg["threads"],
    )
    st = pd.DataFrame(
        {
            "id": stations["id"],
            "x": stations["x_km"],
            "y": stations["y_km"],
            "z": -stations["elevation_m"] / 1e3,
        }
    )
    pk = pd.DataFrame({"station": picks["station"], "phase": picks["phase"], "time": picks["time"]})
    t0 = time.perf_counter()
    events, assignments = associator.associate(pk, st)
    elapsed = time.perf_counter() - t0
    ev = pd.DataFrame(
        {
            "event_idx": events["idx"].to_numpy(int) if len(events) else np.zeros(0, int),
            "time": events["time"].to_numpy(float) if len(events) else np.zeros(0),
            "x": events["x"].to_numpy(float) if len(events) else np.zeros(0),
            "y": events["y"].to_numpy(float) if len(events) else np.zeros(0),
            "z": events["z"].to_numpy(float) if len(events) else np.zeros(0),
        }
    )
    asg = pd.DataFrame(
        {
            "pick_idx": picks["pick_idx"].to_numpy()[assignments["pick_idx"].to_numpy(int)]
            if len(assignments)
            else np.zeros(0, int),
            "event_idx": assignments["event_idx"].to_numpy(int)
            if len(assignments)
            else np.zeros(0, int),
        }
    )
    return ev, asg, elapsed


def run_gamma(picks: pd.DataFrame, stations: pd.DataFrame, cfg: dict):
    from gamma.utils import association

    g = dict(cfg["gamma"])
    config = {
        "dims": ["x(km)", "y(km)", "z(km)"],
        "x(km)": list(cfg["xlim"]),
        "y(km)": list(cfg["ylim"]),
        "z(km)": list(cfg["zlim"]),
        "vel": {"p": cfg["vp"], "s": cfg["vs"]},
        "use_amplitude": False,
        "ncpu": cfg["threads"],
        **g,
    }
    config["bfgs_bounds"] = [
        (config["x(km)"][0] - 1, config["x(km)"][1] + 1),
        (config["y(km)"][0] - 1, config["y(km)"][1] + 1),
        (config["z(km)"][0] - 1, config["z(km)"][1] + 1),
        (None, None),
    ]
    method = config.pop("method", "BGMM")
    st = pd.DataFrame(
        {
            "id": stations["id"],
            "x(km)": stations["x_km"],
            "y(km)": stations["y_km"],
            "z(km)": -stations["elevation_m"] / 1e3,
        }
    )
    pk = pd.DataFrame(
        {
            "id": picks["station"].to_numpy(),
            "timestamp": pd.to_datetime(picks["time"].to_numpy() * 1e9, unit="ns"),
            "type": picks["phase"].str.lower().to_numpy(),
            "prob": picks["probability"].to_numpy(float)
            if cfg.get("gamma_use_probability")
            else 1.0,
            "amp": 0.0,
        },
        index=np.arange(len(picks)),
    )
    t0 = time.perf_counter()
    events, assignments = association(pk, st, config, event_idx0=0, method=method)
    elapsed = time.perf_counter() - t0
    events = pd.DataFrame(events)
    if len(events):
        times = pd.to_datetime(events["time"]).to_numpy("datetime64[ns]").astype(np.int64) * 1e-9
        ev = pd.DataFrame(
            {
                "event_idx": events["event_index"].to_numpy(int),
                "time": times,
                "x": events["x(km)"].to_numpy(float),
                "y": events["y(km)"].to_numpy(float),
                "z": events["z(km)"].to_numpy(float),
            }
        )
    else:
        ev = pd.DataFrame({"event_idx": [], "time": [], "x": [], "y": [], "z": []})
    asg = (
        pd.DataFrame(assignments, columns=["pick_idx", "event_idx", "prob"])
        if len(assignments)
        else pd.DataFrame({"pick_idx": [], "event_idx": []})
    )
    asg = pd.DataFrame(
        {
            "pick_idx": picks["pick_idx"].to_numpy()[asg["pick_idx"].to_numpy(int)],
            "event_idx": asg["event_idx"].to_numpy(int),
        }
    )
    return ev, asg, elapsed


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[0] not in ("pyocto", "gamma"):
        print(__doc__)
        return 2
    which, data, out = argv[0], Path(argv[1]), Path(argv[2])
    picks = pd.DataFrame(dict(np.load(data / "picks.npz")))
    stations = pd.DataFrame(dict(np.load(data / "stations.npz")))
    cfg = json.loads((data / "config.json").read_text())
    ev, asg, elapsed = (run_pyocto if which == "pyocto" else run_gamma)(picks, stations, cfg)
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / "events.npz", **{c: ev[c].to_numpy() for c in ev.columns})
    np.savez(out / "assignments.npz", **{c: asg[c].to_numpy() for c in ("pick_idx", "event_idx")})
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    cpu = sum(u.ru_utime + u.ru_stime for u in usage)
    (out / "timing.json").write_text(
        json.dumps(
            {"associate_s": elapsed, "cpu_s": cpu, "n_picks": len(picks), "n_events": len(ev)}
        )
    )
    print(
        f"{which}: {len(ev)} events, {len(asg)} assigned picks of {len(picks)} in {elapsed:.2f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
