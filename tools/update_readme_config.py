"""Rewrite the README's configuration reference from seiscore.workflow.config (the test
tests/workflow/test_config.py::test_readme_configuration_reference_is_current checks it)."""

from pathlib import Path

from seiscore.workflow import config

README = Path(__file__).resolve().parents[1] / "README.md"
START, END = "<!-- config-reference:start -->", "<!-- config-reference:end -->"

text = README.read_text()
head, rest = text.split(START, 1)
_, tail = rest.split(END, 1)
README.write_text(f"{head}{START}\n{config.reference_markdown().strip()}\n{END}{tail}")
print(f"configuration reference written into {README}")
