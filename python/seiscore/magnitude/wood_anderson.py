"""Wood-Anderson seismograms from raw records and their instrument responses.

The standard Wood-Anderson torsion seismometer, as a displacement-to-displacement response
(the values ObsPy's ``obspy.signal.invsim.WOODANDERSON`` uses, after Uhrhammer & Collins 1990):

* poles ``-6.283 ± 4.7124j`` rad/s (natural period 0.8 s, damping 0.8), zeros ``0, 0``;
* normalisation 1.0 (the two poles' and zeros' form is 1 at high frequency);
* static magnification (gain) **2080**.

``W(f) = 2080 * s**2 / ((s - p1)(s - p2))`` with ``s = 2 pi i f``: metres on the drum per metre
of ground displacement. :func:`wood_anderson` removes the instrument response (to ground
displacement) and applies ``W`` in one step in the frequency domain, with a cosine pre-filter
that keeps the division by the instrument stable outside its passband; the result is in
millimetres, as local-magnitude formulas want.

``response="flat"`` uses only the instrument's overall sensitivity (counts per m/s, per m/s²
or per m, at its reference frequency) for stations whose metadata have no full response.
"""

from __future__ import annotations

import numpy as np

from ..exceptions import InputError

__all__ = [
    "WOOD_ANDERSON_GAIN",
    "WOOD_ANDERSON_POLES",
    "WOOD_ANDERSON_ZEROS",
    "wood_anderson",
    "wood_anderson_response",
]

WOOD_ANDERSON_POLES = (complex(-6.283, 4.7124), complex(-6.283, -4.7124))
WOOD_ANDERSON_ZEROS = (0j, 0j)
WOOD_ANDERSON_GAIN = 2080.0

# powers of i*omega that turn an instrument's input units into displacement (metres)
_UNIT_ORDER = {"M": 0, "NM": 0, "M/S": 1, "NM/S": 1, "M/S**2": 2, "M/S2": 2, "NM/S**2": 2}
_UNIT_SCALE = {"M": 1.0, "M/S": 1.0, "M/S**2": 1.0, "M/S2": 1.0, "NM": 1e9, "NM/S": 1e9,
               "NM/S**2": 1e9}  # fmt: skip


def wood_anderson_response(freq_hz) -> np.ndarray:
    """The Wood-Anderson response at ``freq_hz`` (complex, m of record per m of ground)."""
    s = 2j * np.pi * np.asarray(freq_hz, dtype=np.float64)
    num = np.ones_like(s)
    for z in WOOD_ANDERSON_ZEROS:
        num = num * (s - z)
    den = np.ones_like(s)
    for p in WOOD_ANDERSON_POLES:
        den = den * (s - p)
    return WOOD_ANDERSON_GAIN * num / den


def _flat_response(freq, response, where: str) -> np.ndarray:
    sens = getattr(response, "instrument_sensitivity", None)
    if sens is None or not sens.value:
        raise InputError(f"{where}: no instrument sensitivity in the metadata")
    units = str(sens.input_units or "").upper()
    if units not in _UNIT_ORDER:
        raise InputError(
            f"{where}: input units {sens.input_units!r} are not ground motion (M, M/S, M/S**2)"
        )
    counts_per_m = sens.value / _UNIT_SCALE[units]  # counts per (m, m/s or m/s²)
    return counts_per_m * (2j * np.pi * np.asarray(freq)) ** _UNIT_ORDER[units]


def _instrument(freq, response, where: str) -> np.ndarray:
    """counts per metre of ground displacement at ``freq`` (complex)."""
    if response == "flat" or not hasattr(response, "get_evalresp_response_for_frequencies"):
        raise InputError(f"{where}: no instrument response")
    try:
        return response.get_evalresp_response_for_frequencies(freq, output="DISP")
    except Exception as exc:  # noqa: BLE001 - ObsPy raises many types for broken responses
        raise InputError(f"{where}: cannot evaluate the instrument response ({exc})") from None


def _pre_filter(freq, fs: float, band) -> np.ndarray:
    """Cosine taper: 0 below band[0], 1 on [band[1], band[2]], 0 above band[3]."""
    f1, f2, f3, f4 = band
    w = np.zeros_like(freq)
    rise = (freq > f1) & (freq < f2)
    w[rise] = 0.5 * (1 - np.cos(np.pi * (freq[rise] - f1) / (f2 - f1)))
    w[(freq >= f2) & (freq <= f3)] = 1.0
    fall = (freq > f3) & (freq < f4)
    w[fall] = 0.5 * (1 + np.cos(np.pi * (freq[fall] - f3) / (f4 - f3)))
    return w


def wood_anderson(
    data, sampling_rate: float, response, *, flat: bool = False, pre_filter=None, where="trace"
) -> np.ndarray:
    """The Wood-Anderson seismogram (millimetres) of a raw record.

    Parameters
    ----------
    data : array (counts), without gaps
    sampling_rate : float (Hz)
    response : obspy Response of the channel (counts per ground motion)
    flat : bool
        Use only the overall sensitivity (see the module docstring).
    pre_filter : (f1, f2, f3, f4) Hz, optional
        Cosine band of the deconvolution. Default ``(0.05, 0.1, 0.4 fs, 0.45 fs)``.
    where : str
        Named in error messages (e.g. the channel id).

    Raises
    ------
    InputError
        No response, or one that is not for ground motion, or a record with gaps (NaN).
    """
    x = np.asarray(data, dtype=np.float64)
    if x.ndim != 1 or x.size < 8:
        raise InputError(f"{where}: need a 1-D record of at least 8 samples")
    if not np.isfinite(x).all():
        raise InputError(f"{where}: the record has gaps (NaN); measure on gap-free parts")
    fs = float(sampling_rate)
    band = pre_filter or (0.05, 0.1, 0.4 * fs, 0.45 * fs)
    if not (0 <= band[0] < band[1] <= band[2] < band[3] <= fs / 2 + 1e-9):
        raise InputError(f"pre_filter {band}: expected 0 <= f1 < f2 <= f3 < f4 <= {fs / 2:g} Hz")
    x = x - x.mean()
    n = x.size
    taper = np.ones(n)
    m = max(1, int(0.05 * n))
    taper[:m] = 0.5 * (1 - np.cos(np.pi * np.arange(m) / m))
    taper[-m:] = taper[:m][::-1]
    nfft = 1 << int(np.ceil(np.log2(2 * n)))
    spec = np.fft.rfft(x * taper, nfft)
    freq = np.fft.rfftfreq(nfft, 1.0 / fs)
    inst = _flat_response(freq, response, where) if flat else _instrument(freq, response, where)
    weight = _pre_filter(freq, fs, band)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(weight > 0, wood_anderson_response(freq) * weight / inst, 0.0)
    ratio[~np.isfinite(ratio)] = 0.0
    return np.fft.irfft(spec * ratio, nfft)[:n] * 1000.0  # metres -> millimetres
