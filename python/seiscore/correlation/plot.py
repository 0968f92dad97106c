"""The move-out figure of a correlate() Dataset (:func:`plot_moveout`)."""

from __future__ import annotations

import numpy as np

from ..exceptions import InputError


def plot_moveout(
    ds,
    variable: str = "ccf_linear",
    component: str = "ZZ",
    path=None,
    *,
    ax=None,
    max_lag_s: float | None = None,
    scale: float | None = None,
):
    """Draw the move-out gather: each pair's CCF at its inter-station distance.

    Each trace is normalised by its largest absolute value and drawn as a wiggle centred on
    ``distance_km`` (``scale`` km per unit amplitude; default: 0.4 of the median spacing).
    Pairs without a distance or without windows are left out (their number is printed in the
    title). Returns the matplotlib Figure; with ``path``, also saves it (PNG, PDF, ...).
    """
    import matplotlib

    if ax is None and path is not None:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if variable not in ds:
        raise InputError(f"{variable!r} not in the dataset (have {sorted(ds.data_vars)})")
    comps = [str(c) for c in ds["component"].values]
    if component not in comps:
        raise InputError(f"component {component!r} not in the dataset (have {comps})")
    da = ds[variable].sel(component=component)
    if "day" in da.dims:
        raise InputError(f"{variable} has one stack per day; select a day (ds.sel(day=...)) first")
    lag = ds["lag"].values
    dist = ds["distance_km"].values
    values = da.values
    ok = np.isfinite(dist) & np.isfinite(values).all(axis=1) & (np.abs(values).max(axis=1) > 0)
    order = np.argsort(dist[ok])
    d, v = dist[ok][order], values[ok][order]
    keep = slice(None)
    if max_lag_s is not None:
        keep = np.abs(lag) <= max_lag_s
    if scale is None:
        spacing = np.diff(np.unique(d))
        scale = 0.4 * (
            np.median(spacing) if spacing.size else max(1.0, float(d.max()) if d.size else 1.0)
        )
    fig = ax.figure if ax is not None else plt.figure(figsize=(8, 7))
    ax = ax if ax is not None else fig.add_subplot(1, 1, 1)
    for dk, vk in zip(d, v, strict=True):
        ax.plot(lag[keep], dk + scale * vk[keep] / np.abs(vk).max(), color="k", lw=0.6)
    ax.set_xlabel("lag (s)")
    ax.set_ylabel("inter-station distance (km)")
    left = int((~ok).sum())
    ax.set_title(
        f"{variable} {component}: {ok.sum()} pairs"
        + (f" ({left} without distance or data)" if left else "")
    )
    if path is not None:
        fig.savefig(path, dpi=120, bbox_inches="tight")
    return fig
