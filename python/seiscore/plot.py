"""Figures: waveforms with phase probabilities and picks."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .containers import Annotations, Picks, Waveforms

PHASE_COLOURS = {"P": "tab:red", "S": "tab:blue", "detection": "tab:gray"}


def plot_picks(
    w: Waveforms, ann: Annotations, picks: Picks, path, max_points: int = 200_000
) -> Path:
    """PNG with one panel per component, a probability panel, and the picks as lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    step = max(1, w.n_samples // max_points)
    t = np.arange(0, w.n_samples, step) / w.sampling_rate
    rows = [c for c in range(len(w.components)) if w.present[c]]
    fig, axes = plt.subplots(len(rows) + 1, 1, sharex=True, figsize=(12, 2 + 1.6 * len(rows)))
    start_ns = np.int64(w.starttime.ns)
    mine = (
        (picks.network == w.network) & (picks.station == w.station) & (picks.location == w.location)
    )
    rel = (picks.time[mine].astype(np.int64) - start_ns) / 1e9
    phases = picks.phase[mine]
    for ax, c in zip(axes, rows, strict=False):
        ax.plot(t, w.data[c, ::step], color="k", lw=0.5)
        ax.set_ylabel(f"{w.band}{w.components[c]}")
    for k, name in enumerate(ann.phases):
        axes[-1].plot(
            t, ann.prob[k, ::step], color=PHASE_COLOURS.get(name, None), lw=0.8, label=name
        )
    axes[-1].set_ylim(-0.02, 1.02)
    axes[-1].set_ylabel("probability")
    axes[-1].legend(loc="upper right")
    for ax in axes:
        for r, ph in zip(rel, phases, strict=False):
            ax.axvline(r, color=PHASE_COLOURS.get(ph, "tab:green"), lw=0.8, alpha=0.8)
    axes[-1].set_xlabel(f"seconds after {w.starttime}")
    axes[0].set_title(f"{w.id}  {ann.model}: {int(mine.sum())} picks")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
