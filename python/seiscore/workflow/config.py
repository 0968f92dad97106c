"""The configuration of ``seiscore run``: one TOML file, validated up front.

Sections and keys (every key is optional; :func:`defaults` lists the default of each)::

    [input]        waveforms = ["a.mseed", "folder/"]   # files or folders, or:
                   sds = "archive/"  starttime = "..."  endtime = "..."
    [stations]     path = "stations.xml"                 # StationXML, CSV, REAL station.dat
    [model]        path = "model.nd"  or  vp = 6.0  vs = 3.5   # 1-D model or homogeneous
    [picking]      model = "phasenet"  p_threshold  s_threshold  min_distance_s  batch_size
                   threads  margin_s
    [association]  the keyword arguments of :func:`seiscore.association.associate`, and
                   method = "grid" | "phaselink"  linker = "linker.onnx"
    [location]     enabled  spacing_km  extent = "auto" or [lat_min, lat_max, lon_min, lon_max]
                   margin_km  depth_km = [top, bottom]  pre_s  post_s  marginal_window_s
                   onset = "phasenet"  detection = "association" | "migration" | "both"
                   threshold  min_separation_s  chunk_s  keep_edge  match_s  match_km
                   nll_grids (NonLinLoc time grids; see seiscore.workflow.detection)
    [output]       directory  figures

Unknown sections or keys, values of the wrong type and values out of range (:data:`RANGES`:
thresholds in [0, 1], positive durations and sizes, finite numbers, integers that fit a C
``int``, ordered [min, max] pairs) raise :class:`ConfigError` naming the key
(``"association.min_p: expected int, got str"``). Relative paths are taken relative to the
configuration file.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import tomllib

from ..exceptions import ConfigError

__all__ = ["defaults", "dumps", "load", "validate"]

_NUM = (int, float)
_PAIR = "pair"  # a list of two numbers
_QUAD = "quad"  # a list of four numbers
_STRLIST = "strlist"

# section -> key -> (expected type, default). None as default: "not set".
SCHEMA: dict[str, dict[str, tuple]] = {
    "input": {
        "waveforms": (_STRLIST, []),
        "sds": (str, None),
        "starttime": (str, None),
        "endtime": (str, None),
        "channels": (_STRLIST, None),
    },
    "stations": {"path": (str, None)},
    "model": {"path": (str, None), "vp": (_NUM, None), "vs": (_NUM, None)},
    "picking": {
        "model": (str, "phasenet"),
        "p_threshold": (_NUM, None),
        "s_threshold": (_NUM, None),
        "min_distance_s": (_NUM, None),
        "batch_size": (int, None),
        "threads": (int, None),
        "margin_s": (_NUM, 30.0),
        "heads": (str, ""),
    },
    "association": {
        "xlim": (_PAIR, None),
        "ylim": (_PAIR, None),
        "zlim": (_PAIR, [0.0, 40.0]),
        "cell_km": (_NUM, None),
        "cell_depth_km": (_NUM, None),
        "tolerance_s": (_NUM, 1.0),
        "tolerance_fraction": (_NUM, 0.0),
        "max_distance_km": (_NUM, None),
        "min_pick_fraction": (_NUM, 0.25),
        "min_picks": (int, 8),
        "min_p": (int, 3),
        "min_s": (int, 2),
        "min_p_and_s": (int, 2),
        "max_rms_s": (_NUM, None),
        "min_significance": (_NUM, None),
        "null_test": ((bool, str), "auto"),
        "use_probability": (bool, False),
        "block_s": (_NUM, 1800.0),
        "bin_s": (_NUM, 1.0),
        "reference": (_PAIR, None),
        "unknown_stations": (str, "skip"),
        "workers": (int, None),
        "method": (str, "grid"),
        "linker": (str, ""),
    },
    "location": {
        "enabled": (bool, True),
        "spacing_km": (_NUM, 1.0),
        "extent": ((str, _QUAD), "auto"),
        "margin_km": (_NUM, 5.0),
        "depth_km": (_PAIR, [0.0, 20.0]),
        "pre_s": (_NUM, 2.0),
        "post_s": (_NUM, 3.0),
        "marginal_window_s": (_NUM, 0.5),
        "onset": (str, "phasenet"),
        "workers": (int, None),
        "detection": (str, "association"),
        "threshold": (_NUM, None),
        "min_separation_s": (_NUM, 1.0),
        "chunk_s": (_NUM, 3600.0),
        "keep_edge": (bool, False),
        "match_s": (_NUM, 2.0),
        "match_km": (_NUM, 10.0),
        "nll_grids": (str, None),
    },
    "magnitude": {
        "enabled": (bool, True),
        "inventory": (str, None),
        "law": (str, "hutton_boore_1987"),
        "distance": (str, "hypocentral"),
        "min_snr": (_NUM, 3.0),
        "corrections": (str, None),
        "method": (str, "median"),
        "vertical": (bool, False),
        "flat_gain": (bool, False),
        "min_after_s": (_NUM, 3.0),
        "after_s_factor": (_NUM, 1.0),
        "noise_s": (_NUM, 10.0),
    },
    "output": {
        "directory": (str, "seiscore_out"),
        "figures": (bool, True),
        "plot_events": (bool, False),
    },
}

# section -> key -> (meaning, unit or ""). Every key of SCHEMA has one (a test checks);
# --print-config writes them as comments and the README's configuration reference is made
# from them (reference_markdown(); a test keeps the README in sync).
DOCS: dict[str, dict[str, tuple[str, str]]] = {
    "input": {
        "waveforms": ("waveform files or folders (miniSEED, SAC, SEED; folders are walked)", ""),
        "sds": ("root of an SDS archive (instead of waveforms; needs starttime and endtime)", ""),
        "starttime": ("start of the data to process (UTC, ISO 8601)", ""),
        "endtime": ("end of the data to process (UTC, ISO 8601)", ""),
        "channels": (
            "channels NET.STA.LOC.CHA (wildcards) to read from a waveform source "
            "given in Python (pipeline.run(..., source=client)); not set: all it lists",
            "",
        ),
    },
    "stations": {
        "path": ("station file: StationXML, full/dataless SEED, CSV, REAL, NonLinLoc, ...", ""),
    },
    "model": {
        "path": ("1-D velocity model file (.nd, CSV/text, VELEST, NonLinLoc LAYER, ...)", ""),
        "vp": ("homogeneous model instead of a file: P velocity", "km/s"),
        "vs": ("homogeneous model instead of a file: S velocity", "km/s"),
    },
    "picking": {
        "model": ("picker: a bundled name (phasenet, seist) or an .onnx file with its card", ""),
        "p_threshold": ("P probability threshold (not set: the model card's)", "probability"),
        "s_threshold": ("S probability threshold (not set: the model card's)", "probability"),
        "min_distance_s": ("least time between two picks of one phase (not set: card)", "s"),
        "batch_size": (
            "windows per inference call (speed only, not the result; not set: 8 on the CPU, "
            "256 on a GPU)",
            "windows",
        ),
        "threads": ("threads for the network (not set: all cores)", "threads"),
        "margin_s": ("data read before and after each station-day", "s"),
        "heads": (
            "per-pick heads on P picks: polarity, magnitude, baz, distance (comma list) or all",
            "",
        ),
    },
    "association": {
        "xlim": ("search volume east-west (not set: the network's extent plus a margin)", "km"),
        "ylim": ("search volume north-south (not set: the network's extent plus a margin)", "km"),
        "zlim": ("search depths, below sea level", "km"),
        "cell_km": ("horizontal size of the coarse search cells (not set: automatic)", "km"),
        "cell_depth_km": ("vertical size of the coarse search cells (not set: automatic)", "km"),
        "tolerance_s": ("largest pick residual of an associated pick", "s"),
        "tolerance_fraction": ("tolerance growing with the travel time (fraction of it)", ""),
        "max_distance_km": ("only stations within this distance of an event", "km"),
        "min_pick_fraction": ("least fraction of the reachable stations' picks an event has", ""),
        "min_picks": ("least picks of an event", "picks"),
        "min_p": ("least P picks of an event", "picks"),
        "min_s": ("least S picks of an event", "picks"),
        "min_p_and_s": ("least stations with both P and S", "stations"),
        "max_rms_s": ("largest RMS residual of an event (not set: automatic)", "s"),
        "min_significance": (
            "least significance: -log10 of the chance probability of the "
            "picks (not set: automatic from the pick rates; 0: off)",
            "",
        ),
        "null_test": (
            "measure the false-event rate on station-shifted picks: true, false or "
            "auto (when cheap)",
            "",
        ),
        "use_probability": ("weigh picks by their probability", ""),
        "block_s": ("time block searched at once (bounds the memory)", "s"),
        "bin_s": ("origin-time bin of the search histogram", "s"),
        "reference": ("projection centre [lat, lon] (not set: the stations' centre)", "degrees"),
        "unknown_stations": ("picks at stations missing from the station file: skip or raise", ""),
        "workers": ("threads of the search (not set: all cores)", "threads"),
        "method": (
            "grid (the grid search) or phaselink (a trained linker; the grid-only keys cell_km, "
            "cell_depth_km, tolerance_fraction, min_pick_fraction, block_s, bin_s and null_test "
            "stay unset, and the default zlim means the linker's volume)",
            "",
        ),
        "linker": ("PhaseLink linker .onnx for method = phaselink (seiscore train-associator)", ""),
    },
    "location": {
        "enabled": ("relocate each event by migrating its phase probabilities", ""),
        "spacing_km": ("node spacing of the migration grid", "km"),
        "extent": (
            "grid area: auto (the stations' footprint) or [lat_min, lat_max, lon_min, lon_max]",
            "degrees",
        ),
        "margin_km": ("margin around the stations of the auto extent", "km"),
        "depth_km": ("grid depths [top, bottom], below sea level", "km"),
        "pre_s": ("migrated window before the origin time", "s"),
        "post_s": ("migrated window after the last arrival", "s"),
        "marginal_window_s": ("time window of the coalescence marginal (uncertainty)", "s"),
        "onset": ("onset functions migrated: phasenet (the stored probabilities)", ""),
        "workers": ("threads of the migration (not set: all cores)", "threads"),
        "detection": ("how events are found: association, migration or both", ""),
        "threshold": (
            "migration detection threshold on the robust statistic (not set: the "
            "documented default)",
            "MADs",
        ),
        "min_separation_s": ("least time between two migration detections", "s"),
        "chunk_s": ("record migrated at once in migration detection (bounds the memory)", "s"),
        "keep_edge": ("also report detections on the grid's boundary", ""),
        "match_s": ("detection both: origin times this close are one event", "s"),
        "match_km": ("detection both: hypocentres this close are one event", "km"),
        "nll_grids": (
            "NonLinLoc time grids (.hdr/.buf root) instead of 1-D tables: migration, and a 1-D "
            "summary for the grid-search association where they cover its volume",
            "",
        ),
    },
    "magnitude": {
        "enabled": ("local magnitudes (ML) from Wood-Anderson amplitudes", ""),
        "inventory": (
            "instrument responses: StationXML, full or dataless SEED (not set: the "
            "station file when it has them)",
            "",
        ),
        "law": ("attenuation: hutton_boore_1987, bakun_joyner_1984 or a -log A0 table file", ""),
        "distance": ("distance in the law: hypocentral or epicentral", ""),
        "min_snr": ("least amplitude signal-to-noise ratio of a channel", "ratio"),
        "corrections": ("station corrections file (NET.STA.LOC value per line)", ""),
        "method": ("network ML from the stations': median or trimmed_mean", ""),
        "vertical": ("measure the vertical channel too (default: both horizontals)", ""),
        "flat_gain": ("accept stations whose metadata give only a sensitivity", ""),
        "min_after_s": ("signal window after S, at least", "s"),
        "after_s_factor": ("signal window after S, as a multiple of S - P", ""),
        "noise_s": ("noise window before P", "s"),
    },
    "output": {
        "directory": ("output folder (relative: to the configuration file)", ""),
        "figures": ("write map.png, magnitude_time.png, frequency_magnitude.png", ""),
        "plot_events": ("also a record section per event in events/", ""),
    },
}


def _doc(sec: str, key: str) -> str:
    meaning, unit = DOCS[sec][key]
    return f"{meaning}" + (f" [{unit}]" if unit else "")


def reference_markdown() -> str:
    """The configuration reference as Markdown tables (the README's, kept in sync by a
    test)."""
    out = []
    for sec, keys in SCHEMA.items():
        out.append(f"**[{sec}]**\n\n| key | meaning | unit | default |\n|---|---|---|---|")
        for key, (_, default) in keys.items():
            meaning, unit = DOCS[sec][key]
            shown = "not set" if default is None else f"`{_toml_value(default)}`"
            out.append(f"| `{key}` | {meaning} | {unit} | {shown} |")
        out.append("")
    return "\n".join(out)


_CHOICES = {
    ("association", "unknown_stations"): ("raise", "skip"),
    ("association", "null_test"): ("auto", True, False),
    ("association", "method"): ("grid", "phaselink"),
    ("location", "onset"): ("phasenet",),
    ("magnitude", "distance"): ("hypocentral", "epicentral"),
    ("magnitude", "method"): ("median", "trimmed_mean"),
    ("location", "detection"): ("association", "migration", "both"),
}

#: Largest integer the compiled core takes (a C ``int``).
INT_MAX = 2**31 - 1
_POS = (0.0, None, False)  # > 0
_NONNEG = (0.0, None, True)  # >= 0
_FRACTION = (0.0, 1.0, True)  # in [0, 1]
_COUNT = (0, INT_MAX, True)  # 0 .. INT_MAX
_ONE_UP = (1, INT_MAX, True)  # 1 .. INT_MAX

# section -> key -> (minimum, maximum or None, whether the minimum itself is allowed). Every
# number must also be finite; integers without an entry must fit in a C int.
RANGES: dict[str, dict[str, tuple]] = {
    "model": {"vp": _POS, "vs": _POS},
    "picking": {
        "p_threshold": _FRACTION,
        "s_threshold": _FRACTION,
        "min_distance_s": _POS,
        "batch_size": _ONE_UP,
        "threads": _ONE_UP,
        "margin_s": (0.0, 86400.0, True),
    },
    "association": {
        "cell_km": _POS,
        "cell_depth_km": _POS,
        "tolerance_s": _POS,
        "tolerance_fraction": _NONNEG,
        "max_distance_km": _POS,
        "min_pick_fraction": _FRACTION,
        "min_picks": _ONE_UP,
        "min_p": _COUNT,
        "min_s": _COUNT,
        "min_p_and_s": _COUNT,
        "max_rms_s": _POS,
        "min_significance": _NONNEG,
        "block_s": _POS,
        "bin_s": _POS,
        "workers": _ONE_UP,
    },
    "location": {
        "spacing_km": _POS,
        "margin_km": _NONNEG,
        "pre_s": _NONNEG,
        "post_s": _NONNEG,
        "marginal_window_s": _POS,
        "workers": _ONE_UP,
        "min_separation_s": _NONNEG,
        "chunk_s": _POS,
        "match_s": _POS,
        "match_km": _POS,
    },
}
RANGES["magnitude"] = {
    "min_snr": _NONNEG,
    "min_after_s": _NONNEG,
    "after_s_factor": _NONNEG,
    "noise_s": _POS,
}
# (min, max) pairs that must be in order (max > min); location.extent is checked likewise
_ORDERED = {("association", "xlim"), ("association", "ylim"), ("association", "zlim")}
_ORDERED |= {("location", "depth_km")}


def defaults() -> dict:
    """Every section and key with its default (None where unset)."""
    return {
        sec: {k: copy.deepcopy(d) for k, (_, d) in keys.items()} for sec, keys in SCHEMA.items()
    }


def _type_name(v) -> str:
    return type(v).__name__


def _check(name: str, kind, value):
    """The value converted (ints to float where a number is expected), or ConfigError."""
    if isinstance(kind, tuple) and kind is not _NUM:  # alternatives
        errors = []
        for k in kind:
            try:
                return _check(name, k, value)
            except ConfigError as exc:
                errors.append(str(exc).split(": expected ", 1)[-1].split(", got")[0])
        raise ConfigError(f"{name}: expected {' or '.join(errors)}, got {_type_name(value)}")
    if kind is _NUM:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{name}: expected number, got {_type_name(value)}")
        return _finite(name, value)
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{name}: expected int, got {_type_name(value)}")
        if value > INT_MAX:
            raise ConfigError(f"{name}: must be at most {INT_MAX}, got {value}")
        if value < -INT_MAX - 1:
            raise ConfigError(f"{name}: must be at least {-INT_MAX - 1}, got {value}")
        return value
    if kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{name}: expected bool, got {_type_name(value)}")
        return value
    if kind is str:
        if not isinstance(value, str):
            raise ConfigError(f"{name}: expected str, got {_type_name(value)}")
        return value
    if kind is _STRLIST:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{name}: expected list of str, got {_type_name(value)}")
        return list(value)
    if kind in (_PAIR, _QUAD):
        n = 2 if kind is _PAIR else 4
        ok = (
            isinstance(value, list)
            and len(value) == n
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
        )
        if not ok:
            got = f"list of {len(value)}" if isinstance(value, list) else _type_name(value)
            raise ConfigError(f"{name}: expected list of {n} numbers, got {got}")
        return [_finite(name, v) for v in value]
    raise AssertionError(kind)  # pragma: no cover


def _finite(name: str, value) -> float:
    """``value`` as a float, or ConfigError when it is infinite, NaN or too large."""
    try:
        out = float(value)
    except OverflowError:
        out = math.inf
    if not math.isfinite(out):
        raise ConfigError(f"{name}: expected a finite number, got {value}")
    return out


def _check_range(name: str, value, rng: tuple) -> None:
    """ConfigError naming the key when ``value`` lies outside ``rng`` (see ``RANGES``)."""
    lo, hi, closed = rng
    if hi is not None and hi != INT_MAX and not lo <= value <= hi:
        raise ConfigError(f"{name}: must be between {lo} and {hi}, got {value}")
    if value < lo or (value == lo and not closed):
        if lo:
            raise ConfigError(f"{name}: must be at least {lo}, got {value}")
        what = "zero or positive" if closed else "positive"
        raise ConfigError(f"{name}: must be {what}, got {value}")
    if hi is not None and value > hi:
        raise ConfigError(f"{name}: must be at most {hi}, got {value}")


def _check_order(name: str, value: list) -> None:
    if len(value) == 2 and not value[1] > value[0]:
        raise ConfigError(f"{name}: expected [min, max] with max > min, got {value}")
    if len(value) == 4:  # location.extent
        lat0, lat1, lon0, lon1 = value
        if not (-90 <= lat0 < lat1 <= 90 and -360 <= lon0 < lon1 <= 360):
            raise ConfigError(
                f"{name}: expected [lat_min, lat_max, lon_min, lon_max] with min < max and "
                f"latitudes within [-90, 90], got {value}"
            )


def validate(raw: dict, base_dir=None) -> dict:
    """A complete configuration (defaults filled in) from a parsed TOML dict.

    Raises ConfigError for unknown sections/keys, wrong types, bad choices and inconsistent
    settings. Relative paths are resolved against ``base_dir`` when given.
    """
    if not isinstance(raw, dict):
        raise ConfigError(f"configuration: expected a table, got {_type_name(raw)}")
    cfg = defaults()
    for sec, values in raw.items():
        if sec not in SCHEMA:
            raise ConfigError(f"{sec}: unknown section (expected one of {', '.join(SCHEMA)})")
        if not isinstance(values, dict):
            raise ConfigError(f"{sec}: expected a table, got {_type_name(values)}")
        for key, value in values.items():
            name = f"{sec}.{key}"
            if key not in SCHEMA[sec]:
                raise ConfigError(f"{name}: unknown key (expected one of {', '.join(SCHEMA[sec])})")
            value = _check(name, SCHEMA[sec][key][0], value)
            choices = _CHOICES.get((sec, key))
            if choices and value not in choices:
                raise ConfigError(f"{name}: expected one of {list(choices)}, got {value!r}")
            if key in RANGES.get(sec, {}):
                _check_range(name, value, RANGES[sec][key])
            if (sec, key) in _ORDERED or (sec == "location" and isinstance(value, list)):
                _check_order(name, value)
            cfg[sec][key] = value

    # --- consistency
    inp = cfg["input"]
    if inp["waveforms"] and inp["sds"]:
        raise ConfigError("input: give either input.waveforms or input.sds, not both")
    if inp["sds"] and (inp["starttime"] is None or inp["endtime"] is None):
        raise ConfigError("input.sds: an SDS archive needs input.starttime and input.endtime")
    times = {}
    for key in ("starttime", "endtime"):
        if inp[key] is not None:
            from obspy import UTCDateTime

            try:
                times[key] = UTCDateTime(inp[key])
            except Exception:
                raise ConfigError(f"input.{key}: not a time: {inp[key]!r}") from None
    if len(times) == 2 and not times["endtime"] > times["starttime"]:
        raise ConfigError(
            f"input.endtime: must be after input.starttime ({inp['endtime']} <= {inp['starttime']})"
        )
    m = cfg["model"]
    if m["path"] is not None and (m["vp"] is not None or m["vs"] is not None):
        raise ConfigError("model: give model.path or model.vp and model.vs, not both")
    if (m["vp"] is None) != (m["vs"] is None):
        raise ConfigError("model: a homogeneous model needs both model.vp and model.vs")
    if m["vp"] is not None and m["vs"] is not None and not m["vs"] < m["vp"]:
        raise ConfigError(f"model.vs: must be below model.vp, got vs={m['vs']} vp={m['vp']}")
    _check_association_method(cfg["association"])
    if isinstance(cfg["location"]["extent"], str) and cfg["location"]["extent"] != "auto":
        raise ConfigError(
            f"location.extent: expected 'auto' or [lat_min, lat_max, lon_min, lon_max], "
            f"got {cfg['location']['extent']!r}"
        )

    if base_dir is not None:
        _resolve_paths(cfg, Path(base_dir))
    return cfg


def _resolve_paths(cfg: dict, base: Path) -> None:
    """Relative paths of the configuration (files, folders, .onnx models) made relative to
    ``base``, the configuration file's folder; bundled model names stay names."""

    def resolve(p):
        return str(p if Path(p).is_absolute() else base / p)

    cfg["input"]["waveforms"] = [resolve(p) for p in cfg["input"]["waveforms"]]
    for sec, key in (
        ("input", "sds"),
        ("stations", "path"),
        ("model", "path"),
        ("location", "nll_grids"),
        ("magnitude", "inventory"),
        ("magnitude", "corrections"),
        ("output", "directory"),
    ):
        if cfg[sec][key] is not None:
            cfg[sec][key] = resolve(cfg[sec][key])
    if cfg["association"]["linker"]:
        cfg["association"]["linker"] = resolve(cfg["association"]["linker"])
    pk = cfg["picking"]
    if pk["model"].lower().endswith(".onnx"):  # a file; a bare name is a bundled model
        pk["model"] = resolve(pk["model"])
    if pk["heads"]:
        heads = [h.strip() for h in pk["heads"].split(",") if h.strip()]
        pk["heads"] = ",".join(resolve(h) if h.lower().endswith(".onnx") else h for h in heads)


#: [association] keys of the grid search alone: with method = "phaselink" they stay at their
#: defaults (null_test may also be false).
_GRID_ONLY = ("cell_km", "cell_depth_km", "tolerance_fraction", "min_pick_fraction", "block_s",
              "bin_s", "null_test")  # fmt: skip


def _check_association_method(a: dict) -> None:
    if a["method"] != "phaselink":
        return
    if not a["linker"]:
        raise ConfigError(
            'association.linker: method = "phaselink" needs a trained linker (linker = '
            '"linker.onnx", made by seiscore train-associator)'
        )
    for key in _GRID_ONLY:
        if a[key] != SCHEMA["association"][key][1] and not (key == "null_test" and a[key] is False):
            raise ConfigError(
                f'association.{key}: a setting of the grid search, which method = "phaselink" '
                f'does not use (got {a[key]!r}; leave it unset or use method = "grid")'
            )


def check_complete(cfg: dict, has_source: bool = False) -> None:
    """ConfigError unless the configuration names inputs (or the caller gives a waveform
    source), stations and a velocity model."""
    if not has_source and not cfg["input"]["waveforms"] and not cfg["input"]["sds"]:
        raise ConfigError("input: no waveforms given (input.waveforms = [...] or input.sds = ROOT)")
    if cfg["stations"]["path"] is None:
        raise ConfigError("stations.path: a station file is required")
    if cfg["model"]["path"] is None and cfg["model"]["vp"] is None:
        raise ConfigError(
            "model: a velocity model is required (model.path, or model.vp and model.vs)"
        )


def load(path) -> dict:
    """Read and validate a TOML configuration file (relative paths: relative to it)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"configuration file not found: {path}") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, not a configuration file") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise ConfigError(f"{path}: cannot read the configuration file ({reason})") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    return validate(raw, base_dir=path.resolve().parent)


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(type(v))  # pragma: no cover


def dumps(cfg: dict | None = None) -> str:
    """The configuration as TOML text, each key after a comment saying what it is (meaning,
    unit, default); keys that are not set are commented out."""
    cfg = defaults() if cfg is None else cfg
    lines = []
    for sec, values in cfg.items():
        lines.append(f"[{sec}]")
        for key, v in values.items():
            default = SCHEMA[sec][key][1]
            shown = "not set" if default is None else _toml_value(default)
            lines.append(f"# {_doc(sec, key)}; default: {shown}")
            lines.append(f"# {key} = " if v is None else f"{key} = {_toml_value(v)}")
        lines.append("")
    return "\n".join(lines)
