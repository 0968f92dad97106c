"""Output files that are either whole or absent: write to a temporary file, then rename.

Every file the jobs write goes through :func:`atomic_path`: the writer writes a temporary file
in the same folder (same file system, so the final :func:`os.replace` is atomic) and only a
complete file takes the final name. A writer that fails, or a run killed while it writes,
leaves the previous file (if any) as it was and never a truncated or empty one.
:func:`prepare_output_dir` checks, before any work, that an output folder can be written.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from .exceptions import ConfigError, SeiscoreError

__all__ = ["WriteError", "atomic_path", "prepare_output_dir", "save_figure", "write_text"]

#: Prefix of the temporary files (hidden; a kill may leave one behind, never a final name).
TEMP_PREFIX = ".seiscore-tmp-"


class WriteError(SeiscoreError):
    """An output file could not be written (read-only or full file system, ...)."""


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def temp_path_for(path) -> Path:
    """A fresh temporary name beside ``path`` that keeps its suffix (writers that choose the
    format from the suffix still work)."""
    path = Path(path)
    return path.with_name(f"{TEMP_PREFIX}{secrets.token_hex(4)}-{path.name}")


@contextlib.contextmanager
def atomic_path(path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; when the block ends without an error, the file
    written there replaces ``path`` in one step. The parent folder is created if missing.

    On any error (or interruption) in the block the temporary file is removed and ``path`` is
    left untouched; an ``OSError`` becomes :class:`WriteError` naming ``path``.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WriteError(f"{path}: cannot create its folder ({_reason(exc)})") from exc
    tmp = temp_path_for(path)
    try:
        yield tmp
        if not tmp.exists():
            raise WriteError(f"{path}: the writer produced no file")
        os.replace(tmp, path)
    except OSError as exc:
        raise WriteError(f"{path}: cannot write ({_reason(exc)})") from exc
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def write_text(path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns ``path``."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def prepare_output_dir(path, key: str) -> Path:
    """The output folder ``path`` (created with its parents when missing), checked to be a
    writable folder before any work is done. ``key`` (the setting or option that named it)
    opens every :class:`ConfigError` message."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{key}: {path} is an existing file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{key}: cannot create the folder {path} ({_reason(exc)})") from exc
    probe = temp_path_for(path / "write-test")
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError as exc:
        raise ConfigError(f"{key}: cannot write into the folder {path} ({_reason(exc)})") from exc
    finally:
        with contextlib.suppress(OSError):
            probe.unlink(missing_ok=True)
    return path


def save_figure(fig, path, *, tight_layout: bool = False) -> Path:
    """Write a matplotlib figure through :func:`atomic_path` (100 dpi, the format of the file's
    suffix, PNG without one) and close it, also when drawing or writing fails."""
    import matplotlib.pyplot as plt

    path = Path(path)
    try:
        if tight_layout:
            fig.tight_layout()
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=100, format=path.suffix.lstrip(".") or "png")
    finally:
        plt.close(fig)
    return path
