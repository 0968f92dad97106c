"""Atomic output files (see :mod:`seiscore._atomic`, which the stages' figure writers share)."""

from .._atomic import (
    TEMP_PREFIX,
    WriteError,
    atomic_path,
    prepare_output_dir,
    save_figure,
    temp_path_for,
    write_text,
)

__all__ = [
    "TEMP_PREFIX",
    "WriteError",
    "atomic_path",
    "prepare_output_dir",
    "save_figure",
    "temp_path_for",
    "write_text",
]
