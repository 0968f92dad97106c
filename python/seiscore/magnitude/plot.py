"""Figures of magnitudes: frequency–magnitude distribution and magnitude against time."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .._atomic import save_figure
from .stats import gutenberg_richter

__all__ = ["MIN_EVENTS_FOR_B", "plot_frequency_magnitude", "plot_magnitude_time"]

#: The b-value and Mc are drawn only from this many events on.
MIN_EVENTS_FOR_B = 50


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_frequency_magnitude(magnitudes, path, bin_width: float = 0.1, title: str = "") -> Path:
    """Cumulative and per-bin counts against magnitude; with at least
    :data:`MIN_EVENTS_FOR_B` events, Mc (maximum curvature) and the maximum-likelihood
    Gutenberg–Richter line with its b-value."""
    plt = _pyplot()
    m = np.asarray(magnitudes, dtype=np.float64)
    m = m[np.isfinite(m)]
    fig, ax = plt.subplots(figsize=(6, 4.5))
    if m.size:
        edges = np.arange(np.floor(m.min() / bin_width) - 0.5, np.ceil(m.max() / bin_width) + 1.5)
        centres = (edges[:-1] + 0.5) * bin_width
        per_bin = np.histogram(m / bin_width, edges)[0]
        cumulative = per_bin[::-1].cumsum()[::-1]
        ax.semilogy(centres, cumulative, "ks", ms=4, label="cumulative")
        ax.semilogy(
            centres[per_bin > 0],
            per_bin[per_bin > 0],
            "o",
            mfc="none",
            mec="0.4",
            ms=4,
            label="per bin",
        )
        if m.size >= MIN_EVENTS_FOR_B:
            gr = gutenberg_richter(m, bin_width)
            mm = np.linspace(gr.mc, m.max(), 20)
            ax.semilogy(
                mm,
                10 ** (gr.a - gr.b * mm),
                "r-",
                label=f"b = {gr.b:.2f} ± {gr.b_uncertainty:.2f} (MLE, n={gr.n})",
            )
            ax.axvline(gr.mc, color="r", ls="--", lw=1, label=f"Mc = {gr.mc:.1f} (max. curvature)")
        else:
            ax.text(
                0.98,
                0.95,
                f"{m.size} events: b-value needs {MIN_EVENTS_FOR_B}",
                transform=ax.transAxes,
                ha="right",
                va="top",
                fontsize=8,
            )
        ax.legend(fontsize=8)
    ax.set(
        xlabel="magnitude",
        ylabel="number of events",
        title=title or f"frequency–magnitude ({m.size} events)",
    )
    return save_figure(fig, path, tight_layout=True)


def plot_magnitude_time(times, magnitudes, path, title: str = "") -> Path:
    """Magnitude of every event against its origin time (stems), with the cumulative count."""
    plt = _pyplot()
    t = np.asarray(times, dtype="datetime64[ns]")
    m = np.asarray(magnitudes, dtype=np.float64)
    ok = np.isfinite(m)
    fig, ax = plt.subplots(figsize=(8, 3.5))
    if ok.any():
        ax.vlines(t[ok], m[ok].min() - 0.2, m[ok], color="0.6", lw=0.8)
        ax.plot(t[ok], m[ok], "o", ms=4, color="tab:red")
        ax2 = ax.twinx()
        order = np.argsort(t)
        ax2.step(t[order], np.arange(1, len(t) + 1), where="post", color="k", lw=1)
        ax2.set_ylabel("cumulative number of events")
    ax.set(
        xlabel="origin time (UTC)",
        ylabel="magnitude",
        title=title or f"{int(ok.sum())} of {len(m)} events with a magnitude",
    )
    fig.autofmt_xdate()
    return save_figure(fig, path, tight_layout=True)
