"""The checked-in stubs of the compiled core (python/seiscore/_core/*.pyi) match the bindings.

Regenerate with ``python tools/make_stubs.py`` after changing a binding. Compared: every
submodule, every function and its parameter names (the text itself depends on the stub
generator's version, so it is not compared).
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

from seiscore import _core

STUBS = Path(__file__).resolve().parents[1] / "python" / "seiscore" / "_core"


def _stub_signatures(path: Path) -> dict[str, list[str]]:
    tree = ast.parse(path.read_text())
    return {
        node.name: [a.arg for a in node.args.args + node.args.kwonlyargs]
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
    }


def _runtime_signatures(module) -> dict[str, list[str]]:
    out = {}
    for name in dir(module):
        obj = getattr(module, name)
        if name.startswith("_") or not callable(obj) or inspect.ismodule(obj):
            continue
        if isinstance(obj, type):  # a class: its builder function carries the signature
            continue
        first = (obj.__doc__ or "").splitlines()[0] if obj.__doc__ else ""
        m = re.match(rf"{name}\((.*)\)", first)
        assert m, f"{module.__name__}.{name}: no signature line in its docstring"
        params = [p.strip() for p in re.split(r",\s*(?![^\[]*\])", m.group(1)) if p.strip()]
        out[name] = [p.split(":")[0].strip() for p in params if p != "*"]
    return out


SUBMODULES = sorted(n for n in dir(_core) if inspect.ismodule(getattr(_core, n)))


def test_every_submodule_has_a_stub():
    assert SUBMODULES, "seiscore._core has no submodules?"
    missing = [n for n in SUBMODULES if not (STUBS / f"{n}.pyi").exists()]
    assert not missing, f"no stub for {missing}: run python tools/make_stubs.py"
    assert (STUBS / "__init__.pyi").exists()


@pytest.mark.parametrize("name", SUBMODULES)
def test_stub_signatures_match_the_bindings(name):
    stub = _stub_signatures(STUBS / f"{name}.pyi")
    runtime = _runtime_signatures(getattr(_core, name))
    assert stub == runtime, f"_core.{name} changed: run python tools/make_stubs.py"
