"""seiscore's exceptions: one small family, each with a command-line exit code.

``InputError`` and ``ConfigError`` are also ``ValueError`` so that code written against plain
Python conventions still catches them.
"""

from __future__ import annotations


class SeiscoreError(Exception):
    """Base class of every error seiscore raises on purpose."""

    exit_code = 1


class InputError(SeiscoreError, ValueError):
    """Bad input data: wrong shape or dtype, unreadable file, unknown station, ..."""

    exit_code = 2


class ConfigError(SeiscoreError, ValueError):
    """A configuration value or command-line option is invalid."""

    exit_code = 2


class BackendUnavailable(SeiscoreError, RuntimeError):
    """The requested device or backend (CUDA, onnxruntime-gpu) is not available here."""

    exit_code = 3
