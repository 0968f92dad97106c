#!/usr/bin/env python
"""Convert the SeisT checkpoints (PyTorch state dicts) to ONNX models with their cards.

Neither PyTorch nor the original code is needed: :mod:`seiscore.models.pth` reads the ``.pth``
files, :mod:`seiscore.models.seist` writes the network with ``onnx.helper`` (``pip install
".[convert]"``). Usage::

    python tools/convert_seist.py --weights ../shared/data/seist/pretrained \
        [--out python/seiscore/data/models] [--sizes dpk=m,pmp=m,emg=m,baz=m,dis=m] \
        [--reference ../shared/data/seist/seist_reference.npz] [--all /tmp/seist_all]

Writes the bundled models, one size per task, each into ``<out>/<name>/``: ``<name>.onnx``,
``<name>.json`` (the model card) and the MIT ``LICENSE`` (from beside the weights folder):

====================  =============================  =========================================
name                  checkpoint                     output
====================  =============================  =========================================
seist                 seist_<size>_dpk_diting        detection, P, S probability traces
seist_polarity        seist_<size>_pmp_diting        P first-motion polarity (up, down)
seist_magnitude       seist_<size>_emg_diting        single-station magnitude (Mdl, ~ML)
seist_magnitude_pnw   seist_<size>_emg_pnw           the same, trained on PNW
seist_baz             seist_<size>_baz_diting        back-azimuth, degrees
seist_distance        seist_<size>_dis_diting        epicentral distance, km
====================  =============================  =========================================

``--reference``: run each converted model on ``seist_reference.npz`` (the original code's
outputs on 18 windows) and print the largest absolute difference; ``--all DIR``: also write
every checkpoint in the weights folder, named as the checkpoint (for benchmarks).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from pathlib import Path

import numpy as np

from seiscore.models.pth import read_state_dict
from seiscore.models.seist import build_seist, parse_checkpoint_name, seist_card

REPO = Path(__file__).resolve().parents[1]
# bundled name → (task, training set)
BUNDLE = {
    "seist": ("dpk", "diting"),
    "seist_polarity": ("pmp", "diting"),
    "seist_magnitude": ("emg", "diting"),
    "seist_magnitude_pnw": ("emg", "pnw"),
    "seist_baz": ("baz", "diting"),
    "seist_distance": ("dis", "diting"),
}
# The sizes shipped (see bench/RESULTS.md, "SeisT: which size ships").
DEFAULT_SIZES = {"dpk": "m", "pmp": "m", "emg": "m", "baz": "m", "dis": "m"}


def convert(checkpoint: Path, out_dir: Path, name: str, licence: Path | None) -> Path:
    """Write ``out_dir/name/{name}.onnx, {name}.json, LICENSE``; returns the ONNX path."""
    import onnx

    spec = parse_checkpoint_name(checkpoint.name)
    model = build_seist(read_state_dict(checkpoint), spec, doc=f"SeisT {spec.name} (MIT)")
    folder = out_dir / name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.onnx"
    onnx.save_model(model, str(path))
    digest = hashlib.sha256(checkpoint.read_bytes()).hexdigest()
    card = seist_card(spec, name, digest)
    (folder / f"{name}.json").write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    if licence is not None and licence.is_file():
        shutil.copyfile(licence, folder / "LICENSE")
    else:
        print(f"warning: no LICENSE found for {name}; copy SeisT's MIT LICENSE by hand")
    return path


def max_difference(onnx_path: Path, checkpoint_name: str, reference: Path) -> float:
    """Largest absolute difference from the original code's output on the reference windows."""
    import onnxruntime as ort

    ref = np.load(reference)
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    out = session.run(None, {name: ref["waveform"]})[0]
    expected = ref[f"{checkpoint_name}__out0"]
    return float(np.abs(out.astype(np.float64) - expected).max())


def _sizes(text: str | None) -> dict[str, str]:
    sizes = dict(DEFAULT_SIZES)
    for item in (text or "").split(","):
        if item.strip():
            task, _, size = item.partition("=")
            if task.strip() not in sizes or size.strip() not in ("s", "m", "l"):
                raise SystemExit(f"--sizes: expected task=s|m|l with a task of {list(sizes)}")
            sizes[task.strip()] = size.strip()
    return sizes


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--weights", required=True, type=Path, help="folder of seist_*.pth files")
    ap.add_argument("--out", type=Path, default=REPO / "python" / "seiscore" / "data" / "models")
    ap.add_argument("--sizes", help="task=size,... (default: " + str(DEFAULT_SIZES) + ")")
    ap.add_argument("--reference", type=Path, help="seist_reference.npz to check against")
    ap.add_argument("--all", type=Path, metavar="DIR", help="also convert every checkpoint")
    args = ap.parse_args(argv)
    sizes = _sizes(args.sizes)
    licence = args.weights.parent / "LICENSE"
    jobs = [
        (args.weights / f"seist_{sizes[task]}_{task}_{dataset}.pth", args.out, name)
        for name, (task, dataset) in BUNDLE.items()
    ]
    if args.all is not None:
        jobs += [(p, args.all, p.stem) for p in sorted(args.weights.glob("seist_*.pth"))]
    for checkpoint, out_dir, name in jobs:
        if not checkpoint.is_file():
            print(f"error: {checkpoint} not found", file=sys.stderr)
            return 2
        path = convert(checkpoint, out_dir, name, licence)
        line = f"{checkpoint.name} -> {path} ({path.stat().st_size} bytes)"
        if args.reference is not None:
            line += f"; max abs diff {max_difference(path, checkpoint.stem, args.reference):.2e}"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
