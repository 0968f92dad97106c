"""Ambient-noise cross-correlation: continuous records → stacked cross-correlation functions.

``correlate`` runs the whole ANXCOR / NoisePy / MSNoise job over :class:`Waveforms` and returns
an :class:`xarray.Dataset`; the building blocks are public too::

    Waveforms ─► decimate ─► windows ─► quality check ─► detrend, taper, band-pass,
    temporal normalisation (preprocess) ─► rfft, once per station window (scipy.fft) ─►
    sub-sample alignment, spectral whitening (whiten_spectra) ─► cross-spectra of every pair ─►
    stacks: linear (summed in the frequency domain, one inverse FFT per pair and day),
    phase-weighted, robust, selective (stack) ─► Dataset ─► write (NetCDF / Zarr), to_obspy,
    plot_moveout

The C++ core (``seiscore._core.correlation``) does the quality checks, filtering, temporal and
spectral normalisation, cross-spectra and stacking with threads; FFTs come from ``scipy.fft``.
With ``device="cuda"`` the whitening and the cross-spectra (with their frequency-domain stack)
run on the GPU (``seiscore._cuda.correlation``); the FFTs stay on the CPU because this build's
CUDA toolkit has no cuFFT.

Public API
----------
* :func:`correlate`: the whole job (``correlate.py``; its steps in ``pairs.py``, ``plan.py``,
  ``days.py``, ``assemble.py``).
* :func:`preprocess`, :func:`decimate`: time-domain steps and quality checks
  (``preprocess.py``).
* :func:`whiten_spectra`, :func:`cross_correlate`: frequency-domain steps and the CPU / CUDA
  dispatch (``spectra.py``).
* :func:`stack`: linear, phase-weighted, robust and selective stacks (``stack.py``).
* :func:`write`, :func:`read`, :func:`to_obspy`: NetCDF / Zarr files and ObsPy Streams
  (``io.py``); :func:`plot_moveout`: the move-out figure (``plot.py``).
* ``COMPONENTS_ENZ``, ``COMPONENTS_RTZ``: the nine component codes of each system.

The vocabularies ``CHANNELS``, ``STACK_METHODS``, ``TEMPORAL_NORMS`` and ``WINDOW_OUTCOMES``
(the order of the ``windows_*`` counts) are importable from here too, outside ``__all__``.

Conventions
-----------
* **Lag sign.** ``ccf_ab(tau) = sum_t a(t) b(t + tau)``: a positive lag means the signal reaches
  the receiver ``b`` after the source ``a`` (NoisePy's convention). Time reversal:
  ``ccf_ba(tau) = ccf_ab(-tau)``. ObsPy's ``obspy.signal.cross_correlation.correlate(x, y,
  shift)`` uses the opposite sign: ``correlate(b, a, ...)`` equals ``ccf_ab``.
* **Normalisation.** ``normalize="coefficient"`` divides each window's CCF by
  ``sqrt(E_a E_b)``, the energies of the two (processed, whitened) windows, so an
  autocorrelation is 1 at lag 0 and ``|ccf| <= 1``; this is ObsPy's ``normalize="naive"``.
  ``"none"`` keeps the raw sum of products.
* **Windows** start at ``starttime + k * window_s * (1 - overlap)`` for every station (one
  common grid); a station's samples are mapped to the nearest sample and the remaining
  sub-sample offset is removed exactly in the frequency domain (``subsample_shift=True``).
  A window belongs to the UTC day in which it starts. A window with any missing sample (gap,
  edge of the data) or a glitch (a flat run of ``max_flat_s`` seconds, zero variance, or a
  sample beyond ``max_over_std`` standard deviations) is skipped and counted, per station and
  channel, in the ``windows_*`` variables of the result; nothing is zero-filled.
* **Components** are two letters, source then receiver: ``"ZN"`` correlates Z at the source with
  N at the receiver. ``R``/``T`` components are obtained by rotating the nine stacked ENZ
  components with the source-to-receiver azimuth (R along it, T = R turned 90 degrees
  clockwise, ObsPy's convention).
"""

from __future__ import annotations

from .correlate import correlate
from .days import WINDOW_OUTCOMES as WINDOW_OUTCOMES
from .io import read, to_obspy, write
from .pairs import CHANNELS as CHANNELS
from .pairs import COMPONENTS_ENZ, COMPONENTS_RTZ
from .plot import plot_moveout
from .preprocess import TEMPORAL_NORMS as TEMPORAL_NORMS
from .preprocess import decimate, preprocess
from .spectra import cross_correlate, whiten_spectra
from .stack import STACK_METHODS as STACK_METHODS
from .stack import stack

__all__ = [
    "COMPONENTS_ENZ",
    "COMPONENTS_RTZ",
    "correlate",
    "cross_correlate",
    "decimate",
    "plot_moveout",
    "preprocess",
    "read",
    "stack",
    "to_obspy",
    "whiten_spectra",
    "write",
]
