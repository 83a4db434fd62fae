"""Make gReLU 1.1.0 ISM goldens for tests/ism/test_grelu_parity.py (never imported by tests).

Run in the scratch gReLU venv (gReLU is never a grelu-cli dependency; see ../README.md)::

    /path/to/grelu-venv/bin/python tests/data/reference/ism/make_ism_reference.py

Checkpoint: ``../checkpoints/conv_poisson.ckpt`` (a gReLU ConvModel, 64 bp in, 3 tasks, 32
bins, exp activation). Two 64 bp sequences (seeded, ACGT only: gReLU indexes its reference
row by base and has no row for N) with positions 20..29 mutated. Each sequence goes through
``ISM_predict(seq, lm, prediction_transform=Aggregate(length_aggfunc="mean"),
start_pos=20, end_pos=30, compare_func=..., devices="cpu", num_workers=0, batch_size=7,
return_df=False)`` one at a time (with several sequences and a compare_func gReLU 1.1.0
broadcasts its reference row across the base axis: ``preds[:, [0], [ref_bases]]`` has shape
(B, 1, B, T, L), wrong unless B == 1). float32 matmuls held at "highest" (gReLU sets
"medium" inside ``predict_on_dataset``).

Writes ``ism.json`` (sequences, positions, cases) and ``ism.npz``: per sequence i,
``seq{i}/subtract`` and ``seq{i}/none``, each ISM_predict's array, shape (1, 10, 4, 3, 1).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
CKPT = HERE.parent / "checkpoints" / "conv_poisson.ckpt"
START, END, SEQ_LEN = 20, 30, 64


def sequences() -> list[str]:
    rng = np.random.RandomState(23)
    return ["".join(rng.choice(list("ACGT"), size=SEQ_LEN)) for _ in range(2)]


def main() -> None:
    from grelu.interpret.score import ISM_predict
    from grelu.lightning import LightningModel
    from grelu.transforms.prediction_transforms import Aggregate

    real_set = torch.set_float32_matmul_precision
    torch.set_float32_matmul_precision("highest")
    torch.set_float32_matmul_precision = lambda *_: None  # keep fp32 matmuls exact
    arrays: dict[str, np.ndarray] = {}
    try:
        lm = LightningModel.load_from_checkpoint(str(CKPT), weights_only=False)
        lm.eval()
        seqs = sequences()
        for i, seq in enumerate(seqs):
            for cf in ("subtract", None):
                preds = ISM_predict(
                    seq,
                    lm,
                    prediction_transform=Aggregate(length_aggfunc="mean"),
                    start_pos=START,
                    end_pos=END,
                    compare_func=cf,
                    devices="cpu",
                    num_workers=0,
                    batch_size=7,
                    return_df=False,
                )
                arrays[f"seq{i}/{cf or 'none'}"] = np.asarray(preds, dtype=np.float32)
    finally:
        torch.set_float32_matmul_precision = real_set
        torch.set_float32_matmul_precision("highest")
    meta = {
        "checkpoint": "../checkpoints/conv_poisson.ckpt",
        "sequences": seqs,
        "start_pos": START,
        "end_pos": END,
        "prediction_transform": "Aggregate(length_aggfunc='mean')",
        "compare_funcs": ["subtract", None],
        "grelu": "1.1.0",
        "torch": torch.__version__,
    }
    (HERE / "ism.json").write_text(json.dumps(meta, indent=1) + "\n")
    np.savez(HERE / "ism.npz", **arrays)


if __name__ == "__main__":
    main()
