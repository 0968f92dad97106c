"""
Phase association: picks to events by a space x origin-time search
"""

from __future__ import annotations

import typing

import numpy
import numpy.typing

__all__: list[str] = ["associate", "score_origins", "travel_time"]

def associate(
    station: numpy.ndarray,
    phase: numpy.ndarray,
    time: numpy.ndarray,
    weight: numpy.ndarray,
    x_km: numpy.ndarray,
    y_km: numpy.ndarray,
    delay: numpy.ndarray,
    times: numpy.ndarray,
    axes: tuple,
    config: dict,
) -> dict:
    """
    Events and per-pick assignments (see cpp/seiscore/association/grid_search.hpp).
    """

def score_origins(
    station: numpy.ndarray,
    phase: numpy.ndarray,
    time: numpy.ndarray,
    weight: numpy.ndarray,
    x_km: numpy.ndarray,
    y_km: numpy.ndarray,
    delay: numpy.ndarray,
    times: numpy.ndarray,
    axes: tuple,
    config: dict,
    origins: numpy.ndarray,
) -> dict:
    """
    Scores and matched P/S counts of given origins (x_km, y_km, z_km, t0) over all picks.
    """

def travel_time(
    times: numpy.ndarray,
    axes: tuple,
    phase: typing.SupportsInt | typing.SupportsIndex,
    distance: numpy.ndarray,
    depth: numpy.ndarray,
) -> numpy.typing.NDArray[numpy.float64]:
    """
    Bilinear table interpolation as the search uses it (NaN outside the table).
    """
