"""
Travel-time tables: layered ray tracing and interpolation
"""

from __future__ import annotations

import collections.abc
import typing

import numpy
import numpy.typing

__all__: list[str] = ["elevation_table", "first_arrivals", "interpolate", "station_grids"]

def elevation_table(
    table: numpy.ndarray,
    axes: typing.Annotated[
        collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex], "FixedSize(4)"
    ],
    v0: typing.SupportsFloat | typing.SupportsIndex,
    elev_km: typing.SupportsFloat | typing.SupportsIndex,
    workers: typing.SupportsInt | typing.SupportsIndex = 0,
) -> numpy.typing.NDArray[numpy.float32]:
    """
    The table for a receiver elev_km above the datum (Fermat correction through velocity v0).
    """

def first_arrivals(
    node_depth: numpy.ndarray,
    node_velocity: numpy.ndarray,
    source_depth: numpy.ndarray,
    distance: numpy.ndarray,
    earth_radius_km: typing.SupportsFloat | typing.SupportsIndex = 6371.0,
    max_sublayer_km: typing.SupportsFloat | typing.SupportsIndex = 0.5,
    rel_velocity_step: typing.SupportsFloat | typing.SupportsIndex = 0.002,
    workers: typing.SupportsInt | typing.SupportsIndex = 0,
) -> numpy.typing.NDArray[numpy.float32]:
    """
    First-arrival times [n_depth, n_distance] (float32 s) in a 1-D velocity profile.
    """

def interpolate(
    table: numpy.ndarray,
    axes: typing.Annotated[
        collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex], "FixedSize(4)"
    ],
    distance: numpy.ndarray,
    depth: numpy.ndarray,
    workers: typing.SupportsInt | typing.SupportsIndex = 0,
) -> numpy.typing.NDArray[numpy.float64]:
    """
    Bilinear values of a table (axes = depth0, depth_step, distance0, distance_step) at points; NaN outside.
    """

def station_grids(
    tables: numpy.ndarray,
    axes: typing.Annotated[
        collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex], "FixedSize(4)"
    ],
    station_xy: numpy.ndarray,
    origin: typing.Annotated[
        collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex], "FixedSize(3)"
    ],
    spacing: typing.Annotated[
        collections.abc.Sequence[typing.SupportsFloat | typing.SupportsIndex], "FixedSize(3)"
    ],
    shape: typing.Annotated[
        collections.abc.Sequence[typing.SupportsInt | typing.SupportsIndex], "FixedSize(3)"
    ],
    sampling_rate: typing.SupportsFloat | typing.SupportsIndex = 0.0,
    workers: typing.SupportsInt | typing.SupportsIndex = 0,
) -> numpy.ndarray:
    """
    Travel times [n_nodes, n_stations, n_phases] from corrected tables: float32 s, or int32 samples when sampling_rate > 0 (INT32_MIN where undefined).
    """
