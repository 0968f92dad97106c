"""
Pick extraction from phase-probability traces
"""

from __future__ import annotations

import typing

import numpy
import numpy.typing

__all__: list[str] = [
    "ConvNet",
    "convnet",
    "convnet_run",
    "cut_windows",
    "find_peaks",
    "find_triggers",
    "finish_stitch",
    "finite_runs",
    "plan_windows",
    "stitch_windows",
]

class ConvNet:
    """
    A 1-D convolutional network built by convnet() and run by convnet_run().
    """
    def __getstate__(self) -> tuple[int, int, list, int]: ...
    def __setstate__(self, arg0: tuple) -> None: ...
    @property
    def in_channels(self) -> int: ...
    @property
    def in_length(self) -> int: ...
    @property
    def out_channels(self) -> int: ...
    @property
    def out_length(self) -> int: ...

def convnet(
    in_channels: typing.SupportsInt | typing.SupportsIndex,
    length: typing.SupportsInt | typing.SupportsIndex,
    ops: list,
    output: typing.SupportsInt | typing.SupportsIndex,
) -> ConvNet:
    """
    A network of conv / conv_transpose / concat / crop / softmax operations over [channel, time] windows; tensor 0 is the input, op i writes tensor i + 1.
    """

def convnet_run(net: ConvNet, x: numpy.ndarray, y: numpy.ndarray) -> None:
    """
    Run the network on a batch x, writing y in place.
    """

def cut_windows(
    data: numpy.ndarray,
    rows: numpy.ndarray,
    start: numpy.ndarray,
    valid: numpy.ndarray,
    out: numpy.ndarray,
    normalisation: str,
    channels_last: bool = False,
    workers: typing.SupportsInt | typing.SupportsIndex = 1,
) -> None:
    """
    Windows of data[rows], normalised per window and row, written into out (NCW or NWC).
    """

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

def finish_stitch(acc: numpy.ndarray, weight: numpy.ndarray) -> None:
    """
    acc /= weight where weight > 0, NaN elsewhere (in place).
    """

def finite_runs(
    data: numpy.ndarray, rows: numpy.ndarray
) -> tuple[numpy.typing.NDArray[numpy.int64], numpy.typing.NDArray[numpy.int64]]:
    """
    Half-open runs [start, end) where every row of data[rows] is finite.
    """

def plan_windows(
    data: numpy.ndarray,
    rows: numpy.ndarray,
    window: typing.SupportsInt | typing.SupportsIndex,
    step: typing.SupportsInt | typing.SupportsIndex,
) -> dict:
    """
    Windows (start, valid, taper flags) over the finite runs of data[rows].
    """

def stitch_windows(
    y: numpy.ndarray,
    labels: numpy.ndarray,
    start: numpy.ndarray,
    valid: numpy.ndarray,
    left: numpy.ndarray,
    right: numpy.ndarray,
    edge: typing.SupportsInt | typing.SupportsIndex,
    acc: numpy.ndarray,
    weight: numpy.ndarray,
) -> None:
    """
    Add window outputs y[:, labels] with cosine-tapered weights into acc and weight.
    """
