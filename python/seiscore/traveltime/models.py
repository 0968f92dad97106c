"""1-D P/S velocity models.

:class:`VelocityModel` holds depth nodes (or layer tops) with P and S velocities;
:meth:`VelocityModel.from_file` reads the formats of :mod:`.model_formats` (TauP ``.nd``,
``depth vp vs`` text or CSV with PyOcto's gradient columns, VELEST ``.mod``, NonLinLoc ``LAYER``
lines, MALMI's layered text, Hypoinverse ``.crh``, GrowClust's node tables), and
:meth:`VelocityModel.homogeneous` makes a one-medium model.
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
    source_format: str = ""  # what from_file recognised ("" when made in code)

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
        cls,
        path,
        max_depth_km: float | None = 800.0,
        name: str | None = None,
        *,
        s_path=None,
        vpvs: float | None = None,
    ) -> VelocityModel:
        """Read a model file; the format is recognised from the content (the suffix helps).

        * TauP ``.nd`` (named discontinuities): rows ``depth vp vs [rho [qp qs]]`` and labels
          such as ``mantle``/``outer-core``; linear between nodes (repeated depths make
          discontinuities). Nodes deeper than ``max_depth_km`` (default 800 km) are dropped.
        * CSV or whitespace text ``depth vp vs`` (a header naming ``depth``, ``vp``, ``vs`` is
          optional; other columns are ignored): constant layers, ``depth`` = top of each layer;
          without a header and with a repeated depth, the rows are profile nodes (linear
          between them, the ``.nd`` convention; GrowClust's ``vzmodel.txt``). With
          ``vp_grad``/``vs_grad`` columns (PyOcto's format, km/s per km) the layers have those
          gradients.
        * VELEST ``.mod``: title, then ``n`` and ``n`` rows ``vp top_depth damp`` for P, then
          the same for S; constant layers (the union of the P and S layer tops).
        * NonLinLoc ``LAYER depth vp_top vp_grad vs_top vs_grad rho_top rho_grad`` lines (in a
          control file; other lines are ignored), and the same seven numbers per line without
          the keyword (MALMI's layered model): layers with gradients.
        * Hypoinverse ``.crh``: a title line, then ``vp top_depth`` rows. A ``.crh`` file holds
          one phase: give the S model's file as ``s_path`` (or a ``vpvs`` ratio).

        Errors name the file, the line and the column.
        """
        from .model_formats import read_model_file

        path = Path(path)
        model = read_model_file(path, name or path.stem, s_path=s_path, vpvs=vpvs)
        if max_depth_km is not None:
            model = model.truncated(float(max_depth_km))
        return model

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
        return VelocityModel(
            d,
            p,
            s,
            name=self.name,
            interpolation=self.interpolation,
            source_format=self.source_format,
        )

    def describe(self) -> str:
        """A readable account of the model: its name and format, each layer or node with
        depth, vp, vs and vp/vs, and the velocities just below sea level."""
        kind = "layer tops" if self.interpolation == "constant" else "profile nodes (linear)"
        fmt = f" ({self.source_format})" if self.source_format else ""
        lines = [
            f"velocity model {self.name!r}{fmt}",
            f"{len(self.depth_km)} {kind}:",
            f"  {'depth_km':>9} {'vp_km_s':>8} {'vs_km_s':>8} {'vp/vs':>6}",
        ]
        for z, p, s in zip(self.depth_km, self.vp, self.vs, strict=True):
            ratio = f"{p / s:6.3f}" if s > 0 else "liquid"
            lines.append(f"  {z:9.3f} {p:8.3f} {s:8.3f} {ratio:>6}")
        p0, s0 = self.velocity_at("P", 0.0), self.velocity_at("S", 0.0)
        lines.append(f"just below sea level: vp {float(p0):.3f} km/s, vs {float(s0):.3f} km/s")
        return "\n".join(lines)


def load_velocity_model(model=None, vp: float | None = None, vs: float | None = None):
    """A :class:`VelocityModel` from a file (any format :meth:`VelocityModel.from_file`
    reads), or a homogeneous one from ``vp``/``vs`` (km/s): exactly one of the two.

    Raises ConfigError when both or neither are given, InputError for a missing file."""
    from ..exceptions import ConfigError

    if model is not None and (vp is not None or vs is not None):
        raise ConfigError(
            "give either a model file (--model) or a homogeneous model (--vp and --vs), not both"
        )
    if model is not None:
        path = Path(model)
        if not path.exists():
            raise InputError(f"velocity model file not found: {path}")
        return VelocityModel.from_file(path)
    if vp is None or vs is None:
        raise ConfigError(
            "a velocity model is required: --model model.nd, or --vp and --vs for a homogeneous one"
        )
    return VelocityModel.homogeneous(float(vp), float(vs))
