"""Run gReLU 1.1.0's ``get_attributions`` on a checkpoint and sequences; report timings.

Run with the Python of a virtualenv that has ``grelu==1.1.0`` (``--grelu-python`` of
``bench_attribute.py``); this project is not imported here. Sequences come one per line in a
text file (the windows ``grelu attribute`` attributes). Prints one JSON line: ``load_s``,
``attr_s`` (``get_attributions`` alone), ``n``, ``threads``. With ``--save``, the maps
(N, 4, L) go to a .npy for the agreement check. float32 matmuls held at "highest" (CLI.md).

    python grelu_attribute_runner.py --ckpt model.ckpt --seqs seqs.txt --method saliency \
        [--shuffles 20] [--seed 0] [--threads 2] [--save maps.npy]
"""

from __future__ import annotations

import argparse
import json
import logging
import time
import warnings


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--seqs", required=True)
    ap.add_argument("--method", required=True)
    ap.add_argument("--shuffles", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--save", default=None)
    args = ap.parse_args()

    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    import numpy as np
    import torch
    from grelu.interpret.score import get_attributions
    from grelu.lightning import LightningModel
    from grelu.transforms.prediction_transforms import Aggregate

    torch.set_float32_matmul_precision("highest")
    if args.threads:
        torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    lm = LightningModel.load_from_checkpoint(args.ckpt, weights_only=False)
    lm.eval()
    load_s = time.perf_counter() - t0
    with open(args.seqs) as fh:
        seqs = [line.strip() for line in fh if line.strip()]
    method = "deepshap" if args.method == "deepliftshap" else args.method
    extra = {"n_shuffles": args.shuffles, "seed": args.seed} if method == "deepshap" else {}
    t1 = time.perf_counter()
    maps = get_attributions(
        lm,
        seqs,
        prediction_transform=Aggregate(length_aggfunc="mean", task_aggfunc="mean"),
        device="cpu",
        method=method,
        **extra,
    )
    attr_s = time.perf_counter() - t1
    if args.save:
        np.save(args.save, np.asarray(maps, dtype=np.float32))
    out = {"load_s": load_s, "attr_s": attr_s, "n": len(seqs), "threads": torch.get_num_threads()}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
