"""
Ambient-noise cross-correlation kernels (preprocess, spectra, stacks)
"""

from __future__ import annotations

import typing

import numpy
import numpy.typing

__all__: list[str] = [
    "condition_spectra",
    "cross_spectra",
    "decimate",
    "preprocess",
    "stack_robust",
    "stack_selective",
    "stack_sums",
]

def condition_spectra(
    spec: numpy.ndarray,
    *,
    nfft: typing.SupportsInt | typing.SupportsIndex,
    df: typing.SupportsFloat | typing.SupportsIndex,
    whiten: bool,
    band: numpy.ndarray,
    smooth_bins: typing.SupportsInt | typing.SupportsIndex,
    shift: typing.Any = None,
    workers: typing.SupportsInt | typing.SupportsIndex = 0,
) -> numpy.typing.NDArray[numpy.float64]:
    """
    Sub-sample shift and spectral whitening in place; returns each row's energy (Parseval).
    """

def cross_spectra(
    spec: numpy.ndarray,
    row_a: numpy.ndarray,
    row_b: numpy.ndarray,
    weight: typing.Any = None,
    out_index: typing.Any = None,
    n_out: typing.SupportsInt | typing.SupportsIndex = -1,
    workers: typing.SupportsInt | typing.SupportsIndex = 0,
) -> numpy.typing.NDArray[numpy.complex64]:
    """
    Weighted cross-spectra conj(S[a]) * S[b], per term or summed per output (frequency-domain stack).
    """

def decimate(
    x: numpy.ndarray,
    h: numpy.ndarray,
    factor: typing.SupportsInt | typing.SupportsIndex,
    workers: typing.SupportsInt | typing.SupportsIndex = 0,
) -> numpy.typing.NDArray[numpy.float32]:
    """
    Zero-phase FIR decimation by an integer factor; NaN gaps stay NaN.
    """

def preprocess(
    x: numpy.ndarray,
    *,
    demean: bool,
    detrend: bool,
    taper: typing.SupportsFloat | typing.SupportsIndex,
    sos: numpy.ndarray,
    zero_phase: bool,
    norm: typing.SupportsInt | typing.SupportsIndex,
    ram_half_width: typing.SupportsInt | typing.SupportsIndex,
    clip_factor: typing.SupportsFloat | typing.SupportsIndex,
    max_over_std: typing.SupportsFloat | typing.SupportsIndex,
    max_flat: typing.SupportsInt | typing.SupportsIndex,
    workers: typing.SupportsInt | typing.SupportsIndex = 0,
) -> numpy.typing.NDArray[numpy.int8]:
    """
    Quality-check, detrend, taper, filter and temporally normalise window rows in place; returns status.
    """

def stack_robust(
    ccf: numpy.ndarray,
    offsets: numpy.ndarray,
    epsilon: typing.SupportsFloat | typing.SupportsIndex,
    max_iter: typing.SupportsInt | typing.SupportsIndex,
    workers: typing.SupportsInt | typing.SupportsIndex = 0,
) -> tuple[numpy.typing.NDArray[numpy.float32], numpy.typing.NDArray[numpy.int32]]:
    """
    Robust (iteratively re-weighted, Pavlis & Vernon 2010) stack of each group of rows.
    """

def stack_selective(
    ccf: numpy.ndarray,
    offsets: numpy.ndarray,
    threshold: typing.SupportsFloat | typing.SupportsIndex,
    workers: typing.SupportsInt | typing.SupportsIndex = 0,
) -> tuple[numpy.typing.NDArray[numpy.float32], numpy.typing.NDArray[numpy.int32]]:
    """
    Mean of the rows of each group that correlate with the group mean at >= threshold.
    """

def stack_sums(
    ccf: numpy.ndarray,
    hilbert: typing.Any,
    offsets: numpy.ndarray,
    workers: typing.SupportsInt | typing.SupportsIndex = 0,
) -> tuple[numpy.typing.NDArray[numpy.float64], typing.Any, typing.Any]:
    """
    Per-group sums of the rows and, given their Hilbert transforms, of their unit phasors.
    """
