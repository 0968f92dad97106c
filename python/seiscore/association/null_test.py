"""The null test: how many events would the search make from picks that hold none?

Every station's picks are shifted in time by its own offset, a multiple of the network's
travel-time span (the longest travel time the search uses, plus the matching windows) that
differs between any two stations (as far as the span of the picks allows): each station keeps
its own picks and its own pick rate, but no true moveout between stations is left. The search
then runs, with the settings and travel-time tables of the real run, on analysis windows of these
shifted picks; whatever it calls an event there is a chance coincidence. Their number per hour
of picks is the false-event rate of the settings on this pick set (a few seeded repeats, at
windows spread over the span).

Shifts are circular over the span of the picks: a pick at ``t`` of a station with offset ``o``
moves to ``t0 + (t - t0 - o) mod P`` (``t0`` the first pick, ``P`` a little more than the span),
so that an analysis window ``[a, a + L)`` holds, at each station, the picks of another stretch of
the record. Windows have margins of one travel-time span on both sides; only events whose origin
lies inside the window are counted. When the span holds fewer offset steps than there are
stations, stations share offsets (at random; ``n_offset_classes`` says how many distinct ones
there were) and the estimate errs high; below two steps there is nothing to shift against and
the test is not run (``note`` says why).
"""

from __future__ import annotations

import time as _time
from dataclasses import asdict, dataclass, field

import numpy as np

# An analysis window of at most this length (s) per repeat, unless the caller sets it.
DEFAULT_WINDOW_S = 3600.0
DEFAULT_REPEATS = 3
# ``null_test="auto"``: analyse this fraction of the span (an hour of shifted picks costs the
# search 1-10 times what an hour of real picks does: chance coincidences are what it spends its
# time on), and nothing when that is less than AUTO_MIN_S (spans under ~17 h).
AUTO_FRACTION = 0.01
AUTO_MIN_S = 600.0


@dataclass
class NullTest:
    """The outcome of the null test (see :mod:`seiscore.association.null_test`).

    ``events_per_hour``: events the search made per hour of station-shifted picks (NaN when not
    run); ``n_events``: how many, over ``hours`` of analysed windows (``repeats`` windows of
    ``window_s``); ``offset_step_s``: the shift step (the network's travel-time span);
    ``n_offset_classes``/``n_stations``: distinct offsets used / stations with picks (equal when
    every station had its own); ``seed``; ``elapsed_s``: the time the test took; ``note``: why it
    was not run, or what limits it ("" otherwise); ``significance``: that of each chance event
    (so the rate at a stricter ``min_significance`` can be read off); ``automatic``: whether
    it was ``null_test="auto"``'s choice."""

    events_per_hour: float
    n_events: int
    hours: float
    repeats: int
    window_s: float
    offset_step_s: float
    n_offset_classes: int
    n_stations: int
    seed: int
    elapsed_s: float
    note: str = ""
    significance: list = field(default_factory=list)
    automatic: bool = False

    @property
    def measured(self) -> bool:
        return bool(np.isfinite(self.events_per_hour))

    def upper_per_hour(self, confidence: float = 0.95) -> float:
        """The one-sided upper limit (events per hour) of the chance-event rate at this
        confidence, from the Poisson count (NaN when not run)."""
        from scipy.stats import chi2

        if not self.measured or self.hours <= 0:
            return float("nan")
        return float(chi2.ppf(confidence, 2 * (self.n_events + 1)) / 2.0 / self.hours)

    def as_dict(self) -> dict:
        """The fields as plain values (NaN as None), without the per-event significance list
        (its count and largest value instead), for JSON."""
        d = asdict(self)
        sig = d.pop("significance")
        d["max_significance"] = max(sig) if sig else None
        d["upper_per_hour_95"] = self.upper_per_hour() if self.measured else None
        if not self.measured:
            d["events_per_hour"] = None
        return d

    def summary(self, found_per_hour: float | None = None) -> str:
        """One line for the console, e.g. ``null test: 0.3 false events/h (1 in 3.0 h of
        station-shifted picks, 3 repeats)``; with ``found_per_hour``, also what fraction of the
        events found that rate is."""
        if not self.measured:
            return f"null test: not run ({self.note})"
        upper = ""
        if self.n_events < 10:  # few events: the 95 % upper limit says more than the rate
            upper = f", at most {self.upper_per_hour():.2g}/h at 95 %"
        text = (
            f"null test: {self.events_per_hour:.3g} false events/h ({self.n_events} in "
            f"{self.hours:.2f} h of station-shifted picks, {self.repeats} repeats{upper})"
        )
        if found_per_hour is not None and found_per_hour > 0:
            text += f", {100 * self.events_per_hour / found_per_hour:.2g}% of the events found"
        return text + (f"; {self.note}" if self.note else "")


def _not_run(note: str, seed: int, n_stations: int, step: float = float("nan")) -> NullTest:
    return NullTest(float("nan"), 0, 0.0, 0, 0.0, step, 0, n_stations, seed, 0.0, note)


def windows_for(span_s: float, setting, window_s, repeats) -> tuple[int, float, str]:
    """(repeats, window length s, note) for a null test of ``setting`` (True, an int number of
    repeats, or "auto") on picks spanning ``span_s``; repeats 0 and a note when "auto" finds the
    span too short for a test worth its cost."""
    n = DEFAULT_REPEATS if setting is True or setting == "auto" else int(setting)
    n = int(repeats) if repeats is not None else n
    length = float(window_s) if window_s is not None else min(DEFAULT_WINDOW_S, span_s)
    if setting == "auto":
        budget = AUTO_FRACTION * span_s
        if budget < AUTO_MIN_S:
            return (
                0,
                0.0,
                (
                    f"the picks span {span_s / 3600:.2g} h; the automatic null test analyses "
                    f"{AUTO_FRACTION:.0%} of the span and needs at least {AUTO_MIN_S / 60:g} min "
                    "(ask for it with null_test=True / --null-test)"
                ),
            )
        length = min(length, budget / n)
    return n, min(length, span_s), ""


@dataclass
class ShiftedWindow:
    """One analysis window of station-shifted picks: ``index`` (positions in the input columns
    of the picks it holds), ``time_s`` (their shifted times, seconds from the window's start,
    margin included), ``margin_s`` and ``length_s`` (events count when their origin lies in
    ``[margin_s, margin_s + length_s)``)."""

    index: np.ndarray
    time_s: np.ndarray
    margin_s: float
    length_s: float


def shifted_windows(
    row: np.ndarray,
    t_sec: np.ndarray,
    *,
    step_s: float,
    margin_s: float,
    repeats: int,
    window_s: float,
    seed: int,
) -> tuple[list[ShiftedWindow], int, str]:
    """The null test's station-shifted copies of picks at station ``row`` and times ``t_sec``
    (seconds): (windows, distinct offsets used, why none when the list is empty). Seeded: the
    same arguments give the same copies (how a peer runs on the same null test)."""
    active = np.unique(row)
    if len(t_sec) == 0 or repeats < 1 or window_s <= 0:
        return [], 0, "no picks to shift"
    t0 = float(t_sec.min())
    period = float(t_sec.max()) - t0 + 1.0
    n_steps = int(period // step_s)
    if n_steps < 2:
        return (
            [],
            0,
            (
                f"the picks span {period:.0f} s, less than two offset steps of {step_s:.0f} s "
                "(the network's travel-time span)"
            ),
        )
    rng = np.random.default_rng(seed)
    out = []
    for r in range(repeats):
        offsets = _station_offsets(rng, active, int(row.max()) + 1, n_steps, step_s)
        shifted = t0 + np.mod(t_sec - t0 - offsets[row], period)
        a, length, pad = _window(rng, r, repeats, t0, period, window_s, margin_s)
        sel = np.flatnonzero((shifted >= a - pad) & (shifted < a + length + pad))
        out.append(ShiftedWindow(sel, shifted[sel] - (a - pad), pad, length))
    return out, min(n_steps, len(active)), ""


def run_null_test(
    search,
    row: np.ndarray,
    phase: np.ndarray,
    t_sec: np.ndarray,
    weight: np.ndarray,
    *,
    step_s: float,
    margin_s: float,
    repeats: int,
    window_s: float,
    seed: int,
) -> NullTest:
    """Run the null test. ``search(row, phase, t_sec, weight)`` is the kernel with the real run's
    settings and tables (returns its output dict); the columns are the picks that went into the
    real search (station row, phase, seconds, weight); ``step_s`` is the offset step (the
    travel-time span), ``margin_s`` the margin kept on both sides of an analysis window."""
    t_start = _time.perf_counter()
    n_active = len(np.unique(row))
    windows, classes, why = shifted_windows(
        row, t_sec, step_s=step_s, margin_s=margin_s, repeats=repeats, window_s=window_s,
        seed=seed,
    )  # fmt: skip
    if not windows:
        return _not_run(why, seed, n_active, step_s)
    # all windows in one search (the search's per-call set-up is shared): window r is moved to
    # start at r * stride, far enough from the others that no event can reach two of them
    stride = max(w.length_s + 2 * w.margin_s for w in windows) + 2 * step_s
    sel = np.concatenate([w.index for w in windows])
    times = np.concatenate([w.time_s + r * stride for r, w in enumerate(windows)])
    hours = sum(w.length_s for w in windows) / 3600.0
    n_events, sig = 0, []
    if len(sel):
        out = search(row[sel], phase[sel], times, weight[sel])
        origin = np.asarray(out["time"])
        which = np.floor(origin / stride).astype(np.int64)
        inside = np.zeros(len(origin), bool)
        for r, w in enumerate(windows):
            local = origin - r * stride
            inside |= (which == r) & (local >= w.margin_s) & (local < w.margin_s + w.length_s)
        n_events = int(inside.sum())
        sig = [round(float(v), 3) for v in np.asarray(out["significance"])[inside]]
    note = ""
    if classes < n_active:
        note = (
            f"{n_active} stations shared {classes} offsets of {step_s:.0f} s (the picks span "
            "too little time for one each; some moveout kept, the rate errs high)"
        )
    return NullTest(
        n_events / hours if hours > 0 else float("nan"),
        n_events,
        hours,
        len(windows),
        float(windows[0].length_s),
        float(step_s),
        classes,
        n_active,
        int(seed),
        _time.perf_counter() - t_start,
        note,
        sig,
    )


def _station_offsets(rng, active, n_rows, n_steps, step_s) -> np.ndarray:
    """Offsets (s) per station row: distinct multiples of ``step_s`` for the ``active``
    stations while there are enough steps (shared at random otherwise)."""
    offsets = np.zeros(int(n_rows), np.float64)
    order = rng.permutation(len(active))
    offsets[active] = (order % n_steps) * step_s + rng.uniform(0.0, 0.5 * step_s)
    return offsets


def _window(rng, r, repeats, t0, period, window_s, margin_s):
    """(start, length, margin) of analysis window ``r``: windows spread over the span (random
    within their share of it); a window as long as the span is the whole circle, no margin."""
    if window_s + 2 * margin_s >= period:
        return t0, period, 0.0
    room = period - window_s - 2 * margin_s
    a = t0 + margin_s + room * (r + rng.uniform()) / repeats
    return a, window_s, margin_s
