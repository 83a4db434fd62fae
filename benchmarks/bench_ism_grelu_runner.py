"""Run gReLU 1.1.0's ``ISM_predict`` over checkpoints and sequences; report timings.

Run with the Python of a virtualenv that has ``grelu==1.1.0`` (``--grelu-python`` of
``bench_ism_grelu.py``); this project is not imported here. Input: a JSON job file
(``cases``: name -> checkpoint, sequences, start/end positions; ``batch_size``,
``num_workers``, ``threads``). Per case, ISM_predict runs once per sequence, as a user gets
correct deltas from gReLU 1.1.0: with several sequences in one call and a compare_func it
broadcasts the reference row of each sequence across the others (``preds[:, [0], [ref]]`` is
(B, 1, B, T, L)), wrong unless one sequence is passed. Arguments as a user runs it:
``prediction_transform=Aggregate(length_aggfunc="mean")``, ``compare_func="subtract"``,
``devices="cpu"``, ``return_df=False``.

With ``--save DIR``, an untimed first pass in true fp32 (matmul precision held at "highest";
gReLU sets "medium" inside ``predict_on_dataset``) writes each case's deltas to
``DIR/<case>.npy``, (n_seqs, P, 4, T); it also serves as the warm-up. Without it, one
position of the first sequence warms up. Prints one JSON line per case:
``{"case", "ism_s", "n_seqs", "positions", "predicted", "threads", "matmul_precision"}``, or
``{"case", "error"}`` when gReLU cannot load the checkpoint (1.1.0 cannot build an
ExplaiNNModel: its ExplaiNNTrunk never calls ``nn.Module.__init__``).

    python bench_ism_grelu_runner.py job.json [--save DIR]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
import warnings
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("job")
    ap.add_argument("--save", default=None)
    args = ap.parse_args()
    job = json.loads(Path(args.job).read_text())

    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    os.chdir(os.path.dirname(os.path.abspath(args.job)))  # lightning_logs/ lands here
    import numpy as np
    import torch
    from grelu.interpret.score import ISM_predict
    from grelu.lightning import LightningModel
    from grelu.transforms.prediction_transforms import Aggregate

    torch.set_num_threads(int(job["threads"]))

    def ism(model, seq: str, start: int, end: int) -> np.ndarray:
        out = ISM_predict(
            seq,
            model,
            prediction_transform=Aggregate(length_aggfunc="mean"),
            start_pos=start,
            end_pos=end,
            compare_func="subtract",
            devices="cpu",
            num_workers=int(job["num_workers"]),
            batch_size=int(job["batch_size"]),
            return_df=False,
        )
        return np.asarray(out, dtype=np.float32)  # (1, P, 4, T, 1)

    for name, case in job["cases"].items():
        try:
            model = LightningModel.load_from_checkpoint(case["ckpt"], map_location="cpu")
        except Exception as err:  # a model gReLU cannot build: say so, go on with the others
            print(json.dumps({"case": name, "error": f"{type(err).__name__}: {err}"}), flush=True)
            continue
        model.eval()
        seqs, start, end = case["sequences"], int(case["start"]), int(case["end"])
        if args.save:
            set_precision = torch.set_float32_matmul_precision
            torch.set_float32_matmul_precision("highest")
            torch.set_float32_matmul_precision = lambda *_a, **_k: None
            try:
                exact = np.stack([ism(model, s, start, end)[0, ..., 0] for s in seqs])
            finally:
                torch.set_float32_matmul_precision = set_precision
            np.save(Path(args.save) / f"{name}.npy", exact)
        else:
            ism(model, seqs[0], start, start + 1)
        t0 = time.perf_counter()
        for seq in seqs:
            ism(model, seq, start, end)
        elapsed = time.perf_counter() - t0
        print(
            json.dumps(
                {
                    "case": name,
                    "ism_s": elapsed,
                    "n_seqs": len(seqs),
                    "positions": end - start,
                    "predicted": len(seqs) * (end - start) * 4,
                    "threads": torch.get_num_threads(),
                    "matmul_precision": torch.get_float32_matmul_precision(),
                }
            ),
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
