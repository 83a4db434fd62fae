"""Make gReLU 1.1.0 variant-effect goldens for ``grelu variants`` (tests/variants/).

Run in the scratch gReLU venv (never a grelu-cli dependency; see README.md here)::

    /path/to/grelu-venv/bin/python tests/data/reference/make_variant_reference.py

Writes ``variants/variants.json`` (the SNVs, the cases and their exact arguments) and
``variants/effects.npz`` (float32 arrays, key = case). The SNVs are drawn with a seeded
generator on the tiny genome ``inputs/genome.fa``; REF is the genome base (upper case), ALT
another base; one site has two ALTs (two rows here, one multi-allelic VCF record in the test).

Each case calls ``grelu.variant.predict_variant_effects(df, lm, genome=inputs/genome.fa,
devices="cpu", num_workers=0, batch_size=7, return_ad=False, ...)`` on a checkpoint from
``checkpoints/`` with ``torch.set_float32_matmul_precision`` held at "highest" (gReLU sets
"medium" inside ``predict_on_dataset``, which runs matmuls in bf16 on AMX CPUs):

* ``conv_poisson`` (64 bp, 3 tasks, 32 bins, exp): ``prediction_transform=
  Aggregate(length_aggfunc="mean")`` so each value is one number per task, as our
  ``ref_value``/``alt_value`` with ``--aggregate mean``; compare_func ``subtract``, ``divide``,
  ``log2FC`` and ``None`` (ref/alt, shape (n, 2, T, 1)); plain, ``rc=True``,
  ``max_seq_shift=2`` and both; plus ``profiles``: compare_func None without a transform,
  (n, 2, T, 32) augmentation-averaged ref/alt profiles (for the profile scores).
* ``transformer_binary`` (32 bp, 2 tasks, 1 output, sigmoid): subtract/divide/log2FC/None,
  plain and rc.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
FA = HERE / "inputs" / "genome.fa"
OUT = HERE / "variants"

#: (chrom, lo, hi): where SNVs are drawn (windows of 64 + 2*2 bp stay inside the chromosome
#: and off chr3's IUPAC codes, which gReLU refuses).
SPANS = [("chr1", 100, 5900), ("chr2", 100, 2400), ("chr3", 100, 3400)]
N_SNVS = 14


def _genome() -> dict[str, str]:
    seqs: dict[str, list[str]] = {}
    name = None
    for line in FA.read_text().splitlines():
        if line.startswith(">"):
            name = line[1:].split()[0]
            seqs[name] = []
        elif name is not None:
            seqs[name].append(line.strip())
    return {k: "".join(v).upper() for k, v in seqs.items()}


def make_variants() -> list[dict]:
    rng = np.random.RandomState(7)
    genome = _genome()
    out: list[dict] = []
    while len(out) < N_SNVS:
        chrom, lo, hi = SPANS[rng.randint(len(SPANS))]
        pos = int(rng.randint(lo, hi))  # 1-based POS
        ref = genome[chrom][pos - 1]
        if ref not in "ACGT" or any(v["chrom"] == chrom and v["pos"] == pos for v in out):
            continue
        alts = [b for b in "ACGT" if b != ref]
        out.append({"chrom": chrom, "pos": pos, "ref": ref, "alt": alts[rng.randint(3)]})
    # A multi-allelic site: a second ALT at the first SNV's position (adjacent rows).
    first = out[0]
    other = next(b for b in "ACGT" if b not in (first["ref"], first["alt"]))
    out.insert(1, {**first, "alt": other})
    return out


def main() -> None:
    import pandas as pd
    from grelu.lightning import LightningModel
    from grelu.transforms.prediction_transforms import Aggregate
    from grelu.variant import predict_variant_effects

    OUT.mkdir(exist_ok=True)
    variants = make_variants()
    df = pd.DataFrame(variants)
    arrays: dict[str, np.ndarray] = {}
    cases: list[dict] = []
    real_set = torch.set_float32_matmul_precision
    torch.set_float32_matmul_precision("highest")
    torch.set_float32_matmul_precision = lambda *_: None  # keep fp32 matmuls exact
    try:
        plans = [
            ("conv_poisson", 64, "mean"),
            ("transformer_binary", 32, None),
        ]
        for ckpt, seq_len, agg in plans:
            lm = LightningModel.load_from_checkpoint(
                str(HERE / "checkpoints" / f"{ckpt}.ckpt"), weights_only=False
            )
            lm.eval()
            augs = (
                [(False, 0), (True, 0), (False, 2), (True, 2)] if agg else [(False, 0), (True, 0)]
            )
            for rc, shift in augs:
                for cf in ("subtract", "divide", "log2FC", None):
                    transform = Aggregate(length_aggfunc=agg) if agg else None
                    preds = predict_variant_effects(
                        df.copy(),
                        lm,
                        devices="cpu",
                        seq_len=seq_len,
                        batch_size=7,
                        num_workers=0,
                        genome=str(FA),
                        rc=rc,
                        max_seq_shift=shift,
                        compare_func=cf,
                        return_ad=False,
                        prediction_transform=transform,
                    )
                    case = f"{ckpt}/rc{int(rc)}_shift{shift}/{cf or 'none'}"
                    arrays[case] = np.asarray(preds, dtype=np.float32)
                    cases.append(
                        {
                            "case": case,
                            "checkpoint": f"checkpoints/{ckpt}.ckpt",
                            "seq_len": seq_len,
                            "rc": rc,
                            "max_seq_shift": shift,
                            "compare_func": cf,
                            "prediction_transform": f"Aggregate(length_aggfunc={agg!r})"
                            if agg
                            else None,
                            "shape": list(arrays[case].shape),
                        }
                    )
                    print(case, arrays[case].shape)
            if agg:  # unreduced ref/alt profiles, for the profile scores
                for rc, shift in augs:
                    preds = predict_variant_effects(
                        df.copy(),
                        lm,
                        devices="cpu",
                        seq_len=seq_len,
                        batch_size=7,
                        num_workers=0,
                        genome=str(FA),
                        rc=rc,
                        max_seq_shift=shift,
                        compare_func=None,
                        return_ad=False,
                    )
                    case = f"{ckpt}/rc{int(rc)}_shift{shift}/profiles"
                    arrays[case] = np.asarray(preds, dtype=np.float32)
                    cases.append(
                        {
                            "case": case,
                            "checkpoint": f"checkpoints/{ckpt}.ckpt",
                            "seq_len": seq_len,
                            "rc": rc,
                            "max_seq_shift": shift,
                            "compare_func": None,
                            "prediction_transform": None,
                            "shape": list(arrays[case].shape),
                        }
                    )
                    print(case, arrays[case].shape)
    finally:
        torch.set_float32_matmul_precision = real_set
        torch.set_float32_matmul_precision("highest")
    np.savez(OUT / "effects.npz", **arrays)
    meta = {
        "generator": "tests/data/reference/make_variant_reference.py",
        "grelu": "1.1.0",
        "torch": torch.__version__,
        "genome": "inputs/genome.fa",
        "variants": variants,
        "cases": cases,
    }
    (OUT / "variants.json").write_text(json.dumps(meta, indent=1) + "\n")


if __name__ == "__main__":
    main()
