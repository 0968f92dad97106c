"""
Migration (coalescence) kernels for detection and location
"""

from __future__ import annotations

import typing

import numpy
import numpy.typing

__all__: list[str] = ["migrate_map", "migrate_max"]

def migrate_map(
    onsets: numpy.ndarray,
    tt: numpy.ndarray,
    active: typing.Any,
    first: typing.SupportsInt | typing.SupportsIndex,
    n_out: typing.SupportsInt | typing.SupportsIndex,
    stacking: str = "mean",
    workers: typing.SupportsInt | typing.SupportsIndex = 0,
) -> numpy.typing.NDArray[numpy.float32]:
    """
    Coalescence [n_out, n_nodes] for origin-time samples first .. first + n_out - 1.
    """

def migrate_max(
    onsets: numpy.ndarray,
    tt: numpy.ndarray,
    active: typing.Any,
    first: typing.SupportsInt | typing.SupportsIndex,
    n_out: typing.SupportsInt | typing.SupportsIndex,
    stacking: str = "mean",
    workers: typing.SupportsInt | typing.SupportsIndex = 0,
) -> dict:
    """
    Per output sample: maximum and normalised maximum coalescence over nodes, and its node (fused).
    """
