"""
Pick extraction from phase-probability traces
"""

from __future__ import annotations

import typing

import numpy

__all__: list[str] = ["find_peaks", "find_triggers"]

def find_peaks(
    prob: numpy.ndarray,
    height: numpy.ndarray,
    distance: numpy.ndarray,
    workers: typing.SupportsInt | typing.SupportsIndex = 0,
) -> dict:
    """
    Peaks above height[phase] at least distance[phase] samples apart (scipy.signal.find_peaks rules).
    """

def find_triggers(
    prob: numpy.ndarray,
    on: numpy.ndarray,
    off: numpy.ndarray,
    workers: typing.SupportsInt | typing.SupportsIndex = 0,
) -> dict:
    """
    One pick per hysteresis-trigger segment (on/off thresholds), at the segment maximum.
    """
