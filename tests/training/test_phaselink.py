"""PhaseLink linkers in torch: a tiny linker trains (the loss falls), resumes from its
checkpoint, exports to ONNX equal to torch (<= 1e-4) on its validation sequences, and runs in
associate_phaselink; the train-associator command end to end."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

from seiscore import synthetic  # noqa: E402
from seiscore.association import (  # noqa: E402
    Linker,
    associate_phaselink,
    generator_settings,
    linker_card,
    linker_network,
    read_linker_card,
    synthetic_sequences,
)
from seiscore.containers import TravelTimeTable  # noqa: E402
from seiscore.training.phaselink import (  # noqa: E402
    LinkerTrainConfig,
    build_linker,
    export_linker,
    fit_linker,
    link_probabilities,
)

VP, VS = 6.3, 3.7


def homogeneous_table():
    dist = np.arange(0.0, 201.0)
    dep = np.arange(0.0, 31.0)
    r = np.hypot(*np.meshgrid(dist, dep))
    return TravelTimeTable(("P", "S"), dist, dep, np.stack([r / VP, r / VS]).astype(np.float32),
                           {"P": VP, "S": VS}, "homogeneous")  # fmt: skip


@pytest.fixture(scope="module")
def setup():
    torch.set_num_threads(2)
    stations = synthetic.network(10, xlim=(-30.0, 30.0), ylim=(-30.0, 30.0), seed=2)
    net = linker_network(stations, homogeneous_table(), xlim=(-35, 35), ylim=(-35, 35),
                         zlim=(0, 15), max_picks=32)  # fmt: skip
    gen = generator_settings(net, rate_max=0.05)

    def sample(n, first):
        return synthetic_sequences(net, n, seed=1, first=first, settings=gen, workers=1)

    return stations, net, gen, sample


TINY = {"d": 16, "heads": 2, "layers": 1, "ffn": 32}


def _config(**kw):
    base = dict(steps=60, batch_size=16, lr=3e-3, warmup_steps=5, val_sequences=128,
                eval_every=30, checkpoint_every=30, threads=2)  # fmt: skip
    return LinkerTrainConfig(**(base | kw))


def test_tiny_linker_learns_and_onnx_equals_torch(tmp_path, setup):
    stations, net, gen, sample = setup
    torch.manual_seed(0)
    linker = build_linker("transformer", **TINY)
    result = fit_linker(linker, sample, _config(), checkpoint_dir=tmp_path / "ck", progress=False)
    losses = [h["val_loss"] for h in result.history]
    assert [h["step"] for h in result.history] == [0, 30, 60]
    assert losses[-1] < losses[0]  # the validation loss falls
    assert result.steps_done == 60
    assert (tmp_path / "ck" / "last.pt").is_file()
    linker.load_state_dict(result.best_state)
    x_val, y_val = result.validation
    card = linker_card(net, name="tiny", generator=gen, model=linker.settings,
                       training={"steps": 60})  # fmt: skip
    out = export_linker(linker, tmp_path / "tiny.onnx", card, x_val)
    assert out.max_abs_diff <= 1e-4
    assert out.sequences_checked == len(x_val)
    # run through seiscore's own loader: the same probabilities as torch, padding zero
    onnx_linker = Linker.load(out.onnx)
    ours = link_probabilities(linker, x_val)
    theirs = onnx_linker(x_val)
    assert np.abs(ours - theirs).max() <= 1e-4
    assert not theirs[x_val[..., 4] == 0].any()
    assert read_linker_card(out.onnx)["training"]["onnx_max_abs_diff"] == out.max_abs_diff
    # and it associates (a handful of events; the tiny linker is not expected to be good)
    cat = synthetic.catalogue(stations=stations, n_events=5, duration_s=600.0, xlim=(-30, 30),
                              ylim=(-30, 30), zlim=(0, 15), seed=4, radius_b_km=200.0)  # fmt: skip
    res = associate_phaselink(cat.picks, stations, homogeneous_table(), onnx_linker,
                              tolerance_s=0.5, min_picks=6, workers=2)  # fmt: skip
    assert res.stats["n_picks"] == len(cat.picks)


def test_resume_continues_the_run(tmp_path, setup):
    _, _, _, sample = setup
    torch.manual_seed(0)
    a = build_linker("transformer", **TINY)
    fit_linker(a, sample, _config(steps=30), checkpoint_dir=tmp_path, progress=False,
               context={"data": 1})  # fmt: skip
    b = build_linker("transformer", **TINY)
    res = fit_linker(b, sample, _config(steps=60), checkpoint_dir=tmp_path, progress=False,
                     resume=tmp_path / "last.pt", context={"data": 1})  # fmt: skip
    assert res.steps_done == 60
    assert [h["step"] for h in res.history] == [0, 30, 60]
    with pytest.raises(ValueError, match="other settings"):
        fit_linker(build_linker("transformer", **TINY), sample, _config(steps=90),
                   resume=tmp_path / "last.pt", context={"data": 2}, progress=False)  # fmt: skip
    with pytest.raises(ValueError, match="network"):
        fit_linker(build_linker("transformer", d=32, heads=2, layers=1, ffn=32), sample,
                   _config(steps=90), resume=tmp_path / "last.pt", context={"data": 1},
                   progress=False)  # fmt: skip


def test_time_budget_stops_and_keeps_the_best(setup):
    _, _, _, sample = setup
    res = fit_linker(build_linker("transformer", **TINY), sample,
                     _config(steps=10**6, max_minutes=0.05), progress=False)  # fmt: skip
    assert res.stopped_early
    assert 0 < res.steps_done < 10**6
    assert res.notes
    assert res.history[-1]["step"] == res.steps_done


def test_gru_linker_exports_exactly(tmp_path, setup):
    _, net, gen, sample = setup
    torch.manual_seed(0)
    gru = build_linker("gru", hidden=8, layers=2, width=8, n_mlp=1)
    res = fit_linker(gru, sample, _config(steps=4, eval_every=4, val_sequences=64),
                     progress=False)  # fmt: skip
    card = linker_card(net, name="gru", generator=gen, model=gru.settings, training={})
    out = export_linker(gru, tmp_path / "gru.onnx", card, res.validation[0])
    assert out.max_abs_diff <= 1e-4
    with pytest.raises(ValueError, match="architecture"):
        build_linker("lstm")


def test_train_associator_command(tmp_path, setup):
    from seiscore.cli import main

    stations = setup[0]
    sta = tmp_path / "stations.csv"
    rows = ["network,station,location,latitude,longitude,elevation"]
    rows += [
        f"{n},{s},,{la:.5f},{lo:.5f},{e:.1f}"
        for n, s, la, lo, e in zip(stations.network, stations.station, stations.latitude,
                                   stations.longitude, stations.elevation_m, strict=True)
    ]  # fmt: skip
    sta.write_text("\n".join(rows) + "\n")
    out = tmp_path / "linker.onnx"
    argv = ["train-associator", "--stations", str(sta), "--vp", str(VP), "--vs", str(VS),
            "--zlim", "0", "15", "--max-picks", "32", "--steps", "8", "--batch-size", "8",
            "--val-sequences", "32", "--generator", "rate_max=0.05", "--threads", "2",
            "--no-progress", "-o", str(out)]  # fmt: skip
    assert main(argv) == 0
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["kind"] == "phaselink"
    assert card["training"]["steps"] == 8
    assert card["generator"]["rate_max"] == 0.05
    assert card["training"]["onnx_max_abs_diff"] <= 1e-4
    assert (tmp_path / "linker_checkpoints" / "last.pt").is_file()
    # resumed with more steps: continues from step 8
    argv12 = [("12" if a == "8" and argv[i - 1] == "--steps" else a) for i, a in enumerate(argv)]
    assert main([*argv12, "--resume"]) == 0
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["training"]["steps"] == 12
    assert card["training"]["history"][1]["step"] == 8
    # a checkpoint of other settings is refused; so is a missing model file
    assert main([*argv12, "--seed", "3", "--resume"]) == 2
    assert main([*argv[:3], "--model", str(tmp_path / "missing.nd"), *argv[7:]]) == 2
