"""Local magnitude (ML) from Wood-Anderson amplitudes with the instruments' real responses.

Pipeline, per event::

    raw records (counts) + responses (StationXML, full SEED, dataless)
      ─► Wood-Anderson seismograms (wood_anderson: poles -6.283 ± 4.7124j, zeros 0, 0,
         gain 2080; mm)
      ─► amplitudes per channel in a window from P to a distance-dependent end after S,
         with a noise window before P and an SNR (measure_amplitudes)
      ─► station ML with an attenuation law (Hutton & Boore 1987, Bakun & Joyner 1984, a
         -log A0 table, user coefficients), hypocentral or epicentral distance, station
         corrections (station_magnitudes)
      ─► network ML: median or trimmed mean after outlier rejection, its uncertainty and
         station count (network_magnitudes)

:func:`local_magnitudes` runs the whole chain and returns a :class:`MagnitudeResult` with the
three tables and the notes (every channel or station left out, and why). No loop here is hot:
the cost is the FFTs of the response removal (NumPy) and ObsPy's response evaluation, so there
is no C++ kernel for this stage.

Public API: :func:`local_magnitudes`, :class:`MagnitudeSettings`, :class:`MagnitudeResult`,
:func:`measure_amplitudes`, :class:`AmplitudeSettings`, :func:`predicted_arrivals`,
:func:`station_magnitudes`, :func:`network_magnitudes`, :func:`read_station_corrections`,
:func:`wood_anderson`, :func:`wood_anderson_response` and the Wood-Anderson constants, the laws
(:func:`HuttonBoore1987`, :func:`BakunJoyner1984`, :class:`LogA0Table`, :class:`Coefficients`,
:func:`get_law`); catalogue statistics (:func:`gutenberg_richter`: Mc by maximum curvature and
the maximum-likelihood b-value) and figures (:func:`plot_frequency_magnitude`,
:func:`plot_magnitude_time`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from .amplitudes import AmplitudeSettings, measure_amplitudes, predicted_arrivals
from .laws import BakunJoyner1984, Coefficients, HuttonBoore1987, LogA0Table, get_law
from .network import network_magnitudes, read_station_corrections, station_magnitudes
from .plot import plot_frequency_magnitude, plot_magnitude_time
from .stats import GutenbergRichter, b_value_mle, completeness_max_curvature, gutenberg_richter
from .wood_anderson import (
    WOOD_ANDERSON_GAIN,
    WOOD_ANDERSON_POLES,
    WOOD_ANDERSON_ZEROS,
    wood_anderson,
    wood_anderson_response,
)

__all__ = [
    "WOOD_ANDERSON_GAIN",
    "WOOD_ANDERSON_POLES",
    "WOOD_ANDERSON_ZEROS",
    "AmplitudeSettings",
    "BakunJoyner1984",
    "Coefficients",
    "GutenbergRichter",
    "HuttonBoore1987",
    "LogA0Table",
    "MagnitudeResult",
    "MagnitudeSettings",
    "b_value_mle",
    "completeness_max_curvature",
    "get_law",
    "gutenberg_richter",
    "local_magnitudes",
    "measure_amplitudes",
    "network_magnitudes",
    "plot_frequency_magnitude",
    "plot_magnitude_time",
    "predicted_arrivals",
    "read_station_corrections",
    "station_magnitudes",
    "wood_anderson",
    "wood_anderson_response",
]


@dataclass(frozen=True)
class MagnitudeSettings:
    """Everything :func:`local_magnitudes` needs besides the data (see the modules)."""

    amplitudes: AmplitudeSettings = field(default_factory=AmplitudeSettings)
    law: object = "hutton_boore_1987"
    distance: str = "hypocentral"
    min_snr: float = 3.0
    corrections: object = None
    method: str = "median"
    trim: float = 0.125
    outlier_mad: float = 3.0
    min_stations: int = 1


@dataclass
class MagnitudeResult:
    """``network``: one row per event with a magnitude (``event_id, magnitude,
    magnitude_type, magnitude_uncertainty, n_magnitude_stations, method``); ``stations``: one
    row per event and station (``used`` False for outliers); ``amplitudes``: one row per
    channel measured; ``notes``: what was left out and why."""

    network: pd.DataFrame
    stations: pd.DataFrame
    amplitudes: pd.DataFrame
    notes: list = field(default_factory=list)


def local_magnitudes(
    stream, inventory, events: pd.DataFrame, stations, arrivals: pd.DataFrame,
    settings: MagnitudeSettings | None = None,
) -> MagnitudeResult:  # fmt: skip
    """Local magnitudes of ``events`` (see the package docstring and
    :func:`measure_amplitudes` for the inputs)."""
    s = settings or MagnitudeSettings()
    amps, notes = measure_amplitudes(stream, inventory, events, stations, arrivals, s.amplitudes)
    st, more = station_magnitudes(
        amps, law=s.law, distance=s.distance, min_snr=s.min_snr, corrections=s.corrections
    )
    net, st = network_magnitudes(
        st, method=s.method, trim=s.trim, outlier_mad=s.outlier_mad, min_stations=s.min_stations
    )
    for eid in sorted(set(events.event_id) - set(net.event_id)):
        more.append(f"event {eid}: no station magnitude; no ML")
    return MagnitudeResult(net, st, amps, notes + more)
