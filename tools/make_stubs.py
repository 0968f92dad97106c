"""Regenerate the type stubs of the compiled core: python/seiscore/_core/*.pyi.

    python tools/make_stubs.py

Runs pybind11-stubgen on the installed seiscore._core, then ruff (format, import order) so that
the checked-in stubs stay tidy. tests/test_stubs.py fails when a binding's signature changes
and the stubs were not regenerated.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEST = REPO / "python" / "seiscore" / "_core"


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pybind11_stubgen", "seiscore._core", "-o", tmp], check=True
        )
        DEST.mkdir(exist_ok=True)
        for old in DEST.glob("*.pyi"):
            old.unlink()
        for stub in sorted((Path(tmp) / "seiscore" / "_core").glob("*.pyi")):
            shutil.copy(stub, DEST / stub.name)
    subprocess.run([sys.executable, "-m", "ruff", "check", "--fix", "-q", str(DEST)], check=False)
    subprocess.run([sys.executable, "-m", "ruff", "format", "-q", str(DEST)], check=True)
    print(f"stubs written to {DEST.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
