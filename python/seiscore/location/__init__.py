"""Location: detect and locate events by migrating onsets over a 3-D grid (coalescence).

The method of MALMI, LOKI and QuakeMigrate: each station's onset functions (phase
probabilities, or STA/LTA characteristic functions) are shifted by the travel times from every
grid node and stacked; a source at a node in space and time makes the stack coherent there.

::

    grid = make_grid(stations, depth_km=(0, 20), spacing_km=1.0)   # around the stations
    onsets = onsets_from_annotations(annotations, stations)        # or stalta_onsets(...)
    tt = traveltime.station_grids(table, stations, grid, sampling_rate=onsets.sampling_rate)
    coa = coalescence(onsets, tt)                  # max over nodes per origin time (fused kernel)
    triggers = detect(coa, threshold=2.0, min_separation_s=1.0)
    locations = locate(onsets, tt, grid, triggers.time, marginal_window_s=0.5)

The kernels are ``seiscore._core.location`` (C++, threads, GIL released) and their CUDA twins
``seiscore._cuda.location`` (``device="cuda"``). Stacking:

* ``"mean"`` — coalescence = mean of the onsets over stations and phases (probabilities);
* ``"geometric"`` — QuakeMigrate's: ``exp(mean of log-onsets)``; :func:`stalta_onsets` returns
  log-onsets made for it.

``coherence_norm`` (the normalised coalescence) is the maximum over nodes divided by the mean
over nodes, as in QuakeMigrate.

Public API (all importable from ``seiscore.location``):

* onsets — :class:`Onsets`, :func:`stalta_onsets`, :func:`onsets_from_annotations`
  (module ``onsets``);
* migration — :class:`Coalescence`, :func:`coalescence`, :func:`coalescence_volume`
  (module ``migrate``: the kernels' wrappers, CPU/CUDA dispatch);
* detection — :class:`Triggers`, :func:`detect` (module ``detect``);
* location — :func:`locate`, :class:`LocationDetail`, :func:`scan` (coalescence + detect +
  locate over continuous onsets) (module ``locate``);
* the grid — :func:`make_grid` (module ``grid``);
* figures — :func:`plot_location` (module ``plot``; Matplotlib is imported on use).

The stage uses only the shared layers (``_core``, ``_backend``, ``_validate``, ``containers``,
``exceptions``, ``geo``) and the public API of :mod:`seiscore.traveltime`.
"""

from __future__ import annotations

# ``detect`` and ``locate`` below are the functions: they shadow the submodules of the same
# name as attributes of the package (import those as ``seiscore.location.locate`` etc. through
# ``from seiscore.location.locate import ...``, which goes by sys.modules).
from .detect import Triggers, detect
from .grid import make_grid
from .locate import LocationDetail, locate, scan
from .migrate import Coalescence, coalescence, coalescence_volume
from .onsets import Onsets, onsets_from_annotations, stalta_onsets
from .plot import plot_location

__all__ = [
    "Coalescence",
    "LocationDetail",
    "Onsets",
    "Triggers",
    "coalescence",
    "coalescence_volume",
    "detect",
    "locate",
    "make_grid",
    "onsets_from_annotations",
    "plot_location",
    "scan",
    "stalta_onsets",
]
