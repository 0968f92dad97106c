"""Every command-line option explains itself: a help text, its default, and its unit."""

from __future__ import annotations

import argparse
import re

import pytest

from seiscore.cli import _common
from seiscore.cli.locate import _add_locate_arguments
from seiscore.cli.parser import build_parser
from seiscore.cli.pick import _add_pick_arguments

# words that say what a number counts or measures
UNITS = re.compile(
    r"\b(s|seconds?|km|m|Hz|km/s|samples?|windows?|threads?|probability|MADs?|ratio|GB|GiB|"
    r"fraction|degrees|°|counts?|picks?|stations?|events?|epochs?|cores?|iterations?|"
    r"percent|%|dB|nodes?|cells?|days?|power|order|poles|factor|mm|number|batch|rate|"
    r"exponent|seed|multiple|minutes?|steps?)\b",
    re.IGNORECASE,
)


def _options():
    top = build_parser()
    pick = argparse.ArgumentParser(prog="seiscore-pick")
    _add_pick_arguments(pick)
    loc = argparse.ArgumentParser(prog="seiscore-locate")
    _add_locate_arguments(loc)
    for root in (top, pick, loc):
        for parser in _common.all_parsers(root):
            for action in parser._actions:
                if isinstance(action, (argparse._HelpAction, argparse._VersionAction,
                                       argparse._SubParsersAction)):  # fmt: skip
                    continue
                yield f"{parser.prog} {'/'.join(action.option_strings) or action.dest}", action


OPTIONS = list(_options())


@pytest.mark.parametrize(("name", "action"), OPTIONS, ids=[n for n, _ in OPTIONS])
def test_option_has_help_default_and_unit(name, action):
    assert action.help, f"{name}: no help text"
    formatter = _common.HelpFormatter("x")
    text = formatter._get_help_string(action) % {"default": action.default}
    if action.option_strings and action.default not in (None, False, argparse.SUPPRESS):
        assert "default" in text, f"{name}: help does not show the default"
    if action.type in (int, float) and action.option_strings:
        assert UNITS.search(text) or (action.metavar and UNITS.search(str(action.metavar))), (
            f"{name}: a number without a unit in its help: {text!r}"
        )


def test_help_renders_defaults():
    parser = build_parser()
    for p in _common.all_parsers(parser):
        p.formatter_class = _common.HelpFormatter
    text = next(
        p for p in _common.all_parsers(parser) if p.prog.endswith(" associate")
    ).format_help()
    assert "(default: 1.0)" in text
