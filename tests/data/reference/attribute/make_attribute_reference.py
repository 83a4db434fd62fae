"""Make gReLU 1.1.0 attribution goldens for tests/attribute/test_grelu_parity.py (never
imported by tests).

Run in the scratch gReLU venv (gReLU 1.1.0, captum 0.5.0, tangermeme 1.6.0; gReLU is never a
grelu-cli dependency; see ../README.md)::

    /path/to/grelu-venv/bin/python tests/data/reference/attribute/make_attribute_reference.py

Checkpoint: ``../checkpoints/conv_poisson.ckpt`` (a gReLU ConvModel, 64 bp in, 3 tasks, 32
bins, exp activation). Five 64 bp sequences (seeded, ACGT only), all passed to one
``get_attributions(lm, seqs, prediction_transform=Aggregate(tasks=..., length_aggfunc="mean",
task_aggfunc="mean"), device="cpu", method=...)`` call per case (gReLU loops over them one at
a time). Cases (``attribute.json`` lists them with their arguments):

* ``saliency``, ``saliency_correct`` (``correct_grad=True``), ``inputxgradient``,
  ``integratedgradients``: tasks 0 and 2, with the model's exp activation;
* ``saliency_task1``: task 1 alone (a ``--per-task`` column);
* ``deepshap``, ``deepshap_hypothetical``: tasks 0 and 2, ``n_shuffles=6, seed=7``, on the
  logits (``lm.activation`` set to identity: gReLU applies exp as a bare function, which
  DeepLIFT then treats as linear; grelu-cli gives it the rescale rule, so the two agree only
  without it).

float32 matmuls held at "highest" (CLI.md: gReLU sets "medium" inside predict_on_dataset).
Writes ``attribute.json`` and ``attribute.npz`` (one (5, 4, 64) float32 array per case).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
CKPT = HERE.parent / "checkpoints" / "conv_poisson.ckpt"
SEQ_LEN, N_SEQS = 64, 5

CASES: dict[str, dict] = {
    "saliency": {"method": "saliency", "tasks": [0, 2]},
    "saliency_correct": {"method": "saliency", "tasks": [0, 2], "correct_grad": True},
    "inputxgradient": {"method": "inputxgradient", "tasks": [0, 2]},
    "integratedgradients": {"method": "integratedgradients", "tasks": [0, 2]},
    "saliency_task1": {"method": "saliency", "tasks": [1]},
    "deepshap": {
        "method": "deepshap",
        "tasks": [0, 2],
        "n_shuffles": 6,
        "seed": 7,
        "logits": True,
    },
    "deepshap_hypothetical": {
        "method": "deepshap",
        "tasks": [0, 2],
        "n_shuffles": 6,
        "seed": 7,
        "hypothetical": True,
        "logits": True,
    },
}


def sequences() -> list[str]:
    rng = np.random.RandomState(29)
    return ["".join(rng.choice(list("ACGT"), size=SEQ_LEN)) for _ in range(N_SEQS)]


def main() -> None:
    from grelu.interpret.score import get_attributions
    from grelu.lightning import LightningModel
    from grelu.transforms.prediction_transforms import Aggregate

    torch.set_float32_matmul_precision("highest")
    seqs = sequences()
    arrays: dict[str, np.ndarray] = {}
    for name, case in CASES.items():
        lm = LightningModel.load_from_checkpoint(str(CKPT), weights_only=False)
        lm.eval()
        if case.get("logits"):
            lm.activation = torch.nn.Identity()
        args = {k: v for k, v in case.items() if k not in ("tasks", "logits")}
        out = get_attributions(
            lm,
            seqs,
            prediction_transform=Aggregate(
                tasks=case["tasks"], length_aggfunc="mean", task_aggfunc="mean"
            ),
            device="cpu",
            **args,
        )
        arrays[name] = np.asarray(out, dtype=np.float32)
    meta = {
        "checkpoint": "../checkpoints/conv_poisson.ckpt",
        "sequences": seqs,
        "cases": CASES,
        "prediction_transform": "Aggregate(tasks, length_aggfunc='mean', task_aggfunc='mean')",
        "grelu": "1.1.0",
        "torch": torch.__version__,
    }
    (HERE / "attribute.json").write_text(json.dumps(meta, indent=1) + "\n")
    np.savez(HERE / "attribute.npz", **arrays)


if __name__ == "__main__":
    main()
