"""A few training steps on tiny synthetic data: the loss decreases, a resumed run continues, and
the exported ONNX file equals the torch model."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

from seiscore.models import MODELS_DIR, load_model  # noqa: E402
from seiscore.training.augment import AugmentConfig  # noqa: E402
from seiscore.training.export import export_phasenet, fine_tuned_card  # noqa: E402
from seiscore.training.phasenet import phasenet_from_onnx  # noqa: E402
from seiscore.training.store import Segment, WindowStore, WindowStoreWriter  # noqa: E402
from seiscore.training.train import TrainConfig, _loss, fit, make_batch  # noqa: E402

from .helpers import WINDOW, synthetic_trace  # noqa: E402

BASE = MODELS_DIR / "phasenet" / "phasenet.onnx"


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    rng = np.random.default_rng(5)
    path = tmp_path_factory.mktemp("train") / "windows.h5"
    with WindowStoreWriter(
        path, sampling_rate=100.0, channel_order="ENZ", segment_length=2 * WINDOW
    ) as w:
        for i in range(6):
            p = WINDOW + int(rng.integers(-200, 200))
            s = p + int(rng.integers(200, 500))
            x = synthetic_trace(rng, 2 * WINDOW, p, s)
            picks = {"P": [p], "S": [s], "P_ignore": [], "S_ignore": []}
            w.append(Segment(x, (0, 2 * WINDOW), float(p), picks, f"ev{i // 2}", f"XX.S{i}."))
    ws = WindowStore(path)
    yield ws
    ws.close()


def test_a_few_steps_lower_the_loss(store):
    torch.set_num_threads(2)
    torch.manual_seed(0)
    net = phasenet_from_onnx(BASE)
    config = TrainConfig(lr=1e-3, augment=AugmentConfig.none())
    batch = make_batch(store, [0, 1, 2, 3], WINDOW, config, np.random.default_rng(1), train=False)
    x, y, w = (torch.from_numpy(a) for a in (batch.x, batch.y, batch.w))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    losses = []
    for _ in range(4):
        opt.zero_grad()
        loss = _loss(net, x, y, w)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    with torch.no_grad():
        after = _loss(net, x, y, w).item()
    assert after < 0.9 * losses[0], losses + [after]


def test_fit_resume_and_export_equal_torch(store, tmp_path):
    torch.set_num_threads(2)
    config = TrainConfig(epochs=1, batch_size=2, steps_per_epoch=2, lr=1e-3, threads=2)
    net = phasenet_from_onnx(BASE)
    first = fit(
        net, store, [0, 1, 2, 3], [4, 5], config, checkpoint_dir=tmp_path / "ck", progress=False
    )
    assert [h["epoch"] for h in first.history] == [0, 1]
    assert (tmp_path / "ck" / "last.pt").is_file()

    config.epochs = 2
    net2 = phasenet_from_onnx(BASE)
    second = fit(
        net2,
        store,
        [0, 1, 2, 3],
        [4, 5],
        config,
        checkpoint_dir=tmp_path / "ck",
        resume=tmp_path / "ck" / "last.pt",
        progress=False,
    )
    assert [h["epoch"] for h in second.history] == [0, 1, 2]
    assert second.history[1] == first.history[1]

    net2.load_state_dict(second.best_state)
    base_card = json.loads(BASE.with_suffix(".json").read_text())
    card = fine_tuned_card(
        base_card,
        name="tiny",
        sampling_rate=100.0,
        thresholds={"P": 0.4, "S": 0.35},
        provenance="test",
        note="test",
        training={"base": "phasenet"},
    )
    out = export_phasenet(net2, BASE, tmp_path / "tiny.onnx", card, second.validation.x)
    assert out.windows_checked == len(second.validation.x) > 0
    assert out.max_abs_diff <= 1e-4
    model = load_model(str(out.onnx))
    assert model.card.name == "tiny"
    assert model.card.threshold("P", "height", 0.3) == 0.4
    again = phasenet_from_onnx(out.onnx).state_dict()
    for key, value in net2.state_dict().items():
        assert torch.equal(again[key], value), key
