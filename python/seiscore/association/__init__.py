"""Association: picks from many stations → events (origin time, hypocentre, their picks).

``associate(picks, stations, velocity_model)`` runs the C++ search in
``seiscore._core.association`` (contract: ``cpp/seiscore/association/grid_search.hpp``):

1. coarse cells tile the search volume; per cell, station and phase, the travel-time range over
   the cell widens the matching window, and a histogram over origin time counts, per cell, the
   picks that fit; its space–time local maxima are the seeds;
2. seeds and refined candidate events share one best-first queue. A seed is checked two levels
   finer (half- and quarter-size sub-cells, as an octree), then refined (grid inside the cell,
   coarse-to-fine pattern search with the tolerance narrowing to the final one, Gauss–Newton on
   the matched picks) into a candidate; the best candidate whose picks are still free becomes an
   event when it has enough picks. Its picks leave the pool and the histogram, which uncovers
   events it hid; the search goes on until nothing qualifies;
3. time is cut into blocks that run in parallel (two passes, so that neighbouring blocks never
   compete for a pick), with the GIL released; memory is bounded by the block length.

A pick matches a predicted arrival ``T`` when ``|t - T| <= tolerance_s + tolerance_fraction *
travel time``. Each pick belongs to at most one event and an event has at most one pick per
station and phase. Travel times come from a (depth, distance) table for P and S (built from a 1-D
velocity model by :mod:`seiscore.traveltime`, or given as a
:class:`~seiscore.containers.TravelTimeTable`) with traveltime's exact station-elevation
correction (one corrected table per station elevation). Depths are km below sea level
everywhere (the model, the tables, the events, QuakeML); stations above it are reached through
the velocity just below sea level.

Trust: an event is accepted only when its picks are unlikely to be a chance coincidence. Its
*significance* is ``-log10`` of the probability that the windows of its stations (nearest
first, each station's own pick rate around that time, P and S of one station counted as the
pairs real picks come in) catch that many picks by chance; the default threshold is
``log10`` of the places and origin times the search tries per hour plus a margin tuned on
synthetic data (:func:`~.config.default_min_significance`). The *null test*
(``null_test=``, :mod:`~.null_test`) measures what is left: it associates copies of the picks in
which every station is shifted in time by its own offset (no true moveout remains) and reports
the events per hour so made, the false-event rate of the settings on this pick set.

Public API
----------
* :func:`associate` (:mod:`~seiscore.association.grid_search`): picks, stations and a velocity
  model (or table) → an :class:`Association`.
* :class:`Association` (:mod:`~seiscore.association.result`): events, per-pick event ids and
  residuals, scores, significance, counts and the null test.
* :class:`NullTest` (:mod:`~seiscore.association.null_test`): the null test's outcome.
* :func:`default_volume` (:mod:`~seiscore.association.config`): the default horizontal search
  limits around the stations.
* :func:`associate_phaselink` (:mod:`~seiscore.association.phaselink`, linkers in
  :mod:`~seiscore.association.linker`): the learned associator; :func:`associate_by_method`
  (:mod:`~seiscore.association.methods`) runs either method from one set of settings.

Inside the package, :mod:`~seiscore.association.inputs` turns stations and picks into the
kernel's columns, :mod:`~seiscore.association.config` checks the search volume and settings, and
:mod:`~seiscore.association.tables` prepares the travel-time table.
"""

from __future__ import annotations

from .config import default_volume
from .grid_search import associate
from .linker import (
    Linker,
    generator_settings,
    linker_card,
    linker_network,
    read_linker_card,
    synthetic_sequences,
)
from .methods import DEFAULT_ZLIM, METHODS, associate_by_method, check_linker
from .null_test import NullTest
from .phaselink import associate_phaselink
from .result import Association

__all__ = ["Association", "NullTest", "associate", "default_volume"]
# PhaseLink, the learned associator (phaselink.py, linker.py)
__all__ += ["Linker", "associate_phaselink", "generator_settings", "linker_card",
            "linker_network", "read_linker_card", "synthetic_sequences"]  # fmt: skip
# either method from one set of settings (methods.py)
__all__ += ["DEFAULT_ZLIM", "METHODS", "associate_by_method", "check_linker"]
