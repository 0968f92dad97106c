"""Layering rules that keep the C++ core free of Python and the stages apart."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STAGES = ("picking", "traveltime", "association", "location", "correlation")
# traveltime is a service stage: association and location take a velocity model and build
# (or load) their tables through it, as the issue APIs ask (associate(picks, stations, model)).
ALLOWED = {("association", "traveltime"), ("location", "traveltime")}


def test_cpp_kernels_do_not_include_python():
    bad = []
    for path in (REPO / "cpp" / "seiscore").rglob("*"):
        if path.suffix in {".hpp", ".cpp", ".h", ".cc"}:
            text = path.read_text()
            if re.search(r'#\s*include\s*[<"](pybind11|Python\.h)', text):
                bad.append(str(path.relative_to(REPO)))
    assert not bad, f"kernels must not include pybind11/Python.h: {bad}"


def test_cuda_headers_are_plain_cpp():
    for path in (REPO / "cuda").rglob("*.hpp"):
        text = path.read_text()
        assert "cuda_runtime" not in text, f"{path}: public CUDA headers must not expose CUDA types"


def _seiscore_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level >= 1:
            mod = (node.module or "").split(".")[0]
            if mod:
                found.add(mod)
            else:
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("seiscore."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("seiscore."):
                    found.add(alias.name.split(".")[1])
    return found


def test_stage_modules_do_not_import_each_other():
    pkg = REPO / "python" / "seiscore"
    for stage in STAGES:
        path = pkg / f"{stage}.py"
        if not path.exists():
            continue
        others = {o for o in _seiscore_imports(path) & (set(STAGES) - {stage}) if (stage, o) not in ALLOWED}
        assert not others, f"{stage}.py imports other stages {others}; compose them in workflow/"
