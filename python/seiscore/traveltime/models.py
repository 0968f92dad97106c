"""1-D P/S velocity models and the files they come from.

:class:`VelocityModel` holds depth nodes (or layer tops) with P and S velocities;
:meth:`VelocityModel.from_file` reads TauP ``.nd``, ``depth vp vs`` text or CSV (optionally with
PyOcto's gradient columns) and VELEST ``.mod`` files, and :meth:`VelocityModel.homogeneous`
makes a one-medium model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..exceptions import InputError

# Fastest velocity accepted (km/s): P in the Earth's mantle and core stays below 14 km/s.
MAX_VELOCITY_KM_S = 20.0


def _check_velocities(vp: np.ndarray, vs: np.ndarray, source: str, where) -> None:
    """InputError unless ``0 < vp <= 20``, ``0 <= vs <= 20`` (0: a liquid) and ``vs < vp``;
    the message starts with ``source`` and ``where(i, column)``, where value ``i`` of ``"vp"``
    or ``"vs"`` came from."""
    top = MAX_VELOCITY_KM_S
    bad = np.flatnonzero(~((vp > 0) & (vp <= top)))
    if bad.size:
        i = int(bad[0])
        raise InputError(
            f"{source}: {where(i, 'vp')}: vp must be positive and at most {top:g} km/s, got "
            f"{vp[i]:g} km/s"
        )
    bad = np.flatnonzero(~((vs >= 0) & (vs <= top)))
    if bad.size:
        i = int(bad[0])
        raise InputError(
            f"{source}: {where(i, 'vs')}: vs must be >= 0 (0 for liquids) and at most {top:g} "
            f"km/s, got {vs[i]:g} km/s"
        )
    bad = np.flatnonzero((vs > 0) & (vs >= vp))
    if bad.size:
        i = int(bad[0])
        at_vs, at_vp = where(i, "vs"), where(i, "vp")
        also = f" ({at_vp})" if at_vp != at_vs else ""
        raise InputError(
            f"{source}: {at_vs}: vs {vs[i]:g} km/s is not below vp {vp[i]:g} km/s{also}; S waves "
            "are slower than P waves (are the columns swapped?)"
        )


@dataclass(eq=False)
class VelocityModel:
    """A 1-D P/S velocity model.

    ``depth_km`` (km below sea level, positive down; may start above sea level), ``vp`` and
    ``vs`` (km/s; ``vs = 0`` marks a liquid layer S cannot cross) are equal-length arrays.

    ``interpolation="constant"`` (layers): ``depth_km[i]`` is the top of layer ``i``, which has
    constant ``vp[i]``/``vs[i]`` down to the next top; the last layer is a half-space, and the
    first layer also extends upward (to stations and sources above it).
    ``interpolation="linear"`` (profile nodes, the TauP ``.nd`` convention): velocities vary
    linearly in depth between consecutive nodes, and two nodes at the same depth make a
    discontinuity.
    """

    depth_km: np.ndarray
    vp: np.ndarray
    vs: np.ndarray
    name: str = ""
    interpolation: str = "constant"

    def __post_init__(self) -> None:
        self.depth_km = np.asarray(self.depth_km, dtype=np.float64).ravel()
        self.vp = np.asarray(self.vp, dtype=np.float64).ravel()
        self.vs = np.asarray(self.vs, dtype=np.float64).ravel()
        what = f"velocity model {self.name!r}" if self.name else "velocity model"
        if not (len(self.depth_km) == len(self.vp) == len(self.vs)) or len(self.depth_km) == 0:
            raise InputError(
                f"{what}: depth_km, vp and vs must be non-empty and of equal length "
                f"(got {len(self.depth_km)}, {len(self.vp)}, {len(self.vs)})"
            )
        if self.interpolation not in ("constant", "linear"):
            raise InputError(
                f"{what}: interpolation must be 'constant' or 'linear', got {self.interpolation!r}"
            )
        if not np.isfinite(self.depth_km).all():
            raise InputError(f"{what}: depth_km has non-finite values")
        d = np.diff(self.depth_km)
        if self.interpolation == "constant" and (d <= 0).any():
            k = int(np.flatnonzero(d <= 0)[0]) + 1
            raise InputError(
                f"{what}: layer tops must increase (layer {k} at {self.depth_km[k]} km)"
            )
        if self.interpolation == "linear" and (d < 0).any():
            k = int(np.flatnonzero(d < 0)[0]) + 1
            raise InputError(
                f"{what}: node depths must not decrease (node {k} at {self.depth_km[k]} km)"
            )
        kind = "layer" if self.interpolation == "constant" else "node"
        _check_velocities(
            self.vp, self.vs, what, lambda i, _: f"{kind} {i} ({self.depth_km[i]:g} km)"
        )

    # -- constructors

    @classmethod
    def homogeneous(cls, vp: float, vs: float, name: str | None = None) -> VelocityModel:
        """One medium everywhere (``vp``, ``vs`` in km/s)."""
        return cls([0.0], [float(vp)], [float(vs)], name=name or f"homogeneous vp={vp:g} vs={vs:g}")

    @classmethod
    def from_file(
        cls, path, max_depth_km: float | None = 800.0, name: str | None = None
    ) -> VelocityModel:
        """Read a model file; the format is recognised from the content.

        * TauP ``.nd`` (named discontinuities): rows ``depth vp vs [rho [qp qs]]`` and labels such
          as ``mantle``/``outer-core``; linear between nodes. Nodes deeper than ``max_depth_km``
          (default 800 km) are dropped (the profile is cut at that depth).
        * CSV or whitespace text ``depth vp vs`` (a header naming ``depth``, ``vp``, ``vs`` is
          optional; other columns are ignored): constant layers, ``depth`` = top of each layer.
          With ``vp_grad``/``vs_grad`` columns (PyOcto's format, km/s per km) the layers have
          those gradients.
        * VELEST ``.mod``: title, then ``n`` and ``n`` rows ``vp top_depth damp`` for P, then the
          same for S; constant layers (the union of the P and S layer tops).
        """
        path = Path(path)
        label = name or path.stem
        if not path.is_file():
            raise InputError(f"velocity model file not found: {path}")
        text = path.read_text(errors="replace")
        lines = [(k, ln.strip()) for k, ln in enumerate(text.splitlines(), 1)]
        lines = [(k, ln) for k, ln in lines if ln and not ln.startswith("#")]
        if not lines:
            raise InputError(f"{path}: empty velocity model file")
        try:
            if path.suffix.lower() == ".nd":
                model = cls._parse_nd(lines, path, label)
            elif path.suffix.lower() == ".mod" or _looks_velest([ln for _, ln in lines]):
                model = cls._parse_velest(lines, path, label)
            else:
                model = cls._parse_table(lines, path, label)
        except InputError:
            raise
        except (ValueError, IndexError) as exc:
            raise InputError(f"{path}: cannot read the velocity model ({exc})") from None
        if max_depth_km is not None:
            model = model.truncated(float(max_depth_km))
        return model

    @classmethod
    def _parse_nd(cls, lines, path, label):
        rows, at = [], []
        for k, ln in lines:
            parts = ln.split()
            if not _is_number(parts[0]):
                continue  # named discontinuity ("mantle", "outer-core", ...)
            if len(parts) < 3:
                raise InputError(
                    f"{path}: line {k}: .nd rows need at least depth vp vs, got {ln!r}"
                )
            rows.append([_number(v, path, k) for v in parts[:3]])
            at.append(k)
        if not rows:
            raise InputError(f"{path}: no velocity rows in the .nd file")
        a = np.array(rows)
        column = {"vp": "column 2 (vp)", "vs": "column 3 (vs)"}
        _check_velocities(a[:, 1], a[:, 2], str(path), lambda i, c: f"line {at[i]}, {column[c]}")
        return cls(a[:, 0], a[:, 1], a[:, 2], name=label, interpolation="linear")

    @classmethod
    def _parse_velest(cls, lines, path, label):
        # title, then blocks: a count line, then rows "v depth damp ..."
        k = 1
        blocks, at = [], []
        while k < len(lines) and len(blocks) < 2:
            n = int(lines[k][1].split()[0])
            rows = [lines[k + 1 + j] for j in range(n)]
            blocks.append(
                np.array([[_number(v, path, no) for v in r.split()[:2]] for no, r in rows])
            )
            at.append([no for no, _ in rows])
            k += 1 + n
        if len(blocks) != 2:
            raise InputError(f"{path}: VELEST model needs a P and an S block")
        (p, s) = blocks
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
        return cls(tops, vp, vs, name=label)

    @classmethod
    def _parse_table(cls, lines, path, label):
        first = lines[0][1]
        sep = "," if "," in first else None
        head = [c.strip().lower() for c in first.split(sep)]
        if _is_number(head[0]):
            cols = {"depth": 0, "vp": 1, "vs": 2}
            names = {"vp": "column 2 (vp)", "vs": "column 3 (vs)"}
            body = lines
        else:
            cols = _table_columns(head, path)
            names = {c: f"column {head[cols[c]]!r}" for c in ("vp", "vs")}
            body = lines[1:]
        rows = [(k, [c.strip() for c in ln.split(sep)]) for k, ln in body]
        if not rows:
            raise InputError(f"{path}: no velocity rows")

        def column(key):
            return np.array([_number(r[cols[key]], path, k) for k, r in rows])

        depth, vp, vs = column("depth"), column("vp"), column("vs")
        _check_velocities(vp, vs, str(path), lambda i, c: f"line {rows[i][0]}, {names[c]}")
        if cols.get("vp_grad") is None and cols.get("vs_grad") is None:
            return cls(depth, vp, vs, name=label)
        gp = column("vp_grad") if cols.get("vp_grad") is not None else np.zeros_like(vp)
        gs = column("vs_grad") if cols.get("vs_grad") is not None else np.zeros_like(vs)
        nodes_z, nodes_p, nodes_s = [], [], []
        for i in range(len(depth)):
            bottom = depth[i + 1] if i + 1 < len(depth) else depth[i] + 1000.0
            for z in (depth[i], bottom):
                nodes_z.append(z)
                nodes_p.append(vp[i] + gp[i] * (z - depth[i]))
                nodes_s.append(vs[i] + gs[i] * (z - depth[i]))
        return cls(nodes_z, nodes_p, nodes_s, name=label, interpolation="linear")

    # -- queries

    def nodes(self, phase: str) -> tuple[np.ndarray, np.ndarray]:
        """Piecewise-linear profile ``(depth_km, velocity)`` of ``phase`` ("P" or "S") for the
        ray-tracing kernel (constant layers become pairs of nodes)."""
        v = self._velocity_column(phase)
        if self.interpolation == "linear":
            return self.depth_km.copy(), v.copy()
        d = self.depth_km
        z = np.repeat(d, 2)[1:]
        vel = np.repeat(v, 2)[:-1]
        return np.ascontiguousarray(z), np.ascontiguousarray(vel)

    def _velocity_column(self, phase: str) -> np.ndarray:
        key = str(phase).upper()
        if key == "P":
            return self.vp
        if key == "S":
            return self.vs
        raise InputError(f"phase: expected 'P' or 'S', got {phase!r}")

    def velocity_at(self, phase: str, depth_km) -> np.ndarray:
        """Velocity (km/s) of ``phase`` just below ``depth_km`` (vectorised)."""
        z, v = self.nodes(phase)
        q = np.asarray(depth_km, dtype=np.float64)
        # just below: the right-most node at or above q decides at discontinuities
        i = np.searchsorted(z, q, side="right") - 1
        i = np.clip(i, 0, len(z) - 1)
        j = np.minimum(i + 1, len(z) - 1)
        span = z[j] - z[i]
        w = np.where(span > 0, (q - z[i]) / np.where(span > 0, span, 1.0), 0.0)
        w = np.clip(w, 0.0, 1.0)
        out = v[i] + (v[j] - v[i]) * w
        return np.where(q < z[0], v[0], out)

    def truncated(self, max_depth_km: float) -> VelocityModel:
        """The model cut at ``max_depth_km`` (deeper nodes/layers dropped)."""
        keep = self.depth_km <= max_depth_km
        if keep.all():
            return self
        if not keep.any():
            raise InputError(
                f"velocity model {self.name!r}: no layer above max_depth_km={max_depth_km}"
            )
        d, p, s = self.depth_km[keep], self.vp[keep], self.vs[keep]
        if self.interpolation == "linear" and d[-1] < max_depth_km:
            d = np.append(d, max_depth_km)
            p = np.append(p, self.velocity_at("P", max_depth_km))
            s = np.append(s, self.velocity_at("S", max_depth_km))
        return VelocityModel(d, p, s, name=self.name, interpolation=self.interpolation)


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


def _number(token: str, path, line: int) -> float:
    """``float(token)``; InputError naming the file and line otherwise."""
    try:
        return float(token)
    except ValueError:
        raise InputError(f"{path}: line {line}: {token!r} is not a number") from None


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _looks_velest(lines) -> bool:
    if len(lines) < 3:
        return False
    first = lines[1].split()
    return len(first) >= 1 and first[0].isdigit() and not _is_number(lines[0].split()[0])
