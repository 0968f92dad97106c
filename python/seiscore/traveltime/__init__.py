"""Travel times: 1-D velocity models → (distance, depth) tables → per-station 3-D grids.

The pieces, in the order a location run uses them::

    model = VelocityModel.from_file("crust.nd")            # or VelocityModel.homogeneous(...)
    table = build_table(model, max_distance_km=150, max_depth_km=40)   # once per model
    t = travel_times(table, "P", distance_km, source_depth_km, station_elevation_m)
    tt = station_grids(table, stations, grid, sampling_rate=100.0)    # [node, station, phase]
    save_grids("tt.npz", tt, grid, stations, phases=table.phases, model=table.model,
               sampling_rate=100.0)
    grids = load_grids("tt.npz", grid=grid, stations=stations)       # refuses a mismatch

Conventions
-----------
* Depths are km below the datum (sea level), positive down; negative depths are above sea level.
  Horizontal positions are local km from :mod:`seiscore.geo` (x east, y north).
* Tables hold first arrivals for a receiver **at the datum**: ``times[phase, depth, distance]``
  (see :class:`~seiscore.containers.TravelTimeTable`). They are computed by exact ray theory in
  a stack of thin constant-velocity sub-layers (direct rays and head waves; on thin sub-layers
  of a gradient the head waves converge to the diving waves), Earth-flattened so that
  distances are along the surface of a sphere of radius 6371 km as in TauP. Agreement with
  ObsPy's TauP on the same model is tested (within 1 % or 0.02 s).
* **Station elevation.** A station ``e`` km above the datum sits in the medium just below the
  datum extended upward (velocity ``table.surface_velocity[phase]``). ``elevation="fermat"``
  (default) finds the true first arrival in that medium: the minimum over where the ray
  crosses the datum, ``min_x' T(x', z) + sqrt((x - x')^2 + e^2) / v0``, plus the straight ray
  for sources above the datum; it is exact for any incidence angle (e.g. a source beneath a
  mountain station, or shallow icequakes under glacier stations). ``elevation="vertical"`` is
  the simple static documented with :class:`~seiscore.containers.TravelTimeTable`:
  ``+ e / v0`` (good for distant sources, where rays arrive steeply). Stations below the datum
  (``e < 0``) always use the vertical static.

Public API
----------
* :mod:`~seiscore.traveltime.models`: :class:`VelocityModel` (``.nd``, ``depth vp vs`` text or
  CSV, VELEST ``.mod``, homogeneous).
* :mod:`~seiscore.traveltime.tables`: :func:`build_table` (a
  :class:`~seiscore.containers.TravelTimeTable` from a model; distances up to
  :data:`MAX_TABLE_DISTANCE_KM`, depths within :data:`MAX_TABLE_DEPTH_KM`) and
  :func:`travel_times` (interpolation with the station-elevation correction).
* :mod:`~seiscore.traveltime.grids`: :func:`station_grids` (``[node, station, phase]`` grids, CPU
  or CUDA), :func:`check_grid_memory`, :func:`save_grids`, :func:`load_grids` and
  :class:`StationGrids`.
* :mod:`~seiscore.traveltime.nonlinloc`: NonLinLoc ``.hdr``/``.buf`` time grids (3-D models, what
  LOKI, MALMI and NonLinLoc users have): :func:`read_nonlinloc`, :func:`nonlinloc_station_grids`
  (onto a seiscore grid, for location), :func:`grid_from_nonlinloc`, :func:`write_nonlinloc`,
  and :func:`table_from_grids` (a 1-D summary for association, with its spread).
"""

from __future__ import annotations

from .grids import StationGrids, check_grid_memory, load_grids, save_grids, station_grids
from .models import VelocityModel, load_velocity_model
from .nonlinloc import (
    NonLinLocGrid,
    grid_from_nonlinloc,
    nonlinloc_station_grids,
    read_nonlinloc,
    table_from_grids,
    write_nonlinloc,
)
from .tables import _CORRECTED as _CORRECTED  # the elevation-correction cache (bench/)
from .tables import MAX_TABLE_DEPTH_KM, MAX_TABLE_DISTANCE_KM, build_table, travel_times
from .tables import _corrected as _corrected  # timed on its own by bench/test_traveltime.py

__all__ = [
    "MAX_TABLE_DEPTH_KM",
    "MAX_TABLE_DISTANCE_KM",
    "NonLinLocGrid",
    "StationGrids",
    "VelocityModel",
    "build_table",
    "check_grid_memory",
    "grid_from_nonlinloc",
    "load_velocity_model",
    "load_grids",
    "nonlinloc_station_grids",
    "read_nonlinloc",
    "save_grids",
    "station_grids",
    "table_from_grids",
    "travel_times",
    "write_nonlinloc",
]
