"""`seiscore` command line: parser."""

from __future__ import annotations

import argparse

from ._common import _dispatch
from .associate import _add_associate_arguments
from .correlate import _add_correlate_arguments
from .info import _cmd_info
from .locate import _add_locate_arguments
from .magnitude import _add_magnitude_arguments
from .model import _add_model_arguments
from .pick import _add_pick_arguments
from .run import _add_demo_arguments, _add_run_arguments
from .train import _add_train_arguments
from .train_associator import _add_train_associator_arguments


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="seiscore",
        description="Continuous seismic data to earthquake catalogs and noise correlations.",
    )
    parser.add_argument("--version", action="version", version=f"seiscore {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("info", help="version, compiler, OpenMP and CUDA of this installation")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_cmd_info)
    _add_pick_arguments(sub.add_parser("pick", help="pick P and S phases (same as seiscore-pick)"))
    _add_associate_arguments(
        sub.add_parser(
            "associate", help="associate picks into events (grid search, or a PhaseLink linker)"
        )
    )
    _add_correlate_arguments(
        sub.add_parser("correlate", help="ambient-noise cross-correlation of every station pair")
    )
    _add_locate_arguments(
        sub.add_parser(
            "locate", help="detect and locate events by migration (same as seiscore-locate)"
        )
    )
    _add_run_arguments(
        sub.add_parser(
            "run",
            help="the whole pipeline from a TOML configuration: "
            "pick, associate, relocate, catalogue",
        )
    )
    _add_demo_arguments(
        sub.add_parser(
            "demo", help="synthetic scenario with known truth through the whole pipeline"
        )
    )
    _add_magnitude_arguments(
        sub.add_parser(
            "magnitude", help="add local magnitudes (ML) to a catalogue (QuakeML or events.csv)"
        )
    )
    _add_model_arguments(
        sub.add_parser("model", help="read a velocity-model file and print what was read (--plot)")
    )
    _add_train_arguments(sub.add_parser("train", help="fine-tune a picker on labelled waveforms"))
    _add_train_associator_arguments(
        sub.add_parser("train-associator", help="train a PhaseLink linker on synthetic picks")
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    return _dispatch(build_parser(), argv)
