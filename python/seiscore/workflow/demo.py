"""``seiscore demo``: a small synthetic scenario with known truth, run through the pipeline.

:func:`synthetic_waveforms` makes 100 Hz three-component records: band-limited background noise
(with a weak microseism) and, per event and station, a P and an S arrival — band-limited
(3–15 Hz) bursts with a sharp onset and an exponential coda, P strongest on the vertical, S
larger and on the horizontals, amplitudes falling off with distance. :func:`make_scenario`
writes them as miniSEED with a StationXML and a ``config.toml``; :func:`run_demo` runs
:func:`seiscore.workflow.pipeline.run` and compares the catalogue with the truth.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import obspy

from .. import synthetic
from ..containers import Annotations, Stations
from ..exceptions import InputError
from ..io.atomic import save_figure

__all__ = [
    "compare",
    "continuous_scenario",
    "make_scenario",
    "probability_annotations",
    "run_demo",
    "scenario_waveforms",
    "synthetic_waveforms",
    "write_stationxml",
]

DEMO_START = obspy.UTCDateTime("2024-05-01T12:00:00")


def _bandpass(x: np.ndarray, fmin: float, fmax: float, fs: float) -> np.ndarray:
    from scipy.signal import butter, sosfilt

    sos = butter(4, [fmin, fmax], btype="band", fs=fs, output="sos")
    return sosfilt(sos, x, axis=-1)


def _burst(rng, n: int, fs: float, coda_s: float) -> np.ndarray:
    """A causal band-limited (3–15 Hz) burst: sharp onset, exponential coda, unit peak."""
    t = np.arange(n) / fs
    env = (1.0 - np.exp(-t / 0.03)) * np.exp(-t / coda_s)
    w = _bandpass(rng.standard_normal(n) * env, 3.0, 15.0, fs)
    return w / np.max(np.abs(w))


def synthetic_waveforms(
    stations: Stations,
    events: dict,
    starttime,
    duration_s: float,
    *,
    vp: float = 6.0,
    vs: float = 3.5,
    sampling_rate: float = 100.0,
    noise: float = 1.0,
    amplitude_10km: float = 30.0,
    seed=None,
) -> obspy.Stream:
    """Three-component records (``HHE``, ``HHN``, ``HHZ``, float32) of ``events`` at ``stations``.

    ``stations`` need ``x_km``/``y_km`` (as :func:`seiscore.synthetic.network` makes them);
    ``events`` is a dict of arrays ``x_km, y_km, depth_km, time_s`` (seconds after
    ``starttime``) and optionally ``magnitude`` (amplitude × 10^(magnitude − 1)). Straight rays
    in a homogeneous half-space (``vp``, ``vs``); the P amplitude at 10 km is
    ``amplitude_10km`` × ``noise`` (RMS of the background), decaying as 1/distance; S is 1.7×
    larger.
    """
    if not np.all(np.isfinite(stations.x_km)):
        raise InputError(
            "synthetic_waveforms: stations need x_km/y_km (seiscore.synthetic.network)"
        )
    rng = np.random.default_rng(seed)
    fs = float(sampling_rate)
    n = int(round(duration_s * fs))
    starttime = obspy.UTCDateTime(starttime)
    ex, ey, ez = (np.asarray(events[k], float) for k in ("x_km", "y_km", "depth_km"))
    et = np.asarray(events["time_s"], float)
    mag = np.asarray(events.get("magnitude", np.ones_like(ex)), float)
    st = obspy.Stream()
    for k in range(len(stations)):
        # background: band-limited noise plus a weak microseism (~0.2 Hz)
        data = _bandpass(rng.standard_normal((3, n)), 1.0, 30.0, fs)
        data *= noise / data.std(axis=1, keepdims=True)
        micro = _bandpass(rng.standard_normal((3, n)), 0.1, 0.4, fs)
        data += 0.5 * noise * micro / micro.std(axis=1, keepdims=True)
        for e in range(len(ex)):
            dx, dy = stations.x_km[k] - ex[e], stations.y_km[k] - ey[e]
            r = float(np.sqrt(dx * dx + dy * dy + ez[e] ** 2))
            h = max(float(np.hypot(dx, dy)), 1e-6)
            amp = amplitude_10km * noise * 10.0 ** (mag[e] - 1.0) * 10.0 / max(r, 1.0)
            for phase, v, coda, scale in (("P", vp, 0.5, 1.0), ("S", vs, 0.9, 1.7)):
                i0 = int(round((et[e] + r / v) * fs))
                m = min(int(8 * coda * fs), n - i0)
                if i0 < 0 or m <= 10:
                    continue
                incl = np.arctan2(h, ez[e])  # ray angle from vertical at the station
                if phase == "P":  # particle motion along the ray: vertical and radial
                    gains = np.array(
                        [0.4 * np.sin(incl) * dx / h, 0.4 * np.sin(incl) * dy / h, 1.0]
                    )
                else:  # mostly transverse (any azimuth right above the source), weakly vertical
                    az = np.arctan2(dy, dx) + np.pi / 2 if h > 0.5 else rng.uniform(0, 2 * np.pi)
                    gains = np.array([np.cos(az), np.sin(az), 0.25]) * 0.8 + 0.2 * rng.uniform(
                        -1, 1, 3
                    )
                for c in range(3):
                    data[c, i0 : i0 + m] += scale * amp * gains[c] * _burst(rng, m, fs, coda)
        for c, comp in enumerate("ENZ"):
            tr = obspy.Trace(data[c].astype(np.float32))
            tr.stats.network = str(stations.network[k])
            tr.stats.station = str(stations.station[k])
            tr.stats.location = str(stations.location[k])
            tr.stats.channel = "HH" + comp
            tr.stats.sampling_rate = fs
            tr.stats.starttime = starttime
            st += tr
    return st


# -------------------------------------------------------------------- continuous scenario


def _event_times(rng, n: int, duration_s: float, n_pairs: int, gap_s: float) -> np.ndarray:
    """Origin times (s) of ``n`` events at least ``gap_s`` apart (in random slots)."""
    slots = np.sort(rng.choice(int((duration_s - 2 * gap_s) // gap_s), n, replace=False))
    t = gap_s + slots * gap_s + rng.uniform(0, 0.5 * gap_s, n)
    return t


def continuous_scenario(
    *,
    duration_s: float = 3600.0,
    n_events: int = 32,
    n_pairs: int = 4,
    n_outside: int = 4,
    n_bursts: int = 20,
    n_stations: int = 8,
    station_half_km: float = 16.0,
    grid_half_km: float = 20.0,
    depth_km=(0.0, 20.0),
    magnitude=(0.6, 2.0),
    vp: float = 6.0,
    vs: float = 3.5,
    seed: int = 0,
) -> dict:
    """A continuous record with known truth, for migration detection (no data written).

    ``n_events`` events inside the grid (``±grid_half_km`` horizontally, ``depth_km``), at
    least ~50 s apart but for ``n_pairs`` of them, each 2–5 s after another; ``n_outside``
    events 4–10 km outside the grid (beside it or below it), which a detector should not
    report as events inside it; ``n_bursts`` noise bursts, each at one station only, at least
    12 s from every event. Magnitudes are uniform in ``magnitude`` (amplitude ×
    10^(magnitude − 1) in :func:`synthetic_waveforms`). Returns a dict: ``stations``,
    ``events`` (arrays ``x_km, y_km, depth_km, time_s, magnitude`` and ``inside``, sorted by
    time), ``bursts`` (``station``, ``time_s``, ``amplitude``), ``grid`` (x, y, z limits, km),
    ``vp``, ``vs``, ``duration_s``, ``starttime``.
    """
    rng = np.random.default_rng(seed)
    h = float(station_half_km)
    stations = synthetic.network(
        n_stations, xlim=(-h, h), ylim=(-h, h), seed=rng, network_code="XC"
    )
    g, (z0, z1) = float(grid_half_km), (float(v) for v in depth_km)
    singles = _event_times(rng, n_events - n_pairs + n_outside, duration_s, n_pairs, 50.0)
    outside = np.zeros(len(singles), bool)
    outside[rng.choice(len(singles), n_outside, replace=False)] = True
    leaders = rng.choice(np.flatnonzero(~outside), n_pairs, replace=False)
    t_all = np.concatenate([singles, singles[leaders] + rng.uniform(2.0, 5.0, n_pairs)])
    outside = np.concatenate([outside, np.zeros(n_pairs, bool)])
    x = rng.uniform(-0.8 * g, 0.8 * g, len(t_all))
    y = rng.uniform(-0.8 * g, 0.8 * g, len(t_all))
    z = rng.uniform(z0 + 2.0, z1 - 2.0, len(t_all))
    for k in np.flatnonzero(outside):  # beside the grid (x or y) or below it
        side = rng.integers(0, 3)
        beyond = rng.uniform(4.0, 10.0) * rng.choice([-1, 1])
        if side == 0:
            x[k] = np.sign(beyond) * g + beyond
        elif side == 1:
            y[k] = np.sign(beyond) * g + beyond
        else:
            z[k] = z1 + abs(beyond)
    order = np.argsort(t_all)
    events = {
        "x_km": x[order],
        "y_km": y[order],
        "depth_km": z[order],
        "time_s": t_all[order],
        "magnitude": rng.uniform(*magnitude, len(t_all))[order],
        "inside": ~outside[order],
    }
    quiet = _quiet_times(rng, t_all, n_bursts, duration_s)
    bursts = {
        "station": rng.integers(0, n_stations, n_bursts),
        "time_s": quiet,
        "amplitude": rng.uniform(20.0, 80.0, n_bursts),
    }
    return {
        "stations": stations,
        "events": events,
        "bursts": bursts,
        "grid": ((-g, g), (-g, g), (z0, z1)),
        "vp": vp,
        "vs": vs,
        "duration_s": float(duration_s),
        "starttime": DEMO_START,
    }


def _quiet_times(rng, event_times, n: int, duration_s: float) -> np.ndarray:
    """``n`` times at least 12 s from every event (noise bursts that no event explains)."""
    out = []
    while len(out) < n:
        t = rng.uniform(10.0, duration_s - 10.0)
        if np.min(np.abs(np.asarray(event_times) - t)) > 12.0:
            out.append(t)
    return np.sort(np.array(out))


def scenario_waveforms(scenario: dict, *, sampling_rate: float = 100.0, seed=None) -> obspy.Stream:
    """The scenario's three-component records (:func:`synthetic_waveforms`) with its noise
    bursts: at one station each, a band-limited burst on all three components."""
    rng = np.random.default_rng(seed)
    st = synthetic_waveforms(
        scenario["stations"],
        scenario["events"],
        scenario["starttime"],
        scenario["duration_s"],
        vp=scenario["vp"],
        vs=scenario["vs"],
        sampling_rate=sampling_rate,
        seed=rng,
    )
    fs = float(sampling_rate)
    b = scenario["bursts"]
    names = scenario["stations"].station
    for k, t, amp in zip(b["station"], b["time_s"], b["amplitude"], strict=True):
        i0, m = int(round(t * fs)), int(4.0 * fs)
        for tr in st.select(station=str(names[k])):
            w = _burst(rng, m, fs, 0.6) * amp * rng.uniform(0.5, 1.0)
            seg = tr.data[i0 : i0 + m]
            seg += w[: len(seg)].astype(tr.data.dtype)
    return st


def _arrival_peaks(rng, t: np.ndarray, times, heights, fs: float) -> np.ndarray:
    """A probability trace: Gaussian peaks (standard deviation 0.04–0.1 s) at ``times``."""
    out = np.zeros(len(t))
    for tc, hgt in zip(times, heights, strict=True):
        sd = rng.uniform(0.04, 0.1)
        i0, i1 = int((tc - 5 * sd) * fs), int((tc + 5 * sd) * fs) + 1
        i0, i1 = max(i0, 0), min(i1, len(t))
        if i1 > i0:
            seg = hgt * np.exp(-0.5 * ((t[i0:i1] - tc) / sd) ** 2)
            out[i0:i1] = np.maximum(out[i0:i1], seg)
    return out


def _snr_probability(snr: np.ndarray) -> np.ndarray:
    """A picker's peak probability for an arrival of this signal-to-noise ratio (0.5 at 4)."""
    return 1.0 / (1.0 + (4.0 / np.maximum(snr, 1e-6)) ** 3)


def probability_annotations(
    scenario: dict,
    *,
    sampling_rate: float = 50.0,
    false_per_hour: float = 30.0,
    amplitude_10km: float = 30.0,
    seed=None,
) -> list[Annotations]:
    """Probability traces that mimic PhaseNet's on the scenario, one per station (P and S):
    a near-zero background (|N(0, 0.002)|), Gaussian peaks 0.1–0.25 s wide (FWHM) at the
    arrivals, timed within ±0.05 s, as high as the arrival's signal-to-noise ratio makes them
    (:func:`synthetic_waveforms`' amplitudes), and false blips at random times (``false_per_hour``
    per station and phase, 0.05–0.7 high); the noise bursts give a P- and an S-like peak at
    their station."""
    rng = np.random.default_rng(seed)
    fs = float(sampling_rate)
    n = int(round(scenario["duration_s"] * fs))
    t = np.arange(n) / fs
    st, ev, b = scenario["stations"], scenario["events"], scenario["bursts"]
    out = []
    for k in range(len(st)):
        r = np.sqrt(
            (st.x_km[k] - ev["x_km"]) ** 2 + (st.y_km[k] - ev["y_km"]) ** 2 + ev["depth_km"] ** 2
        )
        snr_p = amplitude_10km * 10.0 ** (ev["magnitude"] - 1.0) * 10.0 / np.maximum(r, 1.0)
        rows = []
        for ph, v, gain in (("P", scenario["vp"], 1.0), ("S", scenario["vs"], 1.7)):
            arr = ev["time_s"] + r / v + rng.normal(0, 0.025, len(r))
            hgt = _snr_probability(gain * snr_p) * rng.uniform(0.8, 1.0, len(r))
            mine = b["station"] == k
            arr = np.concatenate([arr, b["time_s"][mine] + (0.0 if ph == "P" else 1.2)])
            hgt = np.concatenate([hgt, rng.uniform(0.5, 0.9, int(mine.sum()))])
            n_false = rng.poisson(false_per_hour * scenario["duration_s"] / 3600.0)
            arr = np.concatenate([arr, rng.uniform(0, scenario["duration_s"], n_false)])
            hgt = np.concatenate([hgt, rng.uniform(0.05, 0.7, n_false)])
            trace = _arrival_peaks(rng, t, arr, hgt, fs)
            rows.append(np.maximum(trace, np.abs(rng.normal(0, 0.002, n))))
        out.append(
            Annotations(
                str(st.network[k]),
                str(st.station[k]),
                str(st.location[k]),
                "HH",
                scenario["starttime"],
                fs,
                ("P", "S"),
                np.asarray(rows, np.float32),
                "phasenet-like",
            )
        )
    return out


# The demo's records are counts of a broadband velocity sensor flat above 1/120 Hz. Its
# sensitivity makes the synthetic amplitudes physical: a magnitude-1 event 10 km away gives an S
# peak of about 45 counts (synthetic_waveforms), which Hutton & Boore's law puts at 0.19 mm on a
# Wood-Anderson seismograph, i.e. a ground velocity of about 3.5e-6 m/s at the bursts' ~6 Hz:
# 45 / 3.5e-6 = 1.3e7 counts per m/s. Local magnitudes of the demo then recover the events'
# magnitudes (to the scatter of the random radiation), and the background is 7.7e-8 m/s RMS.
DEMO_SENSITIVITY = 1.3e7
DEMO_POLES = (complex(-0.037, 0.037), complex(-0.037, -0.037))


def demo_response():
    """The demo sensor's response (counts per m/s)."""
    from obspy.core.inventory import Response

    return Response.from_paz(
        [0j, 0j],
        list(DEMO_POLES),
        DEMO_SENSITIVITY,
        stage_gain_frequency=1.0,
        input_units="M/S",
        output_units="COUNTS",
    )


def write_stationxml(stations: Stations, path, starttime=DEMO_START - 86400) -> Path:
    """A StationXML with three HH channels per station and the demo sensor's response
    (:func:`demo_response`), so that magnitudes can be measured."""
    from obspy.core.inventory import Channel, Inventory, Network, Station

    nets: dict[str, Network] = {}
    for k in range(len(stations)):
        code = str(stations.network[k])
        net = nets.setdefault(code, Network(code=code))
        lat, lon, elev = (
            float(stations.latitude[k]),
            float(stations.longitude[k]),
            float(stations.elevation_m[k]),
        )
        sta = Station(
            code=str(stations.station[k]),
            latitude=lat,
            longitude=lon,
            elevation=elev,
            start_date=starttime,
        )
        for comp, az, dip in (("E", 90.0, 0.0), ("N", 0.0, 0.0), ("Z", 0.0, -90.0)):
            sta.channels.append(
                Channel(
                    code="HH" + comp,
                    location_code=str(stations.location[k]),
                    latitude=lat,
                    longitude=lon,
                    elevation=elev,
                    depth=0.0,
                    azimuth=az,
                    dip=dip,
                    sample_rate=100.0,
                    start_date=starttime,
                    response=demo_response(),
                )
            )
        net.stations.append(sta)
    inv = Inventory(networks=list(nets.values()), source="seiscore demo")
    path = Path(path)
    inv.write(str(path), format="STATIONXML")
    return path


def make_scenario(
    folder,
    *,
    n_stations: int = 12,
    n_events: int = 6,
    duration_s: float = 180.0,
    half_width_km: float = 20.0,
    vp: float = 6.0,
    vs: float = 3.5,
    seed: int = 7,
) -> dict:
    """Write a scenario into ``folder``: ``waveforms/*.mseed``, ``stations.xml``, ``truth.csv``
    (the true events) and ``config.toml`` (output into ``folder/out``). Events are spread in
    time (at least ~20 s apart) inside the network. Returns the truth as a dict of arrays."""
    import pandas as pd

    folder = Path(folder)
    (folder / "waveforms").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    w = float(half_width_km)
    stations = synthetic.network(
        n_stations, xlim=(-w, w), ylim=(-w, w), seed=rng, network_code="XD"
    )
    ev = synthetic.events(
        n_events,
        duration_s=1.0,
        xlim=(-0.6 * w, 0.6 * w),
        ylim=(-0.6 * w, 0.6 * w),
        zlim=(3.0, 15.0),
        seed=rng,
    )
    slot = (duration_s - 30.0) / n_events
    ev["time_s"] = (
        5.0 + slot * np.arange(n_events) + rng.uniform(0, max(slot - 20.0, 0.1), n_events)
    )
    ev["magnitude"] = rng.uniform(0.9, 1.4, n_events)
    st = synthetic_waveforms(stations, ev, DEMO_START, duration_s, vp=vp, vs=vs, seed=rng)
    for k in range(len(stations)):
        sub = st.select(station=str(stations.station[k]))
        sub.write(
            str(folder / "waveforms" / f"{stations.network[k]}.{stations.station[k]}.mseed"),
            format="MSEED",
        )
    write_stationxml(stations, folder / "stations.xml")
    from .. import geo

    lat, lon = geo.unproject(ev["x_km"], ev["y_km"], *synthetic.DEFAULT_REFERENCE)
    times = [DEMO_START + float(t) for t in ev["time_s"]]
    truth = pd.DataFrame(
        {
            "time": [str(t) for t in times],
            "latitude": lat,
            "longitude": lon,
            "depth_km": ev["depth_km"],
            "x_km": ev["x_km"],
            "y_km": ev["y_km"],
            "magnitude": ev["magnitude"],
        }
    )
    truth.to_csv(folder / "truth.csv", index=False)
    (folder / "config.toml").write_text(
        '[input]\nwaveforms = ["waveforms"]\n\n[stations]\npath = "stations.xml"\n\n'
        f"[model]\nvp = {vp}\nvs = {vs}\n\n"
        "[association]\nmin_picks = 6\nmin_p = 3\nmin_s = 2\nzlim = [0.0, 25.0]\n\n"
        "[location]\nspacing_km = 1.0\ndepth_km = [0.0, 20.0]\n\n"
        '[output]\ndirectory = "out"\n'
    )
    return {"stations": stations, "events": ev, "truth": truth}


def compare(events_df, truth_df, max_dt_s: float = 3.0):
    """Match each true event with the found event closest in origin time (within ``max_dt_s``);
    a DataFrame with the errors (time s, horizontal and depth km; NaN where not found)."""
    import pandas as pd

    from .. import geo

    rows = []
    ft = (
        pd.to_datetime(events_df["time"], utc=True)
        if len(events_df)
        else pd.Series([], dtype="datetime64[ns, UTC]")
    )
    used = set()
    for _, t in truth_df.iterrows():
        tt = (
            pd.Timestamp(t["time"]).tz_convert("UTC")
            if pd.Timestamp(t["time"]).tzinfo
            else pd.Timestamp(t["time"]).tz_localize("UTC")
        )
        row = {
            "true_time": str(tt)[:23],
            "true_lat": t["latitude"],
            "true_lon": t["longitude"],
            "true_depth_km": t["depth_km"],
            "found": False,
            "lat": np.nan,
            "lon": np.nan,
            "depth_km": np.nan,
            "dt_s": np.nan,
            "dh_km": np.nan,
            "dz_km": np.nan,
        }
        if "magnitude" in t:
            row.update(true_mag=t["magnitude"], ml=np.nan, dml=np.nan)
        if len(events_df):
            dt = np.array([(f - tt).total_seconds() for f in ft])
            j = int(np.argmin(np.abs(dt)))
            if abs(dt[j]) <= max_dt_s and j not in used:
                used.add(j)
                f = events_df.iloc[j]
                row.update(
                    found=True,
                    lat=float(f["latitude"]),
                    lon=float(f["longitude"]),
                    depth_km=float(f["depth_km"]),
                    dt_s=dt[j],
                    dh_km=float(
                        geo.distance_km(
                            t["latitude"], t["longitude"], f["latitude"], f["longitude"]
                        )
                    ),
                    dz_km=float(f["depth_km"] - t["depth_km"]),
                )
                if "magnitude" in t and "magnitude" in f:
                    row.update(ml=float(f["magnitude"]), dml=float(f["magnitude"] - t["magnitude"]))
        rows.append(row)
    return pd.DataFrame(rows)


def plot_comparison(path, stations_file, events, truth) -> Path:
    """Map and depth section: stations, true events (crosses) and the catalogue (circles)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..io.stations import read_stations

    st = read_stations(stations_file)
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 5.5))
    ax.plot(st.longitude, st.latitude, "k^", ms=8, label="stations")
    ax.plot(truth.longitude, truth.latitude, "rx", ms=10, mew=2, label="true events")
    ax.plot(events.longitude, events.latitude, "o", mfc="none", mec="b", ms=10, label="seiscore")
    ax.set(xlabel="longitude (°)", ylabel="latitude (°)", title="map")
    ax.legend(fontsize=8)
    ax2.plot(truth.longitude, truth.depth_km, "rx", ms=10, mew=2, label="true")
    ax2.plot(events.longitude, events.depth_km, "o", mfc="none", mec="b", ms=10, label="seiscore")
    ax2.invert_yaxis()
    ax2.set(xlabel="longitude (°)", ylabel="depth (km)", title="depth section")
    return save_figure(fig, path, tight_layout=True)


def run_demo(
    folder, *, seed: int = 7, n_events: int = 6, duration_s: float = 180.0, client=None, out=print
) -> dict:
    """Make the scenario, run the pipeline, print the catalogue next to the truth."""
    import shutil

    import pandas as pd

    from . import pipeline

    folder = Path(folder)
    if (folder / "out").is_dir():  # a fresh scenario: earlier task results would be stale
        shutil.rmtree(folder / "out")
    make_scenario(folder, n_events=n_events, duration_s=duration_s, seed=seed)
    result = pipeline.run(folder / "config.toml", client=client)
    events = pd.read_csv(folder / "out" / "events.csv")
    truth = pd.read_csv(folder / "truth.csv")
    cmp = compare(events, truth)
    out(pipeline.format_summary(result.summary))
    out(f"\n{int(cmp.found.sum())}/{len(cmp)} true events found ({len(events)} in the catalogue)")
    out(cmp.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    ok = cmp[cmp.found]
    if len(ok):
        out(
            f"median |dt| {ok.dt_s.abs().median():.3f} s, "
            f"median horizontal error {ok.dh_km.median():.2f} km, "
            f"median |dz| {ok.dz_km.abs().median():.2f} km"
        )
        if "dml" in ok and ok.dml.notna().any():
            out(
                f"local magnitude ML from {int(ok.dml.notna().sum())} events: median ML - true "
                f"magnitude {ok.dml.median():+.2f}, spread (std) {ok.dml.std():.2f}"
            )
    fig = plot_comparison(folder / "out" / "demo_truth.png", folder / "stations.xml", events, truth)
    out(
        f"outputs in {folder / 'out'} "
        f"(events.xml, events.csv, picks.csv, map.png, magnitude_time.png, "
        f"frequency_magnitude.png, {fig.name}, summary.json)"
    )
    return {"result": result, "comparison": cmp, "events": events, "truth": truth}
