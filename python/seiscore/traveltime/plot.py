"""Figure of a velocity model: vp and vs against depth."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .._atomic import save_figure
from .models import VelocityModel

__all__ = ["plot_velocity_model"]


def plot_velocity_model(model: VelocityModel, path, max_depth_km: float | None = None) -> Path:
    """P and S velocities against depth (depth down), as the travel-time tables see them:
    steps for layers, straight lines between profile nodes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    deepest = float(model.depth_km.max())
    bottom = max_depth_km if max_depth_km is not None else max(deepest * 1.2, deepest + 5.0)
    fig, ax = plt.subplots(figsize=(4.5, 6))
    for phase, colour in (("P", "tab:red"), ("S", "tab:blue")):
        z, v = model.nodes(phase)
        z = np.append(z, bottom)
        v = np.append(v, v[-1])
        ax.plot(v, z, color=colour, lw=1.8, label=f"v{phase.lower()}")
    ax.set_ylim(bottom, min(0.0, float(model.depth_km.min())))
    ax.set(xlabel="velocity (km/s)", ylabel="depth below sea level (km)", title=model.name)
    ax.grid(alpha=0.3)
    ax.legend()
    return save_figure(fig, path, tight_layout=True)
