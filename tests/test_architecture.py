"""Layering rules that keep the C++ core free of Python, the stages apart and the code readable.

The rules (README, "Layout"):

* ``cpp/seiscore`` never includes pybind11 or Python; public CUDA headers expose no CUDA types.
* Every stage is a package ``python/seiscore/<stage>/`` whose ``__init__`` states its public API
  (a docstring and ``__all__``), and ``tests/<stage>/`` holds its tests.
* A stage imports only the shared layers (``_core``, ``_backend``, ``_validate``, ``containers``,
  ``exceptions``, ``geo``) and the few services named in ``SERVICES`` below, never another
  stage's internals, never ``workflow``.
* ``io`` imports no stage; ``workflow`` holds the jobs (one per command) and the pipeline, and a
  job never imports another job.
* ``training`` (torch-only code that makes ONNX models; not a stage) imports the shared layers,
  ``io``, and ``models`` and ``picking`` through their public API; nothing imports ``training``
  but the train jobs (``workflow/train.py``, ``workflow/train_associator.py``) and their
  commands (``cli/train.py``, ``cli/train_associator.py``).
* No module of the package is over 800 lines; no function's code (its docstring aside) is over 80
  lines unless a ``# long function:`` comment in it says why.
"""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PKG = REPO / "python" / "seiscore"
STAGES = ("picking", "traveltime", "association", "location", "magnitude", "correlation")
SHARED = {
    "_core",
    "_cuda",
    "_backend",
    "_validate",
    "_atomic",
    "containers",
    "exceptions",
    "geo",
    "__version__",
}
# What a stage may use besides the shared layers: its own package, and these services (through
# their public API): picking runs models; association and location build travel times.
SERVICES = {"picking": {"models"}, "association": {"traveltime"}, "location": {"traveltime"}}
# Modules of workflow/ that are not jobs: the configuration schema, the pipeline and how it
# detects events (detection: association, migration or both), and the per-pick heads that pick
# and run both apply (heads).
WORKFLOW_SHARED = {"__init__", "config", "pipeline", "detection", "heads"}
# training: what it may import (models and picking through their __all__), and who may import it
TRAINING_USES = {"io"}
TRAINING_SERVICES = {"models", "picking"}
TRAINING_USERS = {
    "workflow/train.py",
    "cli/train.py",
    "workflow/train_associator.py",
    "cli/train_associator.py",
}
MAX_MODULE_LINES = 800
MAX_FUNCTION_LINES = 80


def _modules(root: Path):
    return sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def _module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imported(path: Path) -> set[str]:
    """Absolute names of everything under ``seiscore`` that the module imports (including
    imports inside functions), resolved from relative imports."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    return _imports_in(path.read_text(), package)


def _imports_in(source: str, package: str) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if not mod.startswith("seiscore"):
                continue
            found.add(mod)
            found.update(f"{mod}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("seiscore"))
    return found


def _top(name: str) -> str | None:
    """``seiscore.X...`` → ``X`` (None for ``seiscore`` itself)."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else None


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


@pytest.mark.parametrize("stage", STAGES)
def test_stage_is_a_package_with_a_stated_api(stage):
    assert not (PKG / f"{stage}.py").exists(), f"{stage}.py: stages are packages ({stage}/)"
    init = PKG / stage / "__init__.py"
    assert init.exists(), f"python/seiscore/{stage}/__init__.py is missing"
    tree = ast.parse(init.read_text())
    assert ast.get_docstring(tree), f"{stage}/__init__.py: state the public API in a docstring"
    names = [
        t.id
        for node in tree.body
        if isinstance(node, (ast.Assign, ast.AnnAssign))
        for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(t, ast.Name)
    ]
    assert "__all__" in names, f"{stage}/__init__.py: define __all__"
    tests = REPO / "tests" / stage
    assert list(tests.glob("test_*.py")), f"tests/{stage}/ should hold the stage's tests"


@pytest.mark.parametrize("stage", STAGES)
def test_stage_imports_only_shared_layers(stage):
    allowed = SHARED | SERVICES.get(stage, set()) | {stage}
    bad = {}
    for path in _modules(PKG / stage):
        tops = {_top(n) for n in _imported(path)} - {None}
        other = tops - allowed
        if other:
            bad[str(path.relative_to(REPO))] = sorted(other)
    assert not bad, f"{stage} imports layers it may not (compose stages in workflow/): {bad}"


def test_stages_use_only_the_public_api_of_services():
    bad = []
    for stage, services in SERVICES.items():
        for path in _modules(PKG / stage):
            for name in _imported(path):
                parts = name.split(".")
                if len(parts) < 3 or parts[1] not in services:
                    continue
                public = importlib.import_module(f"seiscore.{parts[1]}").__all__
                if len(parts) > 3 or parts[2] not in public:
                    bad.append(f"{path.relative_to(REPO)}: {name}")
    assert not bad, f"use services through the names in their package's __all__: {bad}"


def test_io_imports_no_stage():
    bad = {}
    for path in _modules(PKG / "io"):
        tops = {_top(n) for n in _imported(path)} & (set(STAGES) | {"workflow"})
        if tops:
            bad[str(path.relative_to(REPO))] = sorted(tops)
    assert not bad, f"io is below the stages and may not import them: {bad}"


def test_training_imports_only_what_it_may():
    allowed = SHARED | TRAINING_USES | TRAINING_SERVICES | {"training"}
    bad = []
    for path in _modules(PKG / "training"):
        for name in _imported(path):
            parts = name.split(".")
            top = _top(name)
            if top is None:
                continue
            if top not in allowed:
                bad.append(f"{path.relative_to(REPO)}: {name}")
            elif top in TRAINING_SERVICES and len(parts) > 2:
                public = importlib.import_module(f"seiscore.{top}").__all__
                if len(parts) > 3 or parts[2] not in public:
                    bad.append(f"{path.relative_to(REPO)}: {name} (not in {top}.__all__)")
    assert not bad, f"training imports layers it may not, or non-public names: {bad}"


def test_only_the_train_job_imports_training():
    bad = []
    for path in _modules(PKG):
        rel = path.relative_to(PKG).as_posix()
        if rel.startswith("training/") or rel in TRAINING_USERS:
            continue
        if any(_top(n) == "training" for n in _imported(path)):
            bad.append(rel)
    assert not bad, f"only {sorted(TRAINING_USERS)} may import seiscore.training: {bad}"


def test_jobs_never_import_jobs():
    jobs = {p.stem for p in (PKG / "workflow").glob("*.py")} - WORKFLOW_SHARED
    assert {"pick", "associate", "locate", "correlate", "demo"} <= jobs
    bad = {}
    modules = [*(PKG / "workflow").glob("*.py"), *(PKG / "workflow" / "pipeline").glob("*.py")]
    for path in modules:
        used = {n.split(".")[2] for n in _imported(path) if n.startswith("seiscore.workflow.")}
        other = (used & jobs) - {path.stem}
        if other:
            bad[path.name] = sorted(other)
    assert not bad, f"a workflow module imports a job (move shared code into a stage): {bad}"


def test_no_module_over_the_line_limit():
    long = {
        str(p.relative_to(REPO)): n
        for p in _modules(PKG)
        if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert not long, f"modules over {MAX_MODULE_LINES} lines (split by concern): {long}"


def _code_lines(fn: ast.AST) -> int:
    body = fn.body
    first = body[0]
    is_doc = isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None), ast.Constant)
    if is_doc and isinstance(first.value.value, str):
        if len(body) == 1:
            return 0
        first = body[1]
    return fn.end_lineno - first.lineno + 1


def test_no_long_function_without_a_reason():
    long = []
    for path in _modules(PKG):
        lines = path.read_text().splitlines()
        for node in ast.walk(ast.parse("\n".join(lines))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = _code_lines(node)
                text = "\n".join(lines[node.lineno - 1 : node.end_lineno])
                if n > MAX_FUNCTION_LINES and "# long function:" not in text:
                    long.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name} ({n} lines)")
    assert not long, (
        f"functions over {MAX_FUNCTION_LINES} lines: split them into named steps, or say why "
        f"in a '# long function:' comment: {long}"
    )


def test_the_import_resolver_sees_every_kind_of_import():
    source = (
        "from ..association import associate\n"
        "from . import onsets\n"
        "def f():\n    from seiscore.workflow import pipeline\n    import seiscore.picking\n"
    )
    found = _imports_in(source, "seiscore.location")
    assert {_top(n) for n in found} == {"association", "location", "workflow", "picking"}
    assert "seiscore.location.onsets" in found
