"""The result of an association run: :class:`Association`, and how it is assembled from the
kernel's output."""

from __future__ import annotations

import time as _time
from dataclasses import dataclass, field

import numpy as np

from .. import geo
from ..containers import Events, Picks
from .null_test import NullTest


@dataclass
class Association:
    """The result of :func:`associate`.

    ``events``: the events, sorted by origin time, ``event_id`` 0, 1, …; ``picks``: the input
    picks, unchanged and in input order; ``event_id[i]`` is the event of pick ``i`` (-1: not
    associated) and ``residual_s[i]`` its time residual (observed − predicted, s; NaN when not
    associated); ``score``: per event, the summed pick scores (each pick's weight ×
    (1 − (residual/tolerance)²)); ``significance``: per event, −log10 of the probability that
    its picks fell into their windows by chance (see :mod:`seiscore.association`);
    ``null_test``: the :class:`~.null_test.NullTest` when one was asked for (None otherwise);
    ``stats``: counts — ``n_picks``, ``n_associated``,
    ``n_unassociated``, ``n_unknown_station`` (picks whose station is not in the station table,
    when ``unknown_stations="skip"``), ``n_other_phase`` (phases other than P and S),
    ``n_duplicate`` (repeats of another pick: same NET.STA.LOC and phase within 1 ms; left out
    of the search and not associated), ``n_events``, ``elapsed_s``, ``span_hours`` (first to
    last pick), ``events_per_hour``, with a null test ``null_events_per_hour`` — and search
    statistics (``n_blocks``, ``n_seeds``, ``n_screened``, ``n_refined``, ``n_rejected``);
    ``reference``:
    (lat, lon) of the local projection; ``config``: the settings used; ``notes``: one line per
    thing the caller should know about the input (e.g. the duplicates left out).
    """

    events: Events
    picks: Picks
    event_id: np.ndarray
    residual_s: np.ndarray
    score: np.ndarray
    significance: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    stats: dict = field(default_factory=dict)
    reference: tuple = (0.0, 0.0)
    config: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    null_test: NullTest | None = None

    def set_null_test(self, null: NullTest) -> None:
        """Attach a null test's outcome (and its rate to ``stats``, its reason to ``notes``
        when it was not run)."""
        self.null_test = null
        self.stats["null_events_per_hour"] = null.events_per_hour if null.measured else None
        self.stats["elapsed_s"] += null.elapsed_s
        if not null.measured and not null.automatic:
            self.notes.append(f"null test not run: {null.note}")

    def null_test_report(self) -> dict | None:
        """The null test for ``summary.json``: :meth:`NullTest.as_dict` plus the events found
        per hour and the console ``line`` (None when no null test was asked for; an empty line
        when the automatic one was not run)."""
        if self.null_test is None:
            return None
        found = self.stats.get("events_per_hour")
        return dict(
            self.null_test.as_dict(),
            found_events_per_hour=found,
            min_significance=self.config.get("min_significance"),
            line=""
            if self.null_test.automatic and not self.null_test.measured
            else self.null_test.summary(found),
        )

    @property
    def n_unassociated(self) -> int:
        return int((self.event_id < 0).sum())

    def picks_dataframe(self):
        """The picks with two more columns, ``event_id`` and ``residual_s``."""
        df = self.picks.to_dataframe()
        df["event_id"] = self.event_id
        df["residual_s"] = self.residual_s
        return df

    def summary(self) -> str:
        s = self.stats
        parts = [
            f"{s['n_events']} events from {s['n_picks']} picks: {s['n_associated']} associated, "
            f"{s['n_unassociated']} not associated"
        ]
        if s.get("n_unknown_station"):
            parts.append(f"{s['n_unknown_station']} at stations not in the station table")
        if s.get("n_other_phase"):
            parts.append(f"{s['n_other_phase']} with phases other than P/S")
        if s.get("n_duplicate"):
            parts.append(f"{s['n_duplicate']} duplicate picks left out")
        text = "; ".join(parts) + f" ({s['elapsed_s']:.2f} s)"
        if self.null_test is not None and self.null_test.measured:
            text += "\n" + self.null_test.summary(s.get("events_per_hour"))
        return text


def _build_result(
    out: dict,
    picks: Picks,
    columns,
    reference: tuple,
    config: dict,
    table_model: str,
    use_probability: bool,
    t_start: float,
) -> Association:
    """The :class:`Association` from the kernel's output ``out`` for the picks selected by
    ``columns`` (a :class:`~.inputs._PickColumns`)."""
    idx = columns.index
    events = _events(out, columns.epoch, reference)
    event_id = np.full(len(picks), -1, np.int64)
    residual = np.full(len(picks), np.nan, np.float32)
    event_id[idx] = out["pick_event"]
    residual[idx] = out["pick_residual_s"]
    n_assoc = int((event_id >= 0).sum())
    t_used = columns.t_sec[idx]
    span_h = float(t_used.max() - t_used.min()) / 3600.0 if len(t_used) else 0.0
    stats = {
        "n_picks": len(picks),
        "n_associated": n_assoc,
        "n_unassociated": len(picks) - n_assoc,
        "n_unknown_station": int(columns.unknown.sum()),
        "n_other_phase": int((columns.other & ~columns.unknown).sum()),
        "n_duplicate": int(columns.duplicate.sum()),
        "n_events": len(events),
        "span_hours": span_h,
        "events_per_hour": len(events) / span_h if span_h > 0 else float("nan"),
        "elapsed_s": _time.perf_counter() - t_start,
        "n_blocks": int(out["n_blocks"]),
        "n_seeds": int(out["n_seeds"]),
        "n_screened": int(out["n_screened"]),
        "n_refined": int(out["n_refined"]),
        "n_rejected": int(out["n_rejected"]),
    }
    config = dict(config, use_probability=bool(use_probability), table_model=table_model)
    notes = []
    if stats["n_duplicate"]:
        notes.append(
            f"{stats['n_duplicate']} duplicate picks (the same station, location and phase "
            "within 1 ms of another pick) were left out of the association"
        )
    return Association(
        events,
        picks,
        event_id,
        residual,
        out["score"],
        out["significance"],
        stats,
        tuple(reference),
        config,
        notes,
    )


def _events(out: dict, epoch: np.datetime64, reference: tuple) -> Events:
    """The kernel's events, with absolute origin times and (when the projection reference is
    known) latitude/longitude."""
    n_ev = len(out["time"])
    ev_time = epoch + np.round(out["time"] * 1e9).astype("timedelta64[ns]")
    if np.isfinite(reference[0]):
        lat, lon = geo.unproject(out["x_km"], out["y_km"], *reference)
    else:
        lat = lon = np.full(n_ev, np.nan)
    return Events(
        event_id=np.arange(n_ev, dtype=np.int64),
        time=ev_time,
        latitude=np.asarray(lat, np.float64).reshape(n_ev),
        longitude=np.asarray(lon, np.float64).reshape(n_ev),
        depth_km=out["z_km"],
        x_km=out["x_km"],
        y_km=out["y_km"],
        n_p=out["n_p"],
        n_s=out["n_s"],
        rms_s=out["rms_s"],
    )
