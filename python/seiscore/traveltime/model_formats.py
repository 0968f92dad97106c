"""Velocity-model file formats: recognise the format from the content, parse, validate.

See :meth:`seiscore.traveltime.VelocityModel.from_file` for the formats. Every error names the
file, the line and, for values, the column.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..exceptions import InputError
from .models import VelocityModel, _check_velocities

__all__ = ["detect_format", "read_model_file"]

FORMATS = {
    "nd": "TauP .nd (profile nodes)",
    "velest": "VELEST .mod (layers)",
    "table": "depth vp vs table (layers)",
    "table_nodes": "depth vp vs table with repeated depths (profile nodes, e.g. GrowClust)",
    "table_gradients": "depth vp vs table with vp_grad/vs_grad (PyOcto; layers with gradients)",
    "nonlinloc": "NonLinLoc LAYER lines (layers with gradients)",
    "malmi": "depth vp vp_grad vs vs_grad rho rho_grad rows (MALMI / NonLinLoc layers)",
    "hypoinverse": "Hypoinverse .crh (layers)",
}


def _number(token: str, path, line: int, column: str = "") -> float:
    try:
        return float(token)
    except ValueError:
        where = f", {column}" if column else ""
        raise InputError(f"{path}: line {line}{where}: {token!r} is not a number") from None


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _content_lines(path: Path) -> list[tuple[int, str]]:
    text = path.read_text(errors="replace")
    lines = [(k, ln.strip()) for k, ln in enumerate(text.splitlines(), 1)]
    return [(k, ln) for k, ln in lines if ln and not ln.startswith(("#", "!"))]


def detect_format(path: Path, lines) -> str:
    """One key of :data:`FORMATS` for the file's content."""
    suffix = path.suffix.lower()
    texts = [ln for _, ln in lines]
    if any(t.split()[0].upper() == "LAYER" for t in texts):
        return "nonlinloc"
    if suffix == ".nd":
        return "nd"
    if suffix == ".crh" or _looks_hypoinverse(texts):
        return "hypoinverse"
    if suffix == ".mod" or _looks_velest(texts):
        return "velest"
    numeric = [t.replace(",", " ").split() for t in texts if _is_number(t.split(",")[0].split()[0])]
    if numeric and len(numeric) == len(texts) and all(len(r) == 7 for r in numeric):
        return "malmi"
    return "table"


def _looks_velest(texts) -> bool:
    if len(texts) < 3:
        return False
    first = texts[1].split()
    return len(first) >= 1 and first[0].isdigit() and not _is_number(texts[0].split()[0])


def _looks_hypoinverse(texts) -> bool:
    """A title line, then only two-number rows ``vp depth`` with increasing depths."""
    if len(texts) < 2 or _is_number(texts[0].split()[0]):
        return False
    rows = [t.split() for t in texts[1:]]
    if not all(len(r) == 2 and all(_is_number(v) for v in r) for r in rows):
        return False
    depths = [float(r[1]) for r in rows]
    return all(b > a for a, b in zip(depths, depths[1:], strict=False))


def read_model_file(path: Path, label: str, *, s_path=None, vpvs=None) -> VelocityModel:
    if not path.is_file():
        raise InputError(f"velocity model file not found: {path}")
    lines = _content_lines(path)
    if not lines:
        raise InputError(f"{path}: empty velocity model file")
    fmt = detect_format(path, lines)
    if fmt != "hypoinverse" and (s_path is not None or vpvs is not None):
        raise InputError(f"{path}: s_path/vpvs apply to Hypoinverse .crh models only")
    try:
        model = _PARSERS[fmt](lines, path, label, s_path=s_path, vpvs=vpvs)
    except InputError:
        raise
    except (ValueError, IndexError) as exc:
        raise InputError(
            f"{path}: cannot read the velocity model as {FORMATS[fmt]} ({exc})"
        ) from None
    model.source_format = model.source_format or FORMATS[fmt]
    return model


# ---------------------------------------------------------------------------- the parsers


def _parse_nd(lines, path, label, **_):
    rows, at = [], []
    for k, ln in lines:
        parts = ln.split()
        if not _is_number(parts[0]):
            continue  # named discontinuity ("mantle", "outer-core", ...)
        if len(parts) < 3:
            raise InputError(f"{path}: line {k}: .nd rows need at least depth vp vs, got {ln!r}")
        rows.append([_number(v, path, k, f"column {c + 1}") for c, v in enumerate(parts[:3])])
        at.append(k)
    if not rows:
        raise InputError(f"{path}: no velocity rows in the .nd file")
    a = np.array(rows)
    _check_order(a[:, 0], at, path, strictly=False)
    column = {"vp": "column 2 (vp)", "vs": "column 3 (vs)"}
    _check_velocities(a[:, 1], a[:, 2], str(path), lambda i, c: f"line {at[i]}, {column[c]}")
    return VelocityModel(a[:, 0], a[:, 1], a[:, 2], name=label, interpolation="linear")


def _check_order(depth, at, path, *, strictly: bool) -> None:
    d = np.diff(np.asarray(depth))
    bad = np.flatnonzero(d <= 0) if strictly else np.flatnonzero(d < 0)
    if bad.size:
        i = int(bad[0]) + 1
        what = "increase" if strictly else "not decrease"
        raise InputError(
            f"{path}: line {at[i]}, column 1 (depth): depths must {what} ({depth[i]:g} km after "
            f"{depth[i - 1]:g} km on line {at[i - 1]})"
        )


def _parse_velest(lines, path, label, **_):
    # title, then blocks: a count line, then rows "v depth damp ..."
    k = 1
    blocks, at = [], []
    while k < len(lines) and len(blocks) < 2:
        n = int(lines[k][1].split()[0])
        rows = [lines[k + 1 + j] for j in range(n)]
        blocks.append(
            np.array(
                [
                    [_number(v, path, no, f"column {c + 1}") for c, v in enumerate(r.split()[:2])]
                    for no, r in rows
                ]
            )
        )
        at.append([no for no, _ in rows])
        k += 1 + n
    if len(blocks) != 2:
        raise InputError(f"{path}: VELEST model needs a P and an S block")
    p, s = blocks
    for block, lines_at in zip(blocks, at, strict=True):
        _check_order(block[:, 1], lines_at, path, strictly=True)
    tops = np.union1d(p[:, 1], s[:, 1])

    def row(block, z):
        i = np.searchsorted(block[:, 1], z, side="right") - 1
        return np.clip(i, 0, len(block) - 1)

    ip, i_s = row(p, tops), row(s, tops)
    vp, vs = p[ip, 0], s[i_s, 0]

    def where(i, column):
        if column == "vp":
            return f"line {at[0][ip[i]]} (P block, column 1)"
        return f"line {at[1][i_s[i]]} (S block, column 1)"

    _check_velocities(vp, vs, str(path), where)
    return VelocityModel(tops, vp, vs, name=label)


def _table_columns(head: list[str], path) -> dict:
    """Column index of each field named in a table header (None: absent)."""

    def col(*names):
        for n in names:
            if n in head:
                return head.index(n)
        return None

    cols = {
        "depth": col("depth", "depth_km", "z", "top", "top_km"),
        "vp": col("vp", "vp_km_s", "p", "vel_p"),
        "vs": col("vs", "vs_km_s", "s", "vel_s"),
        "vp_grad": col("vp_grad"),
        "vs_grad": col("vs_grad"),
    }
    missing = [k for k in ("depth", "vp", "vs") if cols[k] is None]
    if missing:
        raise InputError(f"{path}: missing columns {missing} (expected depth, vp, vs; got {head})")
    return cols


def _parse_table(lines, path, label, **_):
    first = lines[0][1]
    sep = "," if "," in first else None
    head = [c.strip().lower() for c in first.split(sep)]
    header = not _is_number(head[0])
    if header:
        cols = _table_columns(head, path)
        names = {
            c: f"column {cols[c] + 1} ({head[cols[c]]!r})" for c in cols if cols[c] is not None
        }
        body = lines[1:]
    else:
        cols = {"depth": 0, "vp": 1, "vs": 2}
        names = {"depth": "column 1 (depth)", "vp": "column 2 (vp)", "vs": "column 3 (vs)"}
        body = lines
    rows = [(k, [c.strip() for c in ln.split(sep)]) for k, ln in body]
    if not rows:
        raise InputError(f"{path}: no velocity rows")
    at = [k for k, _ in rows]

    def column(key):
        return np.array([_number(r[cols[key]], path, k, names.get(key, key)) for k, r in rows])

    depth, vp, vs = column("depth"), column("vp"), column("vs")
    _check_velocities(vp, vs, str(path), lambda i, c: f"line {rows[i][0]}, {names[c]}")
    _vs_column_check(vs, rows, path, names["vs"])
    if cols.get("vp_grad") is None and cols.get("vs_grad") is None:
        nodes = not header and (np.diff(depth) == 0).any()
        _check_order(depth, at, path, strictly=not nodes)
        if nodes:  # repeated depths: profile nodes with discontinuities (the .nd convention)
            model = VelocityModel(depth, vp, vs, name=label, interpolation="linear")
            model.source_format = FORMATS["table_nodes"]
            return model
        return VelocityModel(depth, vp, vs, name=label)
    _check_order(depth, at, path, strictly=True)
    gp = column("vp_grad") if cols.get("vp_grad") is not None else np.zeros_like(vp)
    gs = column("vs_grad") if cols.get("vs_grad") is not None else np.zeros_like(vs)
    model = _with_gradients(depth, vp, gp, vs, gs, label)
    model.source_format = FORMATS["table_gradients"]
    return model


def _vs_column_check(vs, rows, path, column: str) -> None:
    """A third column of zeros next to larger columns is a sign of a gradient column read as vs
    (a MALMI/NonLinLoc layer file with fewer columns): say so rather than model a liquid."""
    if (vs == 0).all() and len(rows[0][1]) > 3:
        raise InputError(
            f"{path}: {column} is 0 on every line: S could not travel at all. If the file lists "
            "depth vp vp_grad vs vs_grad rho rho_grad (MALMI / NonLinLoc layers), give all "
            "seven columns or a header naming depth, vp, vs"
        )


def _with_gradients(depth, vp, gp, vs, gs, label) -> VelocityModel:
    """Layers with gradients as linear profile nodes. The last layer keeps its gradient for
    :data:`LAST_LAYER_GRADIENT_KM` km; below that its velocities stay constant (a gradient
    continued without end would exceed any real velocity)."""
    z, p, s = [], [], []
    for i in range(len(depth)):
        bottom = depth[i + 1] if i + 1 < len(depth) else depth[i] + LAST_LAYER_GRADIENT_KM
        for zz in (depth[i], bottom):
            z.append(zz)
            p.append(vp[i] + gp[i] * (zz - depth[i]))
            s.append(vs[i] + gs[i] * (zz - depth[i]))
    return VelocityModel(z, p, s, name=label, interpolation="linear")


LAST_LAYER_GRADIENT_KM = 200.0

_LAYER_FIELDS = ("depth", "vp_top", "vp_grad", "vs_top", "vs_grad", "rho_top", "rho_grad")


def _layers(rows, path, label, fmt: str) -> VelocityModel:
    """Rows of the seven NonLinLoc LAYER numbers (line number, tokens)."""
    values, at = [], []
    for k, parts in rows:
        if len(parts) < 7:
            raise InputError(
                f"{path}: line {k}: a layer needs 7 numbers ({' '.join(_LAYER_FIELDS)}), "
                f"got {len(parts)}"
            )
        values.append(
            [
                _number(v, path, k, f"column {c + 1} ({_LAYER_FIELDS[c]})")
                for c, v in enumerate(parts[:7])
            ]
        )
        at.append(k)
    a = np.array(values)
    _check_order(a[:, 0], at, path, strictly=True)
    first = 2 if fmt == "nonlinloc" else 1  # NonLinLoc lines start with the LAYER keyword
    names = {"vp": f"column {first + 1} (vp_top)", "vs": f"column {first + 3} (vs_top)"}
    _check_velocities(a[:, 1], a[:, 3], str(path), lambda i, c: f"line {at[i]}, {names[c]}")
    model = _with_gradients(a[:, 0], a[:, 1], a[:, 2], a[:, 3], a[:, 4], label)
    model.source_format = FORMATS[fmt]
    return model


def _parse_nonlinloc(lines, path, label, **_):
    rows = [(k, ln.split()[1:]) for k, ln in lines if ln.split()[0].upper() == "LAYER"]
    return _layers(rows, path, label, "nonlinloc")


def _parse_malmi(lines, path, label, **_):
    return _layers([(k, ln.replace(",", " ").split()) for k, ln in lines], path, label, "malmi")


def _crh_rows(path: Path, lines=None):
    lines = lines if lines is not None else _content_lines(Path(path))
    rows = lines[1:]  # the first line is the model's title
    if not rows:
        raise InputError(f"{path}: no layer rows after the title line")
    at = [k for k, _ in rows]
    a = np.array(
        [
            [_number(v, path, k, f"column {c + 1}") for c, v in enumerate(ln.split()[:2])]
            for k, ln in rows
        ]
    )
    _check_order(a[:, 1], at, path, strictly=True)
    return a[:, 1], a[:, 0], at


def _parse_hypoinverse(lines, path, label, *, s_path=None, vpvs=None):
    top_p, vp, at_p = _crh_rows(path, lines)
    if s_path is not None:
        s_path = Path(s_path)
        if not s_path.is_file():
            raise InputError(f"S velocity model file not found: {s_path}")
        top_s, vs_layers, _ = _crh_rows(s_path)
        tops = np.union1d(top_p, top_s)
        vp_at = vp[np.clip(np.searchsorted(top_p, tops, side="right") - 1, 0, None)]
        vs_at = vs_layers[np.clip(np.searchsorted(top_s, tops, side="right") - 1, 0, None)]
        source = f"{path} + {s_path}"
    elif vpvs is not None:
        if not (np.isfinite(vpvs) and vpvs > 1.0):
            raise InputError(f"vpvs: expected a vp/vs ratio > 1, got {vpvs}")
        tops, vp_at, vs_at = top_p, vp, vp / float(vpvs)
        source = f"{path} (vs = vp / {vpvs:g})"
    else:
        raise InputError(
            f"{path}: a Hypoinverse .crh model holds one phase (P here): give the S model's file "
            "(s_path, --s-model) or a vp/vs ratio (vpvs)"
        )
    _check_velocities(vp_at, vs_at, source, lambda i, c: f"layer from {tops[i]:g} km ({c})")
    model = VelocityModel(tops, vp_at, vs_at, name=label)
    model.source_format = f"{FORMATS['hypoinverse']}: {source}"
    return model


_PARSERS = {
    "nd": _parse_nd,
    "velest": _parse_velest,
    "table": _parse_table,
    "nonlinloc": _parse_nonlinloc,
    "malmi": _parse_malmi,
    "hypoinverse": _parse_hypoinverse,
}
