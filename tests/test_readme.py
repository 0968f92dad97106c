"""Every import the README shows works, and every command it names exists."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
IMPORTS = sorted(set(re.findall(r"^from (seiscore[\w.]*) import ([\w, ]+)$", README, re.M)))


def test_readme_shows_imports():
    assert len(IMPORTS) >= 3


@pytest.mark.parametrize(("module", "names"), IMPORTS)
def test_readme_import_works(module, names):
    mod = importlib.import_module(module)
    for name in (n.strip() for n in names.split(",")):
        assert hasattr(mod, name), f"README: from {module} import {name} fails"
