"""Run gReLU 1.1.0's ``predict_variant_effects`` on a checkpoint and a VCF; report timings.

Run with the Python of a virtualenv that has ``grelu==1.1.0`` (``--grelu-python`` of
``bench_variants.py``); this project is not imported here. gReLU has no VCF reader: the
records (SNVs, one ALT each) are read with pandas, as a gReLU user would. Prints one JSON line:
``load_s`` (checkpoint), ``read_s`` (VCF -> DataFrame), ``predict_s``
(``predict_variant_effects``: dataset + prediction + compare), ``n``, ``shape``, ``threads``.
With ``--save``, the ``subtract`` effects (N, T) from a second, untimed pass in true fp32
(matmul precision held at "highest") go to a .npy for the agreement check.

    python grelu_variant_runner.py --ckpt model.ckpt --vcf snvs.vcf --genome genome.fa \
        --seq-len 2048 [--batch-size 256] [--num-workers 1] [--save effects.npy]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
import warnings


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--vcf", required=True)
    ap.add_argument("--genome", required=True)
    ap.add_argument("--seq-len", type=int, required=True)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--num-workers", type=int, default=1)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--save", default=None)
    args = ap.parse_args()

    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    # Lightning writes lightning_logs/ into the working directory: keep it next to the VCF.
    os.chdir(os.path.dirname(os.path.abspath(args.vcf)))
    import numpy as np
    import pandas as pd
    import torch
    from grelu.lightning import LightningModel
    from grelu.variant import predict_variant_effects

    if args.threads:
        torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    model = LightningModel.load_from_checkpoint(args.ckpt, map_location="cpu")
    model.eval()
    t1 = time.perf_counter()
    cols = ["chrom", "pos", "id", "ref", "alt", "qual", "filter", "info"]
    df = pd.read_csv(args.vcf, sep="\t", comment="#", header=None, names=cols)
    df = df[["chrom", "pos", "ref", "alt"]]
    t2 = time.perf_counter()

    def run() -> np.ndarray:
        out = predict_variant_effects(
            df,
            model,
            devices="cpu",
            seq_len=args.seq_len,
            batch_size=args.batch_size,
            num_workers=args.num_workers,
            genome=args.genome,
            compare_func="subtract",
            return_ad=False,
        )
        return np.asarray(out, dtype=np.float32)

    effects = run()
    t3 = time.perf_counter()
    matmul_precision = torch.get_float32_matmul_precision()
    if args.save:
        set_precision = torch.set_float32_matmul_precision
        torch.set_float32_matmul_precision("highest")
        torch.set_float32_matmul_precision = lambda *_a, **_k: None
        try:
            effects = run()
        finally:
            torch.set_float32_matmul_precision = set_precision
        np.save(args.save, effects.reshape(effects.shape[0], -1))
    print(
        json.dumps(
            {
                "load_s": t1 - t0,
                "read_s": t2 - t1,
                "predict_s": t3 - t2,
                "n": len(df),
                "shape": list(effects.shape),
                "threads": torch.get_num_threads(),
                "matmul_precision": matmul_precision,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
