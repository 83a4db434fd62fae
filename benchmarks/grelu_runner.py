"""Run gReLU 1.1.0's ``predict_on_dataset`` on a checkpoint and a BED file; report timings.

Run with the Python of a virtualenv that has ``grelu==1.1.0`` installed (``--grelu-python`` of
``bench_predict.py``); this project is not imported here. Prints one JSON line on stdout:
``load_s`` (checkpoint), ``dataset_s`` (SeqDataset: read and encode every region),
``predict_s`` (predict_on_dataset), ``n``, ``shape``, ``threads``. With ``--save``, the
predictions (N, T, L) are written as a .npy for the agreement check, from a second, untimed
pass with float32 matmul precision held at "highest" (see the note in ``main``).

    python grelu_runner.py --ckpt model.ckpt --bed regions.bed --genome genome.fa \
        --seq-len 2048 [--batch-size 256] [--num-workers 1] [--save preds.npy]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import warnings


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--bed", required=True)
    ap.add_argument("--genome", required=True)
    ap.add_argument("--seq-len", type=int, required=True)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--num-workers", type=int, default=1)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--save", default=None)
    args = ap.parse_args()

    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    import numpy as np
    import pandas as pd
    import torch
    from grelu.data.dataset import SeqDataset
    from grelu.lightning import LightningModel

    if args.threads:
        torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    model = LightningModel.load_from_checkpoint(args.ckpt, map_location="cpu")
    model.eval()
    t1 = time.perf_counter()
    cols = ["chrom", "start", "end", "name", "score", "strand"]
    df = pd.read_csv(args.bed, sep="\t", header=None, names=cols)
    ds = SeqDataset(
        df[["chrom", "start", "end", "strand"]], seq_len=args.seq_len, genome=args.genome
    )
    t2 = time.perf_counter()
    # gReLU's own defaults: fp32 (precision None), devices="cpu".
    preds = model.predict_on_dataset(
        ds, devices="cpu", num_workers=args.num_workers, batch_size=args.batch_size
    )
    t3 = time.perf_counter()
    matmul_precision = torch.get_float32_matmul_precision()
    if args.save:
        # predict_on_dataset sets float32 matmul precision to "medium" for the process, which
        # on CPUs with AMX runs matmuls in bf16 (attention models move by 1e-4 to 1e-2
        # relative). The timing above keeps gReLU's own behaviour; the values saved for the
        # agreement check come from an untimed second pass in true fp32.
        set_precision = torch.set_float32_matmul_precision
        torch.set_float32_matmul_precision("highest")
        torch.set_float32_matmul_precision = lambda *_a, **_k: None
        try:
            preds = model.predict_on_dataset(
                ds, devices="cpu", num_workers=args.num_workers, batch_size=args.batch_size
            )
        finally:
            torch.set_float32_matmul_precision = set_precision
        np.save(args.save, np.asarray(preds, dtype=np.float32))
    print(
        json.dumps(
            {
                "load_s": t1 - t0,
                "dataset_s": t2 - t1,
                "predict_s": t3 - t2,
                "n": len(ds),
                "shape": list(np.shape(preds)),
                "threads": torch.get_num_threads(),
                "matmul_precision": matmul_precision,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
