"""Location: detect and locate events by migrating onsets over a 3-D grid (coalescence).

The method of MALMI, LOKI and QuakeMigrate: each station's onset functions (phase
probabilities, or STA/LTA characteristic functions) are shifted by the travel times from every
grid node and stacked; a source at a node in space and time makes the stack coherent there.

::

    grid = make_grid(stations, depth_km=(0, 20), spacing_km=1.0)   # around the stations
    onsets = onsets_from_annotations(annotations, stations)        # or stalta_onsets(...)
    tt = traveltime.station_grids(table, stations, grid, sampling_rate=onsets.sampling_rate)
    locations, coa, triggers = scan(onsets, tt, grid)   # detect (one event per peak) + locate
    # or the steps: coalescence(onsets, tt) -> detect(coa) -> locate(onsets, tt, grid, times)

The kernels are ``seiscore._core.location`` (C++, threads, GIL released) and their CUDA twins
``seiscore._cuda.location`` (``device="cuda"``). Stacking:

* ``"mean"`` — coalescence = mean of the onsets over stations and phases (probabilities);
* ``"geometric"`` — QuakeMigrate's: ``exp(mean of log-onsets)``; :func:`stalta_onsets` returns
  log-onsets made for it.

``coherence_norm`` (the normalised coalescence) is the maximum over nodes divided by the mean
over nodes, as in QuakeMigrate. Detection uses its own statistic, the rise of the maximum
coalescence of capped, background-free onsets above its running median, in units of its running
MAD or of one station-phase's onset, whichever is larger (:mod:`seiscore.location.detect`): one
threshold (:data:`DEFAULT_THRESHOLD`) for probabilities and STA/LTA on any network.

Public API (all importable from ``seiscore.location``):

* onsets — :class:`Onsets`, :func:`stalta_onsets`, :func:`onsets_from_annotations`
  (module ``onsets``);
* migration — :class:`Coalescence`, :func:`coalescence`, :func:`coalescence_volume`
  (module ``migrate``: the kernels' wrappers, CPU/CUDA dispatch);
* detection — :class:`Triggers`, :func:`detect`, :func:`detection_onsets`,
  :func:`detection_statistic`, :func:`suppress_side_lobes`, :func:`on_boundary`,
  :data:`DEFAULT_THRESHOLD`, :data:`DEFAULT_BACKGROUND_S` (module ``detect``);
* location — :func:`locate`, :class:`LocationDetail` (module ``locate``);
* scanning a record — :func:`scan` (onsets in memory), :func:`scan_record` (chunks from an onset
  source, bounded memory), :class:`ScanResult` (module ``scan``);
* the grid — :func:`make_grid` (module ``grid``);
* figures — :func:`plot_location` (module ``plot``; Matplotlib is imported on use).

The stage uses only the shared layers (``_core``, ``_backend``, ``_validate``, ``containers``,
``exceptions``, ``geo``) and the public API of :mod:`seiscore.traveltime`.
"""

from __future__ import annotations

# ``detect`` and ``locate`` below are the functions: they shadow the submodules of the same
# name as attributes of the package (import those as ``seiscore.location.locate`` etc. through
# ``from seiscore.location.locate import ...``, which goes by sys.modules).
from .detect import (
    DEFAULT_BACKGROUND_S,
    DEFAULT_THRESHOLD,
    Triggers,
    detect,
    detection_onsets,
    detection_statistic,
    on_boundary,
    suppress_side_lobes,
)
from .grid import make_grid
from .locate import LocationDetail, locate
from .migrate import Coalescence, coalescence, coalescence_volume
from .onsets import Onsets, onsets_from_annotations, stalta_onsets
from .plot import plot_location
from .scan import ScanResult, scan, scan_record

__all__ = [
    "DEFAULT_BACKGROUND_S",
    "DEFAULT_THRESHOLD",
    "Coalescence",
    "LocationDetail",
    "Onsets",
    "ScanResult",
    "Triggers",
    "coalescence",
    "coalescence_volume",
    "detect",
    "detection_onsets",
    "detection_statistic",
    "locate",
    "make_grid",
    "on_boundary",
    "onsets_from_annotations",
    "plot_location",
    "scan",
    "scan_record",
    "stalta_onsets",
    "suppress_side_lobes",
]
