"""
Phase association: picks to events by a space x origin-time search
"""

from __future__ import annotations

import typing

import numpy
import numpy.typing

__all__: list[str] = [
    "associate",
    "phaselink_generate",
    "phaselink_link",
    "phaselink_locate",
    "phaselink_match",
    "phaselink_pair_bounds",
    "phaselink_sequences",
    "score_origins",
    "travel_time",
]

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
    station_table: typing.Any = None,
) -> dict:
    """
    Events and per-pick assignments (see cpp/seiscore/association/grid_search.hpp).
    """

def phaselink_generate(
    x_km: numpy.ndarray,
    y_km: numpy.ndarray,
    times: numpy.ndarray,
    axes: tuple,
    station_table: typing.Any,
    features: dict,
    pair_lo: typing.Any,
    pair_hi: typing.Any,
    config: dict,
    seed: typing.SupportsInt | typing.SupportsIndex,
    first: typing.SupportsInt | typing.SupportsIndex,
    n: typing.SupportsInt | typing.SupportsIndex,
    workers: typing.SupportsInt | typing.SupportsIndex = 0,
) -> tuple[
    numpy.typing.NDArray[numpy.float32],
    numpy.typing.NDArray[numpy.float32],
    numpy.typing.NDArray[numpy.int32],
]:
    """
    Synthetic PhaseLink training sequences (x, y, length); see cpp/seiscore/association/phaselink.hpp.
    """

def phaselink_link(
    offsets: numpy.ndarray,
    members: numpy.ndarray,
    n_picks: typing.SupportsInt | typing.SupportsIndex,
    config: dict,
) -> tuple[numpy.typing.NDArray[numpy.int64], numpy.typing.NDArray[numpy.int32], int]:
    """
    Clusters of linked picks (pick_cluster, pick_votes, n_clusters) from linked sets (CSR).
    """

def phaselink_locate(
    station: numpy.ndarray,
    phase: numpy.ndarray,
    time: numpy.ndarray,
    x_km: numpy.ndarray,
    y_km: numpy.ndarray,
    times: numpy.ndarray,
    axes: tuple,
    station_table: typing.Any,
    offsets: numpy.ndarray,
    members: numpy.ndarray,
    config: dict,
) -> dict:
    """
    Origins of pick clusters by a coarse-to-fine grid search; inliers and residuals of the members.
    """

def phaselink_match(
    station: numpy.ndarray,
    phase: numpy.ndarray,
    time: numpy.ndarray,
    x_km: numpy.ndarray,
    y_km: numpy.ndarray,
    times: numpy.ndarray,
    axes: tuple,
    station_table: typing.Any,
    events: numpy.ndarray,
    tolerance_s: typing.SupportsFloat | typing.SupportsIndex,
    max_distance_km: typing.SupportsFloat | typing.SupportsIndex,
    workers: typing.SupportsInt | typing.SupportsIndex = 0,
) -> dict:
    """
    Each event's nearest pick per station and phase within the tolerance (event, pick, residual).
    """

def phaselink_pair_bounds(
    x_km: numpy.ndarray,
    y_km: numpy.ndarray,
    times: numpy.ndarray,
    axes: tuple,
    station_table: typing.Any,
    volume: dict,
    n_grid: typing.SupportsInt | typing.SupportsIndex,
    margin_s: typing.SupportsFloat | typing.SupportsIndex,
    slowness_s_km: typing.SupportsFloat | typing.SupportsIndex,
    workers: typing.SupportsInt | typing.SupportsIndex = 0,
) -> tuple[numpy.typing.NDArray[numpy.float32], numpy.typing.NDArray[numpy.float32]]:
    """
    Range of arrival-time differences (lo, hi) of every pair of station-phases over the volume.
    """

def phaselink_sequences(
    x_km: numpy.ndarray,
    y_km: numpy.ndarray,
    station: numpy.ndarray,
    phase: numpy.ndarray,
    time: numpy.ndarray,
    starts: numpy.ndarray,
    features: dict,
    pair_lo: typing.Any,
    pair_hi: typing.Any,
    workers: typing.SupportsInt | typing.SupportsIndex = 0,
) -> tuple[
    numpy.typing.NDArray[numpy.float32],
    numpy.typing.NDArray[numpy.int64],
    numpy.typing.NDArray[numpy.int32],
]:
    """
    Linker input sequences (x, index, length) of time-sorted picks from the given starts.
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
    station_table: typing.Any = None,
) -> dict:
    """
    Scores, matched P/S counts and significance of given origins (x_km, y_km, z_km, t0) over all picks.
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
