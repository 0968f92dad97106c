"""`seiscore model`: read a velocity-model file and say what was read."""

from __future__ import annotations

import argparse


def _add_model_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="velocity model (.nd, CSV/text, VELEST, NonLinLoc, MALMI, .crh)")
    p.add_argument("--s-model", help="the S model of a Hypoinverse .crh P model")
    p.add_argument("--vpvs", type=float, help="vp/vs ratio for a .crh P model without S model")
    p.add_argument("--plot", metavar="PNG", help="draw vp and vs against depth into this file")
    p.set_defaults(func=_cmd_model)


def _cmd_model(args: argparse.Namespace) -> int:
    from ..traveltime import VelocityModel
    from ..traveltime.plot import plot_velocity_model

    model = VelocityModel.from_file(args.file, s_path=args.s_model, vpvs=args.vpvs)
    print(model.describe())
    if args.plot:
        print(f"figure: {plot_velocity_model(model, args.plot)}")
    return 0
