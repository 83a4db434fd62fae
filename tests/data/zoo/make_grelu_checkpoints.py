"""Make the gReLU-written checkpoints in this folder (run once, in a scratch virtualenv).

Needs grelu==1.1.0 (never a dependency of grelu-cli)::

    /work/scratch/ref-venv/bin/python tests/data/zoo/make_grelu_checkpoints.py

Each model is trained for one epoch on random sequences by gReLU's own
``LightningModel.train_on_dataset`` and saved by Lightning's ``Trainer.save_checkpoint``, so the
files are exactly what gReLU users produce: numpy arrays under ``performance``, task metadata
under ``data_params.tasks``, ``data_params.train.seq_len``, and (for the binary model with
``pos_weight``) a ``loss.pos_weight`` buffer in the state_dict. ``expected.pt`` holds, per
checkpoint, one-hot inputs ``x`` (N, 4, L) and gReLU's ``LightningModel.forward(x)`` (activation
applied) in float32 with matmul precision "highest".
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import grelu.lightning
import grelu.sequence.utils
import numpy as np
import pandas as pd
import torch
from grelu.data.dataset import LabeledSeqDataset

HERE = Path(__file__).resolve().parent
SEQ_LEN = 120

CASES = {
    "grelu_conv_poisson.ckpt": dict(
        model_params={
            "model_type": "ConvModel",
            "n_tasks": 3,
            "stem_channels": 8,
            "channel_init": 8,
            "n_conv": 1,
            "final_pool_func": "avg",
        },
        train_params={"task": "regression", "loss": "poisson"},
        tasks={"name": ["t0", "t1", "t2"], "cell": ["K562", "HepG2", "GM12878"]},
    ),
    "grelu_dilated_binary.ckpt": dict(
        model_params={
            "model_type": "DilatedConvModel",
            "n_tasks": 2,
            "channels": 8,
            "n_conv": 2,
            "crop_len": 0,
            "final_pool_func": "max",
        },
        train_params={"task": "binary", "loss": "bce", "pos_weight": [2.0, 0.5]},
        tasks={"name": ["open", "closed"]},
    ),
    "grelu_gru_multiclass.ckpt": dict(
        model_params={
            "model_type": "ConvGRUModel",
            "n_tasks": 3,
            "stem_channels": 8,
            "channel_init": 8,
            "n_conv": 1,
            "n_gru": 1,
            "final_pool_func": "avg",
        },
        train_params={"task": "multiclass"},
        tasks={"name": ["promoter", "enhancer", "other"]},
    ),
}


def main() -> None:
    torch.manual_seed(0)
    expected = {}
    seqs = grelu.sequence.utils.generate_random_sequences(
        n=16, seq_len=SEQ_LEN, seed=0, output_format="strings"
    )
    for fname, case in CASES.items():
        n = case["model_params"]["n_tasks"]
        rng = np.random.RandomState(0)
        if case["train_params"]["task"] == "regression":
            labels = rng.rand(16, n, 1).astype(np.float32)
        elif case["train_params"]["task"] == "binary":
            labels = (rng.rand(16, n, 1) > 0.5).astype(np.float32)
        else:
            labels = np.eye(n, dtype=np.float32)[rng.randint(0, n, 16)][:, :, None]
        tasks = pd.DataFrame(case["tasks"]).set_index("name")
        with tempfile.TemporaryDirectory() as tmp:
            train = LabeledSeqDataset(seqs, labels, tasks=tasks)
            val = LabeledSeqDataset(seqs, labels, tasks=tasks)
            params = {
                "max_epochs": 1,
                "batch_size": 8,
                "num_workers": 0,
                "logger": None,
                "save_dir": tmp,
                "lr": 1e-2,
                **case["train_params"],
            }
            model = grelu.lightning.LightningModel(dict(case["model_params"]), params)
            trainer = model.train_on_dataset(train, val)
            trainer.save_checkpoint(str(HERE / fname))
        torch.set_float32_matmul_precision("highest")
        model.eval()
        x = torch.nn.functional.one_hot(torch.randint(0, 4, (3, SEQ_LEN)), 4)
        x = x.permute(0, 2, 1).float()
        with torch.no_grad():
            y = model(x)
        expected[fname] = {"x": x, "y": y.float()}
    torch.save(expected, HERE / "expected.pt")


if __name__ == "__main__":
    main()
