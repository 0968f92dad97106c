#!/usr/bin/env python
"""Make the INT8 variant of the bundled PhaseNet (``phasenet_int8``): static quantisation with
ONNX Runtime, calibrated on real windows.

    python tools/quantize_phasenet.py \\
        --reference ../shared/data/phasenet/phasenet_tf_reference.npz \\
        --out python/seiscore/data/models/phasenet_int8/

Input: the float32 model ``python/seiscore/data/models/phasenet/phasenet.onnx`` (made by
``tools/convert_phasenet.py``). Calibration: the 154 real 30-s windows of
``phasenet_tf_reference.npz``, normalised as seiscore normalises a window (per window and
channel: minus the mean, divided by the standard deviation), 14 windows per calibration batch.
Method: ``onnxruntime.quantization.quantize_static``, QDQ format, weights int8 per output
channel, activations uint8 per tensor with ranges from the 0.001th-99.999th percentiles
(measured here to keep picks closer to float32's than min/max or entropy ranges); the softmax
at the end stays float32. Writes ``phasenet_int8.onnx``, its card ``phasenet_int8.json``
(``precision: "int8"``, ``variant_of: "phasenet"``) and the MIT ``LICENSE`` of the weights.

Needs the ``onnx`` package besides onnxruntime (the ``convert`` extra). How close the variant
comes to float32 is measured in ``bench/RESULTS.md`` (issue 17) and held by
``tests/picking/test_fast_mode.py``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
FLOAT_DIR = REPO / "python" / "seiscore" / "data" / "models" / "phasenet"
CALIBRATION_BATCH = 14  # 154 = 11 x 14: the histogram calibrators need equal batches
NOTE = (
    "INT8 variant of phasenet (static quantisation, calibrated on the 154 reference windows; "
    "tools/quantize_phasenet.py). Faster on CPUs with int8 dot products, but its probabilities "
    "differ from float32's by up to ~0.5 and about a quarter of its picks move by more than one "
    "sample: it does not meet seiscore's bar for a fast mode (99% of picks within one sample); "
    "see bench/RESULTS.md, issue 17. Use the float32 model for catalogues."
)


def calibration_windows(reference: Path) -> np.ndarray:
    """The reference windows as the network sees them: [n, 3, 3000] float32, std-normalised."""
    wave = np.load(reference)["waveform"].astype(np.float64)  # [n, 3000, 3] E, N, Z
    wave -= wave.mean(axis=1, keepdims=True)
    std = wave.std(axis=1, keepdims=True)
    std[std == 0] = 1.0
    return np.ascontiguousarray((wave / std).astype(np.float32).transpose(0, 2, 1))


def quantize(src: Path, dst: Path, windows: np.ndarray, input_name: str) -> None:
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    class Windows(CalibrationDataReader):
        def __init__(self):
            batches = range(0, len(windows), CALIBRATION_BATCH)
            self._it = iter([{input_name: windows[b : b + CALIBRATION_BATCH]} for b in batches])

        def get_next(self):
            return next(self._it, None)

    softmax = [n.name for n in onnx.load(str(src)).graph.node if n.name.startswith("output/")]
    softmax = [name for name in softmax if name != "output/Conv"]
    quantize_static(
        str(src),
        str(dst),
        Windows(),
        quant_format=QuantFormat.QDQ,
        per_channel=True,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        calibrate_method=CalibrationMethod.Percentile,
        nodes_to_exclude=softmax,
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reference", required=True, type=Path, help="phasenet_tf_reference.npz")
    ap.add_argument("--out", required=True, type=Path, help="output folder")
    ap.add_argument("--model", type=Path, default=FLOAT_DIR / "phasenet.onnx")
    args = ap.parse_args(argv)

    card = json.loads(args.model.with_suffix(".json").read_text())
    args.out.mkdir(parents=True, exist_ok=True)
    onnx_path = args.out / "phasenet_int8.onnx"
    quantize(args.model, onnx_path, calibration_windows(args.reference), card["input_name"])
    card.update(
        name="phasenet_int8",
        precision="int8",
        variant_of="phasenet",
        note=NOTE,
        provenance=card["provenance"] + " Quantised to INT8 by tools/quantize_phasenet.py.",
    )
    (args.out / "phasenet_int8.json").write_text(json.dumps(card, indent=2) + "\n")
    shutil.copyfile(args.model.parent / "LICENSE", args.out / "LICENSE")
    print(f"wrote {onnx_path} ({onnx_path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
