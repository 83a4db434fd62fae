"""gReLU 1.1.0's whole ISM run as a user writes it: load a checkpoint, read BED regions from a
FASTA, ``ISM_predict`` each region, save the deltas. For ``bench_ism_cli.py`` (timed from
outside as a whole process, like ``grelu ism``).

Run with the Python of a virtualenv that has ``grelu==1.1.0``; this project is not imported.
Each region goes through ``ISM_predict`` on its own: with several sequences and a compare_func
gReLU 1.1.0 broadcasts each sequence's reference row across the others
(``preds[:, [0], [ref]]`` is (B, 1, B, T, L)), wrong unless one sequence is passed.
Arguments: ``prediction_transform=Aggregate(length_aggfunc="mean")``,
``compare_func="subtract"``, ``devices="cpu"``, ``return_df=False``, ``start_pos/end_pos`` the
central span. With ``--exact``, float32 matmul precision is held at "highest" (gReLU sets
"medium" inside ``predict_on_dataset``), for the agreement check; timed runs leave gReLU as is.

Writes ``--out`` (.npy, (R, P, 4, T) float32: deltas, 0 at the reference base) and prints one
JSON line: ``load_s``, ``read_s``, ``ism_s``, ``regions``, ``positions``, ``threads``.

    python grelu_ism_cli_runner.py --ckpt m.ckpt --bed r.bed --genome g.fa --start 924 \
        --end 1124 --out deltas.npy [--batch-size 128] [--threads 2] [--exact]
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
    ap.add_argument("--bed", required=True)
    ap.add_argument("--genome", required=True)
    ap.add_argument("--start", type=int, required=True)
    ap.add_argument("--end", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--num-workers", type=int, default=1)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--exact", action="store_true")
    args = ap.parse_args()

    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    os.chdir(os.path.dirname(os.path.abspath(args.out)))  # lightning_logs/ lands here
    import numpy as np
    import pandas as pd
    import torch
    from grelu.interpret.score import ISM_predict
    from grelu.lightning import LightningModel
    from grelu.sequence.format import intervals_to_strings
    from grelu.transforms.prediction_transforms import Aggregate

    if args.threads:
        torch.set_num_threads(args.threads)
    if args.exact:
        torch.set_float32_matmul_precision("highest")
        torch.set_float32_matmul_precision = lambda *_a, **_k: None
    t0 = time.perf_counter()
    model = LightningModel.load_from_checkpoint(args.ckpt, map_location="cpu")
    model.eval()
    t1 = time.perf_counter()
    cols = ["chrom", "start", "end", "name", "score", "strand"]
    df = pd.read_csv(args.bed, sep="\t", header=None, names=cols)
    seqs = intervals_to_strings(df[["chrom", "start", "end", "strand"]], genome=args.genome)
    t2 = time.perf_counter()
    out = []
    for seq in seqs:
        preds = ISM_predict(
            seq,
            model,
            prediction_transform=Aggregate(length_aggfunc="mean"),
            start_pos=args.start,
            end_pos=args.end,
            compare_func="subtract",
            devices="cpu",
            num_workers=args.num_workers,
            batch_size=args.batch_size,
            return_df=False,
        )
        out.append(np.asarray(preds, dtype=np.float32)[0, ..., 0])  # (P, 4, T)
    t3 = time.perf_counter()
    np.save(args.out, np.stack(out))
    print(
        json.dumps(
            {
                "load_s": t1 - t0,
                "read_s": t2 - t1,
                "ism_s": t3 - t2,
                "regions": len(seqs),
                "positions": args.end - args.start,
                "threads": torch.get_num_threads(),
            }
        ),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
