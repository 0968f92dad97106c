"""The ObsPy boundary: waveform files and archives in, seiscore containers out (and back).

Only the modules of this package import ObsPy at top level.
"""

from __future__ import annotations

from .waveforms import (
    WAVEFORM_SUFFIXES,
    find_waveform_files,
    iter_days,
    read_sds,
    read_waveform_files,
    to_waveforms,
    waveforms_to_stream,
)

__all__ = [
    "WAVEFORM_SUFFIXES",
    "find_waveform_files",
    "iter_days",
    "read_sds",
    "read_waveform_files",
    "to_waveforms",
    "waveforms_to_stream",
]
from .stations import project_stations, read_stations  # noqa: E402,F401  (station tables; issue 4)
