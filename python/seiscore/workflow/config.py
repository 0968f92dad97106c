"""The configuration of ``seiscore run``: one TOML file, validated up front.

Sections and keys (every key is optional; :func:`defaults` lists the default of each)::

    [input]        waveforms = ["a.mseed", "folder/"]   # files or folders, or:
                   sds = "archive/"  starttime = "..."  endtime = "..."
    [stations]     path = "stations.xml"                 # StationXML, CSV, REAL station.dat
    [model]        path = "model.nd"  or  vp = 6.0  vs = 3.5   # 1-D model or homogeneous
    [picking]      model = "phasenet"  p_threshold  s_threshold  min_distance_s  batch_size
                   threads  margin_s
    [association]  the keyword arguments of :func:`seiscore.association.associate`
    [location]     enabled  spacing_km  extent = "auto" or [lat_min, lat_max, lon_min, lon_max]
                   margin_km  depth_km = [top, bottom]  pre_s  post_s  marginal_window_s
                   onset = "phasenet"
    [output]       directory  figures

Unknown sections or keys, and values of the wrong type, raise :class:`ConfigError` naming the
key (``"association.min_p: expected int, got str"``). Relative paths are taken relative to the
configuration file.
"""

from __future__ import annotations

import copy
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
    },
    "stations": {"path": (str, None)},
    "model": {"path": (str, None), "vp": (_NUM, None), "vs": (_NUM, None)},
    "picking": {
        "model": (str, "phasenet"),
        "p_threshold": (_NUM, None),
        "s_threshold": (_NUM, None),
        "min_distance_s": (_NUM, None),
        "batch_size": (int, 64),
        "threads": (int, None),
        "margin_s": (_NUM, 30.0),
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
        "use_probability": (bool, False),
        "block_s": (_NUM, 1800.0),
        "bin_s": (_NUM, 1.0),
        "reference": (_PAIR, None),
        "unknown_stations": (str, "skip"),
        "workers": (int, None),
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
    },
    "output": {"directory": (str, "seiscore_out"), "figures": (bool, True)},
}

_CHOICES = {
    ("association", "unknown_stations"): ("raise", "skip"),
    ("location", "onset"): ("phasenet",),
}


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
        return float(value)
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{name}: expected int, got {_type_name(value)}")
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
        return [float(v) for v in value]
    raise AssertionError(kind)  # pragma: no cover


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
            cfg[sec][key] = value

    # --- consistency
    inp = cfg["input"]
    if inp["waveforms"] and inp["sds"]:
        raise ConfigError("input: give either input.waveforms or input.sds, not both")
    if inp["sds"] and (inp["starttime"] is None or inp["endtime"] is None):
        raise ConfigError("input.sds: an SDS archive needs input.starttime and input.endtime")
    for key in ("starttime", "endtime"):
        if inp[key] is not None:
            from obspy import UTCDateTime

            try:
                UTCDateTime(inp[key])
            except Exception:
                raise ConfigError(f"input.{key}: not a time: {inp[key]!r}") from None
    m = cfg["model"]
    if m["path"] is not None and (m["vp"] is not None or m["vs"] is not None):
        raise ConfigError("model: give model.path or model.vp and model.vs, not both")
    if (m["vp"] is None) != (m["vs"] is None):
        raise ConfigError("model: a homogeneous model needs both model.vp and model.vs")
    for name, value in (("picking.batch_size", cfg["picking"]["batch_size"]),):
        if value < 1:
            raise ConfigError(f"{name}: must be at least 1, got {value}")
    for name in ("spacing_km", "margin_km", "pre_s", "post_s"):
        if cfg["location"][name] < 0 or (name == "spacing_km" and cfg["location"][name] == 0):
            raise ConfigError(f"location.{name}: must be positive, got {cfg['location'][name]}")
    if isinstance(cfg["location"]["extent"], str) and cfg["location"]["extent"] != "auto":
        raise ConfigError(
            f"location.extent: expected 'auto' or [lat_min, lat_max, lon_min, lon_max], "
            f"got {cfg['location']['extent']!r}"
        )

    if base_dir is not None:
        base = Path(base_dir)

        def resolve(p):
            return str(p if Path(p).is_absolute() else base / p)

        inp["waveforms"] = [resolve(p) for p in inp["waveforms"]]
        for sec, key in (
            ("input", "sds"),
            ("stations", "path"),
            ("model", "path"),
            ("output", "directory"),
        ):
            if cfg[sec][key] is not None:
                cfg[sec][key] = resolve(cfg[sec][key])
    return cfg


def check_complete(cfg: dict) -> None:
    """ConfigError unless the configuration names inputs, stations and a velocity model."""
    if not cfg["input"]["waveforms"] and not cfg["input"]["sds"]:
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
    """The configuration as TOML text (unset keys as comments)."""
    cfg = defaults() if cfg is None else cfg
    lines = []
    for sec, values in cfg.items():
        lines.append(f"[{sec}]")
        for key, v in values.items():
            lines.append(f"# {key} =  (not set)" if v is None else f"{key} = {_toml_value(v)}")
        lines.append("")
    return "\n".join(lines)
