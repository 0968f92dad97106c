"""Catalogue figures a seismologist reads: a map with two depth cross-sections, and a record
section per event.

* :func:`plot_catalogue_map`: epicentres on a map (symbol size from magnitude where there is
  one, colour from depth) with the stations, and two cross-sections (depth against longitude
  below the map, depth against latitude beside it) sharing the map's axes.
* :func:`plot_record_section`: an event's records sorted by distance, each normalised, with the
  picks (solid) and the predicted P and S arrivals (dashed) marked.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ._atomic import save_figure

__all__ = ["magnitude_sizes", "plot_catalogue_map", "plot_record_section"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def magnitude_sizes(magnitudes, smallest: float = 8.0, largest: float = 500.0) -> np.ndarray:
    """Marker areas (points²) growing ×2.5 per magnitude unit from the smallest magnitude,
    at most ``largest``; events without a magnitude get the smallest size."""
    m = np.asarray(magnitudes, dtype=np.float64)
    if not np.isfinite(m).any():
        return np.full(m.shape, 25.0)
    low = np.nanmin(m)
    return np.where(np.isfinite(m), np.minimum(smallest * 2.5 ** (m - low), largest), smallest)


def plot_catalogue_map(path, stations, events, title: str = "") -> Path:
    """``events``: a table with ``latitude, longitude, depth_km`` and optionally ``magnitude``;
    ``stations``: a Stations table."""
    plt = _pyplot()
    fig = plt.figure(figsize=(8, 7.5))
    grid = fig.add_gridspec(
        2, 2, width_ratios=(3, 1), height_ratios=(3, 1), wspace=0.05, hspace=0.05
    )
    ax = fig.add_subplot(grid[0, 0])
    below = fig.add_subplot(grid[1, 0], sharex=ax)
    side = fig.add_subplot(grid[0, 1], sharey=ax)
    lat = np.asarray(events["latitude"], np.float64)
    lon = np.asarray(events["longitude"], np.float64)
    depth = np.asarray(events["depth_km"], np.float64)
    mags = (
        np.asarray(events["magnitude"], np.float64)
        if "magnitude" in events
        else np.full(len(lat), np.nan)
    )
    sizes = magnitude_sizes(mags)
    ax.plot(stations.longitude, stations.latitude, "k^", ms=7, label="stations")
    for k in range(len(stations)):
        ax.annotate(
            str(stations.station[k]),
            (stations.longitude[k], stations.latitude[k]),
            fontsize=6,
            xytext=(3, 3),
            textcoords="offset points",
        )
    if len(lat):
        sc = ax.scatter(lon, lat, s=sizes, c=depth, cmap="viridis_r", edgecolors="k", lw=0.4)
        below.scatter(lon, depth, s=sizes, c=depth, cmap="viridis_r", edgecolors="k", lw=0.4)
        side.scatter(depth, lat, s=sizes, c=depth, cmap="viridis_r", edgecolors="k", lw=0.4)
        fig.colorbar(sc, ax=[ax, side, below], label="depth (km)", shrink=0.6)
        if np.isfinite(mags).any():
            for m in np.unique(np.round(mags[np.isfinite(mags)]))[:5]:
                ax.scatter(
                    [],
                    [],
                    s=magnitude_sizes(np.r_[mags, m])[-1],
                    c="w",
                    edgecolors="k",
                    label=f"M {m:.0f}",
                )
    below.invert_yaxis()
    below.set(xlabel="longitude (°)", ylabel="depth (km)")
    side.set(xlabel="depth (km)")
    side.tick_params(labelleft=False)
    ax.tick_params(labelbottom=False)
    ax.set(ylabel="latitude (°)", title=title or f"{len(lat)} events")
    ax.legend(loc="best", fontsize=7)
    return save_figure(fig, path)


def plot_record_section(path, traces, picks=(), predicted=(), title: str = "") -> Path:
    """``traces``: (label, distance_km, start_s, sampling_rate, data) per record, times in
    seconds after the origin; ``picks`` and ``predicted``: (distance_km, time_s, phase)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 7))
    traces = sorted(traces, key=lambda t: t[1])
    dists = [t[1] for t in traces]
    span = (max(dists) - min(dists)) if len(dists) > 1 else 10.0
    scale = 0.4 * span / max(len(traces), 1) if span > 0 else 1.0
    for label, dist, start, fs, data in traces:
        x = np.asarray(data, dtype=np.float64)
        peak = np.nanmax(np.abs(x)) if x.size and np.isfinite(x).any() else 0.0
        t = start + np.arange(x.size) / fs
        ax.plot(t, dist + (x / peak * scale if peak > 0 else x * 0), "k", lw=0.5)
        ax.text(t[0] if x.size else start, dist, f" {label}", fontsize=6, va="bottom")
    colours = {"P": "tab:red", "S": "tab:blue"}
    for dist, t, phase in picks:
        ax.plot([t, t], [dist - scale, dist + scale], color=colours.get(phase, "g"), lw=1.5)
    for dist, t, phase in predicted:
        ax.plot([t, t], [dist - scale, dist + scale], color=colours.get(phase, "g"), lw=1, ls="--")
    ax.plot([], [], "r-", label="P pick")
    ax.plot([], [], "b-", label="S pick")
    ax.plot([], [], "k--", label="predicted")
    ax.legend(loc="lower right", fontsize=7)
    ax.set(xlabel="time after origin (s)", ylabel="distance (km)", title=title)
    return save_figure(fig, path)
