"""The TOML configuration of ``seiscore run``: defaults, validation, printing."""

from __future__ import annotations

import pytest
import tomllib

from seiscore.cli import main
from seiscore.exceptions import ConfigError
from seiscore.workflow import config


def test_defaults_cover_every_section_and_association_matches_associate():
    import inspect

    from seiscore.association import associate, associate_by_method

    d = config.defaults()
    assert set(d) == {
        "input",
        "stations",
        "model",
        "picking",
        "association",
        "location",
        "magnitude",
        "output",
    }
    assert d["picking"]["model"] == "phasenet"
    assert d["picking"]["batch_size"] is None  # the model's own (8 on the CPU)
    assert d["location"]["extent"] == "auto"
    # every association key is a keyword of associate(), with the same default (but for the
    # pipeline's choice of skipping picks at unknown stations and of an automatic null test)
    params = inspect.signature(associate).parameters
    # and the choice of method: keywords of associate_by_method(), with the same defaults
    by_method = inspect.signature(associate_by_method).parameters
    assert d["association"].pop("method") == by_method["method"].default == "grid"
    assert d["association"].pop("linker") == ""
    assert by_method["linker"].default is None
    for key, value in d["association"].items():
        assert key in params, key
        expect = params[key].default
        if key in ("unknown_stations", "null_test"):
            continue
        if isinstance(expect, tuple):
            expect = list(expect)
        assert value == expect, key


def test_defaults_are_fresh_copies():
    d = config.defaults()
    d["association"]["zlim"][1] = 99.0
    assert config.defaults()["association"]["zlim"] == [0.0, 40.0]


def test_validate_fills_defaults_and_converts_numbers(tmp_path):
    cfg = config.validate(
        {"model": {"vp": 6, "vs": 3.5}, "association": {"min_p": 4, "xlim": [-10, 10]}}
    )
    assert cfg["model"]["vp"] == 6.0
    assert isinstance(cfg["model"]["vp"], float)
    assert cfg["association"]["min_p"] == 4
    assert cfg["association"]["xlim"] == [-10.0, 10.0]
    assert cfg["association"]["min_s"] == 2  # default kept


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"association": {"min_p": "3"}}, "association.min_p: expected int, got str"),
        ({"association": {"min_p": 3.0}}, "association.min_p: expected int, got float"),
        ({"association": {"min_p": True}}, "association.min_p: expected int, got bool"),
        (
            {"association": {"tolerance_s": "1"}},
            "association.tolerance_s: expected number, got str",
        ),
        ({"association": {"min_q": 3}}, "association.min_q: unknown key"),
        ({"assoc": {"min_p": 3}}, "assoc: unknown section"),
        ({"picking": {"batch_size": 0}}, "picking.batch_size: must be at least 1"),
        ({"location": {"extent": "big"}}, "location.extent: expected 'auto'"),
        ({"location": {"extent": [1, 2, 3]}}, "location.extent: expected str or list of 4 numbers"),
        (
            {"association": {"zlim": [0, 1, 2]}},
            "association.zlim: expected list of 2 numbers, got list of 3",
        ),
        (
            {"association": {"unknown_stations": "ignore"}},
            "association.unknown_stations: expected one of",
        ),
        ({"association": {"null_test": "often"}}, "association.null_test: expected one of"),
        ({"association": {"null_test": 3}}, "association.null_test: expected bool or str"),
        ({"association": {"min_significance": -1}}, "association.min_significance: must be"),
        ({"output": {"figures": "yes"}}, "output.figures: expected bool, got str"),
        ({"input": {"waveforms": [1]}}, "input.waveforms: expected list of str"),
        ({"input": {"waveforms": ["a"], "sds": "b"}}, "not both"),
        ({"input": {"sds": "b"}}, "input.sds: an SDS archive needs"),
        ({"input": {"starttime": "yesterday-ish"}}, "input.starttime: not a time"),
        ({"model": {"vp": 6.0}}, "needs both model.vp and model.vs"),
        ({"model": {"path": "m.nd", "vp": 6.0, "vs": 3.5}}, "not both"),
        ({"picking": 3}, "picking: expected a table, got int"),
    ],
)
def test_validate_rejects_with_the_key_named(raw, message):
    with pytest.raises(ConfigError) as info:
        config.validate(raw)
    assert message in str(info.value)


def test_load_resolves_paths_relative_to_the_file(tmp_path):
    sub = tmp_path / "cfg"
    sub.mkdir()
    path = sub / "run.toml"
    path.write_text(
        '[input]\nwaveforms = ["data", "/abs/x.mseed"]\n[stations]\npath = "st.xml"\n'
        '[model]\nvp = 6.0\nvs = 3.5\n[output]\ndirectory = "out"\n'
    )
    cfg = config.load(path)
    assert cfg["input"]["waveforms"] == [str(sub / "data"), "/abs/x.mseed"]
    assert cfg["stations"]["path"] == str(sub / "st.xml")
    assert cfg["output"]["directory"] == str(sub / "out")
    config.check_complete(cfg)
    # a picker or head given as an .onnx file is found beside the configuration too; bundled
    # names stay names
    path.write_text(
        '[picking]\nmodel = "models/fine.onnx"\nheads = "polarity, heads/dist.onnx,/abs/m.onnx"\n'
    )
    pk = config.load(path)["picking"]
    assert pk["model"] == str(sub / "models" / "fine.onnx")
    assert pk["heads"] == f"polarity,{sub / 'heads' / 'dist.onnx'},/abs/m.onnx"
    path.write_text('[picking]\nmodel = "phasenet"\n')
    assert config.load(path)["picking"]["model"] == "phasenet"


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(ConfigError, match="configuration file not found"):
        config.load(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[input\n")
    with pytest.raises(ConfigError, match="bad.toml: not valid TOML"):
        config.load(bad)


def test_check_complete_names_what_is_missing():
    with pytest.raises(ConfigError, match="input: no waveforms"):
        config.check_complete(config.defaults())
    cfg = config.validate({"input": {"waveforms": ["x"]}})
    with pytest.raises(ConfigError, match="stations.path"):
        config.check_complete(cfg)
    cfg = config.validate({"input": {"waveforms": ["x"]}, "stations": {"path": "s.xml"}})
    with pytest.raises(ConfigError, match="model: a velocity model is required"):
        config.check_complete(cfg)


def test_dumps_round_trips_through_toml():
    text = config.dumps()
    parsed = tomllib.loads(text)
    again = config.validate(parsed)
    assert again == config.defaults()
    cfg = config.validate({"model": {"vp": 6.0, "vs": 3.5}, "association": {"min_p": 5}})
    assert config.validate(tomllib.loads(config.dumps(cfg))) == cfg


def test_cli_print_config(capsys, tmp_path):
    assert main(["run", "--print-config"]) == 0
    out = capsys.readouterr().out
    assert tomllib.loads(out)["association"]["min_p"] == 3
    path = tmp_path / "c.toml"
    path.write_text("[association]\nmin_p = 5\n")
    assert main(["run", str(path), "--print-config"]) == 0
    assert tomllib.loads(capsys.readouterr().out)["association"]["min_p"] == 5


def test_cli_run_reports_bad_config(capsys, tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[association]\nmin_p = "3"\n')
    assert main(["run", str(path)]) == 2
    assert "association.min_p: expected int, got str" in capsys.readouterr().err
    assert main(["run"]) == 2
    assert "no CONFIG given" in capsys.readouterr().err


def test_every_key_is_documented_and_print_config_round_trips():
    for sec, keys in config.SCHEMA.items():
        for key in keys:
            assert key in config.DOCS.get(sec, {}), f"{sec}.{key} has no entry in config.DOCS"
            assert config.DOCS[sec][key][0], f"{sec}.{key}: empty meaning"
    for sec in config.DOCS:
        assert set(config.DOCS[sec]) <= set(config.SCHEMA[sec]), f"{sec}: documents unknown keys"
    text = config.dumps()
    assert (
        "# P probability threshold (not set: the model card's) [probability]; default: not set"
        in text
    )
    import tomllib

    assert config.validate(tomllib.loads(text)) == config.defaults()


def test_readme_configuration_reference_is_current():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    start, end = "<!-- config-reference:start -->", "<!-- config-reference:end -->"
    assert start in readme, "README lacks the configuration reference markers"
    assert end in readme, "README lacks the configuration reference markers"
    block = readme.split(start, 1)[1].split(end, 1)[0].strip()
    assert block == config.reference_markdown().strip(), (
        "README's configuration reference is stale: paste seiscore.workflow.config."
        "reference_markdown() between the markers"
    )
