"""Bad settings and output paths of ``seiscore run`` (issue 11): a message naming the key or
the path, exit code 2, never a traceback."""

from __future__ import annotations

import json

import pytest

from seiscore.cli import main, pick_main
from seiscore.exceptions import ConfigError
from seiscore.workflow import config, demo


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scenario")
    demo.make_scenario(folder, n_stations=4, n_events=1, duration_s=60.0, seed=3)
    return folder


def _toml(folder, output: str, section: str = "", key: str = "", value: str = "") -> str:
    """A configuration of the scenario, with ``section.key = value`` (TOML text) set."""
    sections = {
        "input": {"waveforms": f'["{folder / "waveforms"}"]'},
        "stations": {"path": f'"{folder / "stations.xml"}"'},
        "model": {"vp": "6.0", "vs": "3.5"},
        "picking": {},
        "association": {"min_picks": "3", "min_p": "2", "min_s": "1", "min_p_and_s": "1"},
        "location": {},
        "output": {"directory": f'"{output}"', "figures": "false"},
    }
    if section:
        sections[section][key] = value
    return "".join(
        f"[{name}]\n" + "".join(f"{k} = {v}\n" for k, v in keys.items())
        for name, keys in sections.items()
    )


@pytest.mark.parametrize(
    ("section", "key", "value", "message"),
    [
        ("association", "min_picks", "3000000000", "must be at most 2147483647, got 3000000000"),
        ("association", "min_p", "-1", "must be zero or positive, got -1"),
        ("association", "tolerance_s", "0.0", "must be positive, got 0.0"),
        ("association", "tolerance_s", "nan", "expected a finite number, got nan"),
        ("association", "block_s", "inf", "expected a finite number, got inf"),
        ("association", "min_pick_fraction", "1.5", "must be between 0.0 and 1.0, got 1.5"),
        ("association", "zlim", "[10.0, 0.0]", "expected [min, max] with max > min"),
        ("association", "workers", "0", "must be at least 1, got 0"),
        ("picking", "margin_s", "-5.0", "must be between 0.0 and 86400.0, got -5.0"),
        ("picking", "p_threshold", "1.2", "must be between 0.0 and 1.0, got 1.2"),
        ("picking", "s_threshold", "-0.1", "must be between 0.0 and 1.0, got -0.1"),
        ("picking", "min_distance_s", "0", "must be positive, got 0.0"),
        ("picking", "batch_size", "4294967296", "must be at most 2147483647"),
        ("picking", "threads", "0", "must be at least 1, got 0"),
        ("location", "marginal_window_s", "0", "must be positive, got 0.0"),
        ("location", "depth_km", "[20.0, 0.0]", "expected [min, max] with max > min"),
        ("location", "extent", "[1.0, 0.0, 3.0, 4.0]", "expected [lat_min, lat_max"),
        ("model", "vs", "7.0", "must be below model.vp"),
    ],
)
def test_out_of_range_settings_are_refused_naming_the_key(
    scenario, tmp_path, capsys, section, key, value, message
):
    path = tmp_path / "c.toml"
    path.write_text(_toml(scenario, str(tmp_path / "out"), section, key, value))
    with pytest.raises(ConfigError) as info:
        config.load(path)
    assert str(info.value).startswith(f"{section}.{key}: ")
    assert message in str(info.value)
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"seiscore: error: {section}.{key}: " in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()  # refused before any work


def test_output_paths_give_messages_or_are_created(scenario, tmp_path, capsys):
    # the output directory is an existing file
    a_file = tmp_path / "taken"
    a_file.write_text("not a folder")
    path = tmp_path / "c.toml"
    path.write_text(_toml(scenario, str(a_file)))
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"seiscore: error: output.directory: {a_file} is an existing file, not a folder" in err
    assert "Traceback" not in err
    assert a_file.read_text() == "not a folder"

    # a folder under that file cannot be made
    path.write_text(_toml(scenario, str(a_file / "out")))
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"seiscore: error: output.directory: cannot create the folder {a_file / 'out'}" in err
    assert "Traceback" not in err

    # missing parent folders are created
    deep = tmp_path / "new" / "deeper" / "out"
    path.write_text(_toml(scenario, str(deep)))
    assert main(["run", str(path)]) == 0
    assert json.loads((deep / "summary.json").read_text())["n_tasks"] == 4
    capsys.readouterr()

    # seiscore-pick: an output in a missing folder is created; a folder as output is refused
    picks = tmp_path / "p" / "q" / "picks.csv"
    assert pick_main([str(scenario / "waveforms"), "-o", str(picks), "--quiet"]) == 0
    assert picks.stat().st_size > 0
    assert pick_main([str(scenario / "waveforms"), "-o", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"seiscore-pick: error: --output: {tmp_path} is a folder; give a file name" in err

    # the configuration path is a folder
    assert main(["run", str(tmp_path)]) == 2
    assert f"{tmp_path}: is a folder, not a configuration file" in capsys.readouterr().err


@pytest.mark.parametrize(("option", "value"), [("--p-threshold", "-0.5"), ("--s-threshold", "1.5"),
                                               ("--p-threshold", "high")])  # fmt: skip
def test_pick_cli_refuses_thresholds_outside_0_1(option, value, capsys):
    from seiscore.cli import pick_main

    with pytest.raises(SystemExit) as exc:
        pick_main(["x.mseed", option, value, "-o", "picks.csv"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {option}:" in err
    assert value in err
