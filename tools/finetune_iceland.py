#!/usr/bin/env python
"""Fine-tune PhaseNet on QuakeMigrate's Iceland icequakes, and measure before and after.

The record (``../shared/data/quakemigrate_iceland/``: 12 stations × 3C at 500 Hz, 2 min,
Skeiðarárjökull 2014-06-29) and QuakeMigrate's reference picks (``reference/*.picks``: three
icequakes, several versions of each, 33 distinct picks after merging) are GPL-3.0 data: the
fine-tuned model is written outside the repository and never shipped; this script regenerates it.

Steps (each timed):

1. the bundled PhaseNet picks the whole record as shipped (resampled to its 100 Hz), and at the
   data's 500 Hz (its card with ``sampling_rate`` 500: the 6 s window of 3000 samples);
2. ``seiscore train`` fine-tunes it on the training stations (validation stations held out:
   ``--val-stations``, default SKR01, SKR03 and SKR06);
3. the fine-tuned model picks the whole record;
4. picks of 1–3 on the validation stations against the reference picks: recall, false picks
   and residuals (a pick within ``--match-s`` of a reference pick of its phase is a hit; picks
   near an arrival that QuakeMigrate modelled but did not pick are not counted);
5. ``seiscore run`` with the fine-tuned model (and with the bundled one) on the record, with the
   parameters of SOURCE_NOTES.md (homogeneous 3.630 / 1.833 km/s); its events against
   QuakeMigrate's three reference events.

Usage::

    nice python tools/finetune_iceland.py --out /tmp/iceland_finetune [--epochs 12]

Writes ``results.json`` and ``results.md`` (the tables recorded in bench/RESULTS.md) in --out.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "quakemigrate_iceland"
#: QuakeMigrate's detect window (SOURCE_NOTES.md): picks are scored inside it only
SPAN = ("2014-06-29T18:42:05", "2014-06-29T18:42:15")
#: QuakeMigrate's three triggered events; each is located in reference/<EventID>.event
REFERENCE_EVENTS = "example_run_2014_180_TriggeredEvents.csv"


def _seconds(text) -> float:
    import obspy

    return float(obspy.UTCDateTime(str(text)).timestamp)


def reference(data: Path):
    from seiscore.training.picks import merge_duplicates, read_reference_picks

    ref = merge_duplicates(read_reference_picks(data / "reference"), 0.02)
    return ref


def pick_record(data: Path, model, out_csv: Path) -> tuple[object, float]:
    """Picks of the whole record with ``model`` (a name or an ONNX path) and the wall time."""
    from seiscore.workflow.pick import run_pick_job

    t0 = time.perf_counter()
    res = run_pick_job([data / "inputs" / "mSEED"], out_csv, model=str(model), progress=False)
    return res.picks, time.perf_counter() - t0


def score(picks, ref, stations, match_s: float, ignore_s: float) -> dict:
    """Per phase on ``stations``: hits, false picks, misses, recall, precision, residuals."""
    from seiscore.training.evaluate import match_picks

    t_lo, t_hi = (_seconds(t) for t in SPAN)
    times = picks.time.astype("datetime64[ns]").astype(np.int64) / 1e9
    out = {}
    for phase in ("P", "S"):
        res, fp, miss = [], 0, 0
        for sta in stations:
            mine = times[(picks.station == sta) & (picks.phase == phase)]
            mine = mine[(mine >= t_lo) & (mine <= t_hi)]
            here = (ref.station == sta) & (ref.phase == phase)
            truth = ref.time[here & ref.picked]
            ignore = ref.time[here & ~ref.picked]
            r, f, m = match_picks(mine, truth, ignore, match_s, ignore_s)
            res += r
            fp += f
            miss += m
        tp = len(res)
        r = np.asarray(res)
        out[phase] = {
            "hits": tp,
            "false": fp,
            "missed": miss,
            "recall": tp / (tp + miss) if tp + miss else None,
            "precision": tp / (tp + fp) if tp + fp else None,
            "median_residual_s": float(np.median(r)) if tp else None,
            "mean_abs_residual_s": float(np.mean(np.abs(r))) if tp else None,
        }
    return out


def coverage(picks, ref, match_s: float) -> list[dict]:
    """Per reference event: the stations whose reference P / S pick the model also picks."""
    times = picks.time.astype("datetime64[ns]").astype(np.int64) / 1e9
    out = []
    for event in ref.events:
        row = {"event": event}
        for phase in ("P", "S"):
            sel = (ref.event == event) & (ref.phase == phase) & ref.picked
            hit = 0
            for sta, t in zip(ref.station[sel], ref.time[sel], strict=True):
                mine = times[(picks.station == sta) & (picks.phase == phase)]
                hit += bool(np.any(np.abs(mine - t) <= match_s))
            row[phase] = f"{hit}/{int(sel.sum())}"
        out.append(row)
    return out


def card_at_rate(folder: Path, rate: float) -> Path:
    """A copy of the bundled PhaseNet whose card says ``rate`` (same weights)."""
    import shutil

    from seiscore.models import MODELS_DIR

    folder.mkdir(parents=True, exist_ok=True)
    src = MODELS_DIR / "phasenet"
    onnx = folder / f"phasenet_{rate:g}hz.onnx"
    shutil.copyfile(src / "phasenet.onnx", onnx)
    card = json.loads((src / "phasenet.json").read_text())
    card["name"] = onnx.stem
    card["sampling_rate"] = rate
    for phase in card["recommended"].values():
        phase["distance_s"] = phase["distance_s"] * 100.0 / rate
    onnx.with_suffix(".json").write_text(json.dumps(card, indent=2))
    return onnx


def station_table(data: Path, path: Path) -> Path:
    """iceland_stations.txt as a CSV with the records' network and location codes (the text
    file has station names only, and the records are ZK.<station>.01 or ZK.<station>.)."""
    import obspy

    codes = {}
    for f in sorted((data / "inputs" / "mSEED").rglob("*Z2.m")):
        tr = obspy.read(str(f), headonly=True)[0]
        codes[tr.stats.station] = (tr.stats.network, tr.stats.location)
    rows = ["network,station,location,latitude,longitude,elevation"]
    for line in (data / "inputs" / "iceland_stations.txt").read_text().splitlines()[1:]:
        if line.strip():
            lat, lon, elev_km, name = line.split(",")
            net, loc = codes.get(name, ("ZK", ""))
            rows.append(f"{net},{name},{loc},{lat},{lon},{float(elev_km) * 1000:.1f}")
    path.write_text("\n".join(rows) + "\n")
    return path


def run_config(data: Path, model: Path | str, out_dir: Path, detection: str = "both") -> Path:
    """A ``seiscore run`` configuration for the record (SOURCE_NOTES.md's velocities)."""
    stations = station_table(data, out_dir.parent / "iceland_stations.csv")
    text = f"""
[input]
waveforms = ["{data / "inputs" / "mSEED"}"]

[stations]
path = "{stations}"

[model]
vp = 3.630
vs = 1.833

[picking]
model = "{model}"

[association]
xlim = [-2.0, 2.0]
ylim = [-2.0, 2.0]
zlim = [-1.4, 0.6]
cell_km = 0.05
cell_depth_km = 0.1
tolerance_s = 0.03
bin_s = 0.1
block_s = 30.0
min_picks = 6
min_p = 3
min_s = 2
min_p_and_s = 1

[location]
detection = "{detection}"
spacing_km = 0.025
margin_km = 0.3
depth_km = [-1.4, 0.0]
pre_s = 0.3
post_s = 0.6
marginal_window_s = 0.06
min_separation_s = 0.3
match_s = 0.2
match_km = 0.5

[output]
directory = "{out_dir}"
figures = false
"""
    path = out_dir.with_suffix(".toml")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def run_pipeline(data: Path, model, out_dir: Path, detection: str = "both") -> dict:
    """``seiscore run`` on the record; its events against the reference events."""
    import shutil

    import pandas as pd

    from seiscore.cli import main as seiscore_main

    if out_dir.exists():
        shutil.rmtree(out_dir)  # a rerun would resume from the picks already made
    cfg = run_config(data, model, out_dir, detection)
    t0 = time.perf_counter()
    try:
        code = seiscore_main(["run", str(cfg)])
    except Exception as exc:  # recorded, so that the training results are still written
        code = f"{type(exc).__name__}: {str(exc)[:300]}"
    seconds = time.perf_counter() - t0
    events_csv = out_dir / "events.csv"
    found = pd.read_csv(events_csv) if events_csv.is_file() else pd.DataFrame()
    triggered = pd.read_csv(data / "reference" / REFERENCE_EVENTS)
    matches = []
    for event_id in triggered["EventID"].astype(str):
        ev = pd.read_csv(data / "reference" / f"{event_id}.event").iloc[0]
        t_ref = _seconds(ev["DT"])
        best = None
        for _, mine in found.iterrows():
            dt = _seconds(mine["time"]) - t_ref
            if abs(dt) <= 0.3 and (best is None or abs(dt) < abs(best["dt_s"])):
                best = {"dt_s": dt, "offset_m": _offset_m(ev, mine)}
        matches.append({"reference": event_id, "time": str(ev["DT"]), **(best or {})})
    return {
        "exit_code": code,
        "seconds": seconds,
        "events": len(found),
        "found": sum(1 for m in matches if "dt_s" in m),
        "matches": matches,
    }


def _offset_m(ref_row, mine) -> float | None:
    if "latitude" not in mine or not np.isfinite(mine["latitude"]):
        return None
    lat0 = np.radians(ref_row["Y"])
    dx = (mine["longitude"] - ref_row["X"]) * 111.195 * np.cos(lat0)
    dy = (mine["latitude"] - ref_row["Y"]) * 111.195
    dz = mine["depth_km"] - ref_row["Z"] if "depth_km" in mine else 0.0
    return float(1000 * np.sqrt(dx**2 + dy**2 + dz**2))


def main(argv=None) -> int:
    # long function: the script's steps, in order, each timed and recorded
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--out", type=Path, default=Path("/tmp/iceland_finetune"))
    ap.add_argument("--val-stations", nargs="+", default=["SKR01", "SKR03", "SKR06"])
    ap.add_argument("--rate", default="data", help="training rate: data (500 Hz) or model")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--steps-per-epoch", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--lr", type=float, default=3e-4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--match-s", type=float, default=0.1)
    ap.add_argument("--ignore-s", type=float, default=0.06)
    ap.add_argument("--skip-run", action="store_true", help="no seiscore run")
    ap.add_argument(
        "--detection",
        default="both",
        choices=["association", "migration", "both"],
        help="seiscore run's [location] detection",
    )
    args = ap.parse_args(argv)

    import torch

    from seiscore.workflow.train import TrainSettings, run_train_job

    torch.set_num_threads(args.threads)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    ref = reference(args.data)
    val = args.val_stations
    train_stations = sorted(set(ref.station[ref.picked].tolist()) - set(val))
    results: dict = {
        "validation_stations": val,
        "training_stations": train_stations,
        "reference_picks": int(ref.picked.sum()),
    }
    kw = {"match_s": args.match_s, "ignore_s": args.ignore_s}
    models = {
        "PhaseNet (bundled, 100 Hz)": "phasenet",
        "PhaseNet at 500 Hz (same weights)": card_at_rate(out / "base", 500.0),
    }
    for label, model in models.items():
        picks, sec = pick_record(args.data, model, out / f"{Path(str(model)).stem}_picks.csv")
        results[label] = {
            "validation": score(picks, ref, val, **kw),
            "training": score(picks, ref, train_stations, **kw),
            "seconds": sec,
            "coverage": coverage(picks, ref, args.match_s),
        }

    settings = TrainSettings(
        output=str(out / "phasenet_iceland.onnx"),
        waveforms=[str(args.data / "inputs" / "mSEED")],
        picks=[str(args.data / "reference")],
        rate=args.rate,
        val_stations=val,
        epochs=args.epochs,
        steps_per_epoch=args.steps_per_epoch,
        batch_size=args.batch_size,
        lr=args.lr,
        ignore_s=args.ignore_s,
        merge_s=0.02,
        match_s=args.match_s,
        threads=args.threads,
        store=str(out / "iceland_windows.h5"),
        progress=False,
    )
    store = Path(settings.store)
    if store.exists():
        store.unlink()  # rebuild: the timing includes the window store
    t0 = time.perf_counter()
    job = run_train_job(settings)
    results["train_seconds"] = time.perf_counter() - t0
    results["train"] = {
        k: job.summary[k]
        for k in (
            "sampling_rate",
            "rate_choice",
            "thresholds",
            "best_epoch",
            "onnx_max_abs_diff",
            "store_contents",
            "metrics",
        )
    }
    results["train"]["history"] = [
        {k: v for k, v in h.items()} for h in json.loads(job.report["json"].read_text())["history"]
    ]
    picks, sec = pick_record(args.data, job.onnx, out / "finetuned_picks.csv")
    results["fine-tuned"] = {
        "validation": score(picks, ref, val, **kw),
        "training": score(picks, ref, train_stations, **kw),
        "seconds": sec,
        "coverage": coverage(picks, ref, args.match_s),
    }
    if not args.skip_run:
        results["run fine-tuned"] = run_pipeline(
            args.data, job.onnx, out / "run_finetuned", args.detection
        )
        results["run bundled"] = run_pipeline(
            args.data, "phasenet", out / "run_bundled", args.detection
        )
    (out / "results.json").write_text(json.dumps(results, indent=2, default=str))
    (out / "results.md").write_text(markdown(results))
    print(markdown(results))
    return 0


def _f(v, d=3) -> str:
    return "–" if v is None else f"{v:.{d}f}"


def markdown(r: dict) -> str:
    lines = [
        f"Validation stations {', '.join(r['validation_stations'])}; training stations "
        f"{', '.join(r['training_stations'])}; {r['reference_picks']} reference picks.",
        "",
        "| model | phase | hits | missed | false | recall | median residual (s) | "
        "mean abs residual (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label in ("PhaseNet (bundled, 100 Hz)", "PhaseNet at 500 Hz (same weights)", "fine-tuned"):
        for phase, m in r[label]["validation"].items():
            lines.append(
                f"| {label} | {phase} | {m['hits']} | {m['missed']} | {m['false']} | "
                f"{_f(m['recall'], 2)} | {_f(m['median_residual_s'], 4)} | "
                f"{_f(m['mean_abs_residual_s'], 4)} |"
            )
    lines += [
        "",
        f"Fine-tune wall time (store + training + export + report): "
        f"{r['train_seconds']:.0f} s; ONNX vs torch max diff "
        f"{r['train']['onnx_max_abs_diff']:.2e}; thresholds {r['train']['thresholds']}.",
    ]
    lines += [
        "",
        "Reference picks also picked, per event, all stations (P, S; training stations included):",
        "",
    ]
    for label in ("PhaseNet (bundled, 100 Hz)", "PhaseNet at 500 Hz (same weights)", "fine-tuned"):
        cov = "; ".join(f"{c['event']}: P {c['P']}, S {c['S']}" for c in r[label]["coverage"])
        lines.append(f"- {label}: {cov}")
    lines.append("")
    for key in ("run fine-tuned", "run bundled"):
        if key in r:
            run = r[key]
            lines.append(
                f"`seiscore run` ({key[4:]}): exit {run['exit_code']}, {run['events']} "
                f"events, {run['found']}/3 reference events found "
                f"({run['seconds']:.0f} s): {run['matches']}"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
