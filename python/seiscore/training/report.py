"""The training report: loss curves (PNG) and the validation picks of the fine-tuned model
against its base model (JSON and a Markdown table)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

__all__ = ["plot_losses", "write_report"]


def plot_losses(history: list[dict], path, best_epoch: int | None = None) -> Path:
    """Training and validation loss per epoch (epoch 0: the base model, before training)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6))
    tr = [(h["epoch"], h["train_loss"]) for h in history if h.get("train_loss") is not None]
    va = [
        (h["epoch"], h["val_loss"])
        for h in history
        if h.get("val_loss") is not None and math.isfinite(h["val_loss"])
    ]
    if tr:
        ax.plot(*zip(*tr, strict=True), "o-", label="training (augmented)")
    if va:
        ax.plot(*zip(*va, strict=True), "s-", label="validation")
    if best_epoch is not None:
        ax.axvline(best_epoch, color="0.6", ls=":", label=f"kept: epoch {best_epoch}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("cross-entropy")
    ax.set_yscale("log")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _fmt(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def metrics_table(models: dict[str, dict]) -> str:
    """Markdown: one row per model and phase (``models[name][phase]`` = PhaseMetrics dict)."""
    lines = [
        "| model | phase | threshold | TP | FP | missed | precision | recall | "
        "median residual (s) | RMS residual (s) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, phases in models.items():
        for phase, m in phases.items():
            lines.append(
                f"| {name} | {phase} | {_fmt(m['threshold'], 2)} | {m['true_positives']} | "
                f"{m['false_positives']} | {m['misses']} | {_fmt(m['precision'])} | "
                f"{_fmt(m['recall'])} | {_fmt(m['residual_median_s'], 4)} | "
                f"{_fmt(m['residual_rms_s'], 4)} |"
            )
    return "\n".join(lines)


def write_report(folder, summary: dict, history: list[dict], best_epoch: int) -> dict:
    """``report.json``, ``report.md`` and ``losses.png`` in ``folder``; returns their paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    png = plot_losses(history, folder / "losses.png", best_epoch)
    data = dict(summary, history=history, best_epoch=best_epoch)
    js = folder / "report.json"
    tmp = js.with_name(js.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=_jsonable) + "\n")
    os.replace(tmp, js)
    md = folder / "report.md"
    lines = [
        f"# Training report: {summary.get('name', '')}",
        "",
        f"Base model: {summary.get('base')}; data: {summary.get('data')}",
        f"Sampling rate: {summary.get('sampling_rate')} Hz ({summary.get('rate_choice')}); "
        f"window {summary.get('window')} samples",
        f"Epochs: {summary.get('epochs')} (kept: epoch {best_epoch}), "
        f"{summary.get('train_segments')} training and {summary.get('val_segments')} "
        f"validation segments; {_fmt(summary.get('seconds'), 0)} s",
        f"ONNX vs torch on the validation windows: max |diff| "
        f"{_fmt(summary.get('onnx_max_abs_diff'), 8)}",
        "",
        "Validation picks (each model at its card's thresholds):",
        "",
        metrics_table(summary.get("metrics", {})),
        "",
        "![losses](losses.png)",
        "",
    ]
    tmp = md.with_name(md.name + ".tmp")
    tmp.write_text("\n".join(lines))
    os.replace(tmp, md)
    return {"json": js, "markdown": md, "losses": png}


def _jsonable(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)
