"""Regenerate grelu_reference.json with gReLU 1.1.0 (run in a venv with grelu==1.1.0 installed).

Usage, from a scratch directory holding a copy of tiny.fa::

    cp tests/data/input/tiny.fa /tmp/ref/ && cd /tmp/ref
    samtools faidx tiny.fa  # or let pyfaidx build it; gReLU also wants tiny.fa.sizes:
    cut -f1,2 tiny.fa.fai > tiny.fa.sizes
    python make_grelu_reference.py  # writes grelu_reference.json

Records gReLU's interval resize and sequences (both strands), its string resize, its
``strings_to_one_hot``, its ``SeqDataset`` one-hot for a few regions, and the padded sequences
``SeqDataset(max_seq_shift=3)`` keeps for shift augmentation.
"""

from __future__ import annotations

import json
import random

import numpy as np
import pandas as pd
import torch
from grelu.data.dataset import SeqDataset
from grelu.sequence.format import intervals_to_strings, strings_to_one_hot
from grelu.sequence.utils import resize

SIZES = {"chr1": 3000, "chr2": 1003, "chrM": 500}
HOW = (
    "Generated with gReLU 1.1.0 (scratch ref venv) by make_grelu_reference.py: resize on "
    "intervals and strings, intervals_to_strings on tiny.fa, strings_to_one_hot, and "
    "SeqDataset one-hot (argmax per column, 4 = all-zero)."
)


def interval_cases() -> list[dict]:
    random.seed(7)
    rows = []
    for _ in range(60):
        c = random.choice(list(SIZES))
        L = random.choice([64, 100, 101, 257])
        n = random.randint(1, 400)
        s = random.randint(0, SIZES[c] - n)
        e = s + n
        ws = int(np.ceil((s + e) / 2 - L / 2))
        if ws < 0 or ws + L > SIZES[c]:
            continue  # gReLU raises on windows off a chromosome
        rows.append(dict(chrom=c, start=s, end=e, strand=random.choice("+-"), seq_len=L))
    cases = []
    for r in rows:
        df = pd.DataFrame([r])[["chrom", "start", "end", "strand"]]
        rs = resize(df, seq_len=r["seq_len"])
        seq = intervals_to_strings(rs, genome="tiny.fa")[0]
        cases.append(
            dict(r, window_start=int(rs.start.iloc[0]), window_end=int(rs.end.iloc[0]), seq=seq)
        )
    return cases


def dataset_cases(cases: list[dict]) -> list[dict]:
    out = []
    for r in cases:
        if set(r["seq"]) <= set("ACGTN") and len(out) < 6:  # gReLU rejects IUPAC codes
            df = pd.DataFrame([r])[["chrom", "start", "end", "strand"]]
            x = SeqDataset(df, seq_len=r["seq_len"], genome="tiny.fa")[0]
            assert x.dtype == torch.float32 and x.shape == (4, r["seq_len"])
            argmax = [
                int(v) if m > 0 else 4 for v, m in zip(x.argmax(0), x.max(0).values, strict=True)
            ]
            keys = ("chrom", "start", "end", "strand", "seq_len")
            out.append({k: r[k] for k in keys} | {"argmax": argmax})
    return out


def flank_cases(cases: list[dict], shift: int = 3) -> list[dict]:
    """The padded sequence SeqDataset keeps for max_seq_shift (shifts crop it)."""
    from grelu.sequence.format import indices_to_strings

    out = []
    for r in cases:
        if set(r["seq"]) <= set("ACGTN") and len(out) < 8:
            df = pd.DataFrame([r])[["chrom", "start", "end", "strand"]]
            ds = SeqDataset(df, seq_len=r["seq_len"], genome="tiny.fa", max_seq_shift=shift)
            keys = ("chrom", "start", "end", "strand", "seq_len")
            out.append(
                {k: r[k] for k in keys} | {"flank": shift, "seq": indices_to_strings(ds.seqs[0])}
            )
    return out


def main() -> None:
    cases = interval_cases()
    strings = ["ACGTN", "NNNN", "A", "TTGACCANNA", "GATTACA"]
    fasta = []
    for n in [1, 5, 10, 11, 64, 99, 100, 101, 150, 151]:
        seq = "".join("ACGT"[(i * 7 + n) % 4] for i in range(n))
        fasta += [dict(seq=seq, seq_len=L, out=resize(seq, seq_len=L)) for L in (10, 11, 100)]
    ref = dict(
        how=HOW,
        intervals=cases,
        onehot_dataset=dataset_cases(cases),
        flank=flank_cases(cases),
        one_hot={s: strings_to_one_hot(s).to(torch.int64).tolist() for s in strings},
        one_hot_dtype=str(strings_to_one_hot("ACGT").dtype),
        fasta_resize=fasta,
    )
    with open("grelu_reference.json", "w") as fh:
        json.dump(ref, fh, indent=0)


if __name__ == "__main__":
    main()
