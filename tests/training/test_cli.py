"""`seiscore train` end to end on a tiny SeisBench data set; and what must stay torch-free."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from seiscore.cli import main
from seiscore.models import MODELS_DIR

from .helpers import write_seisbench


def test_import_paths_do_not_import_torch():
    code = (
        "import sys\n"
        "import seiscore, seiscore.cli, seiscore.cli.parser, seiscore.cli.train\n"
        "import seiscore.picking, seiscore.models, seiscore.workflow.pick\n"
        "import seiscore.training, seiscore.training.data, seiscore.training.store\n"
        "import seiscore.training.labels, seiscore.training.augment, seiscore.training.picks\n"
        "seiscore.cli.parser.build_parser()\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_no_fine_tuned_model_is_shipped():
    """Fine-tuned models (e.g. tools/finetune_iceland.py's, derived from GPL data) are written
    outside the package: no bundled card says it was made by seiscore train."""
    for card in MODELS_DIR.glob("*/*.json"):
        assert "training" not in json.loads(card.read_text()), card


def test_bad_arguments_exit_2(tmp_path, capsys):
    assert main(["train", "-o", str(tmp_path / "m.onnx")]) == 2
    assert "--data" in capsys.readouterr().err
    assert main(["train", "--data", str(tmp_path), "-o", str(tmp_path / "m.txt")]) == 2
    assert (
        main(["train", "--data", str(tmp_path), "--base", "seist", "-o", str(tmp_path / "m.onnx")])
        == 2
    )
    assert "SeisT" in capsys.readouterr().err


def test_train_command_writes_model_card_report_and_checkpoint(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnx")
    torch.set_num_threads(2)
    write_seisbench(tmp_path / "sb", np.random.default_rng(3), n_traces=6)
    out = tmp_path / "model" / "tiny.onnx"
    args = [
        "train",
        "--data",
        str(tmp_path / "sb"),
        "-o",
        str(out),
        "--epochs",
        "1",
        "--steps-per-epoch",
        "1",
        "--batch-size",
        "2",
        "--val-fraction",
        "0.34",
        "--threads",
        "2",
        "--no-progress",
        "--augment",
        "none",
    ]
    assert main(args) == 0, capsys.readouterr().err
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["sampling_rate"] == 100.0
    assert card["window_length"] == 3000
    assert card["training"]["base"] == "phasenet"
    assert set(card["recommended"]) == {"P", "S"}
    assert len(card["training"]["val_stations"]) == 2
    report = tmp_path / "model" / "tiny_report"
    assert (report / "losses.png").stat().st_size > 0
    summary = json.loads((report / "report.json").read_text())
    assert summary["onnx_max_abs_diff"] <= 1e-4
    assert set(summary["metrics"]) == {"fine-tuned", "base", "base, best threshold"}
    assert len(summary["val_stations"]) == 2  # one event of three, two traces each
    ck = tmp_path / "model" / "tiny_checkpoints" / "last.pt"
    assert ck.is_file()
    assert (tmp_path / "model" / "tiny_windows.h5").is_file()
    # the model runs in the picker
    from seiscore.models import load_model

    assert load_model(str(out)).card.name == "tiny"
    # an exported PhaseNet runs in the native kernel, as ONNX Runtime does
    native, ort = load_model(str(out)), load_model(str(out), engine="onnxruntime")
    assert native.engine == "native", native.engine_note
    x = np.random.default_rng(1).standard_normal((2, 3, native.card.window_length))
    x = x.astype(np.float32)
    assert np.abs(native.run(x)[0] - ort.run(x)[0]).max() < 1e-5
    # resume to a second epoch, reusing the window store
    more = args[:6] + ["2"] + args[7:] + ["--resume", str(ck)]
    assert main(more) == 0
    summary = json.loads((report / "report.json").read_text())
    assert [h["epoch"] for h in summary["history"]] == [0, 1, 2]
