"""A small Borzoi-shaped ``grelu variants --genes`` case, and Calico's answer for it.

The model is a tiny BorzoiModel built by ``grelu models build`` (512 bp in, 248 output bins of
2 bp, crop 4 bins) whose tasks table has two strand pairs, an unstranded track and Borzoi's
``scale``/``clip_soft``/``sum_stat`` columns. The annotation has multi-exon genes on both
strands, overlapping genes, a gene cut by the output span's edge, a gene near a chromosome
start (padded window), a gene whose exons disagree on the chromosome (skipped) and exon ends
on odd bases (half-bin rounding). The variants: SNVs, a deletion, and one with no gene.

:func:`calico_scores` computes the expected statistics independently: the ref and alt
windows are written as FASTA by hand and predicted by ``grelu predict --fasta`` (a separate
command), untransformed by Calico's ``untransform_preds1`` when asked, and scored by the
literal transcription of ``borzoi_sed.py`` (``tests/genes/calico_reference.py``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from tests.cli.predict_helpers import ok
from tests.genes import calico_reference as ref
from tests.variants.helpers import REF

SEQ_LEN, BIN, CROP = 512, 2, 4
N_BINS = SEQ_LEN // BIN - 2 * CROP
SPAN = N_BINS * BIN
STATS = ["SED", "logSED", "D1", "logD1", "D2", "logD2", "nD2", "nDi", "JS", "REF", "ALT"]
TASKS = pd.DataFrame(
    {
        "name": ["RNA:liver+", "RNA:liver-", "DNASE:k562", "CAGE:lung+", "CAGE:lung-"],
        "strand_pair": [1, 0, 2, 4, 3],
        "scale": [0.3, 0.3, 0.5, 1.0, 1.0],
        "clip_soft": [0.5, 0.5, 4.0, 0.6, 0.6],
        "sum_stat": ["sum_sqrt", "sum_sqrt", "sum_sqrt", "sum", "sum"],
        "description": ["RNA liver +", "RNA liver -", "DNase K562", "CAGE lung +", "CAGE lung -"],
    }
)
GENE_TASKS = ["RNA:liver+", "DNASE:k562", "CAGE:lung+"]
# chrom, 1-based start, end, strand, gene_id, gene_name, gene_type, transcript
EXONS = [
    ("chr1", 1001, 1040, "+", "G1.1", "ALPHA", "protein_coding", "T1"),
    ("chr1", 1101, 1163, "+", "G1.1", "ALPHA", "protein_coding", "T1"),
    ("chr1", 1151, 1190, "+", "G1.1", "ALPHA", "protein_coding", "T2"),
    ("chr1", 1021, 1082, "-", "G2.3", "BETA", "lncRNA", "T3"),
    ("chr1", 1201, 1230, "-", "G2.3", "BETA", "lncRNA", "T3"),
    ("chr1", 1240, 1500, "+", "G3.1", "GAMMA", "protein_coding", "T4"),
    ("chr1", 700, 760, "-", "G4.2", "DELTA", "protein_coding", "T5"),
    ("chr1", 1380, 1385, "-", "G5.1", "EPS", "lncRNA", "T6"),
    ("chr2", 10, 60, "+", "G6.1", "ZETA", "protein_coding", "T7"),
    ("chr2", 2000, 2100, "+", "G7.1", "BAD", "protein_coding", "T8"),
    ("chr3", 2000, 2100, "-", "G7.1", "BAD", "protein_coding", "T9"),
]
# id, chrom, pos, ref length (the ALT is another base, or the first REF base)
VARIANTS = [
    ("rsA", "chr1", 1150, 1),
    ("rsB", "chr1", 1300, 1),
    ("rsC", "chr2", 100, 1),
    ("rsNone", "chr1", 5000, 1),
    ("del1", "chr1", 1200, 4),
    ("rsE", "chr1", 1001, 1),
]


def chrom_seqs(genome: Path) -> dict[str, str]:
    out = {}
    for block in genome.read_text().split(">")[1:]:
        lines = block.splitlines()
        out[lines[0].split()[0]] = "".join(lines[1:]).upper()
    return out


def _other(base: str) -> str:
    return next(b for b in "ACGT" if b != base)


def write_case(d: Path) -> dict[str, Path]:
    """Model, genome, GTF and VCF under ``d``."""
    d.mkdir(parents=True, exist_ok=True)
    for name in ("genome.fa", "genome.fa.fai"):
        shutil.copy(REF / "inputs" / name, d / name)
    seqs = chrom_seqs(d / "genome.fa")
    TASKS.to_csv(d / "tasks.tsv", sep="\t", index=False)
    ok(
        "models", "build", "BorzoiModel", "--tasks", d / "tasks.tsv", "--seq-len", str(SEQ_LEN),
        "--loss", "poisson", "--seed", "3",
        *[f"--param={p}" for p in (
            "stem_channels=16", "init_channels=32", "channels=32", "n_conv=3",
            "n_transformers=1", "key_len=4", "value_len=8", "n_heads=2", "n_pos_features=8",
            f"crop_len={CROP}", "final_pool_func=None",
        )],
        "-o", d / "m.ckpt",
    )  # fmt: skip
    with open(d / "genes.gtf", "w") as f:
        f.write("##format: gtf\n")
        for c, s, e, st, g, n, t, tid in EXONS:
            attr = f'gene_id "{g}"; transcript_id "{tid}"; gene_type "{t}"; gene_name "{n}";'
            f.write(f"{c}\tTEST\texon\t{s}\t{e}\t.\t{st}\t.\t{attr}\n")
    lines = ["##fileformat=VCFv4.2", "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    for vid, c, pos, n in VARIANTS:
        r = seqs[c][pos - 1 : pos - 1 + n]
        alt = _other(r) if n == 1 else r[0]
        lines.append(f"{c}\t{pos}\t{vid}\t{r}\t{alt}\t.\t.\t.")
    (d / "calls.vcf").write_text("\n".join(lines) + "\n")
    return {k: d / v for k, v in {
        "model": "m.ckpt", "genome": "genome.fa", "gtf": "genes.gtf", "vcf": "calls.vcf",
        "dir": ".",
    }.items()}  # fmt: skip


def windows(seqs: dict[str, str]) -> dict[str, tuple[str, str]]:
    """Each variant's ref and alt model input, built by hand: the window starts at
    ``pos - L/2`` (N outside the chromosome); the ALT replaces REF and a deletion pulls in
    bases from the right (``grelu_cli.variants.windows``' rule)."""
    out = {}
    for vid, c, pos, n in VARIANTS:
        s = seqs[c]
        start = pos - SEQ_LEN // 2

        def take(a: int, b: int, s: str = s) -> str:
            return "".join(s[i] if 0 <= i < len(s) else "N" for i in range(a, b))

        r = take(start, start + SEQ_LEN)
        ref_allele = s[pos - 1 : pos - 1 + n]
        alt_allele = _other(ref_allele) if n == 1 else ref_allele[0]
        off = pos - 1 - start
        a = r[:off] + alt_allele + take(pos - 1 + n, start + SEQ_LEN + n - len(alt_allele))
        out[vid] = (r, a[:SEQ_LEN])
    return out


def predicted_profiles(case: dict[str, Path], *extra: str) -> dict[str, tuple[np.ndarray, ...]]:
    """{variant id: (ref (L, T), alt (L, T))} float32 from ``grelu predict --fasta``."""
    d = case["dir"]
    w = windows(chrom_seqs(case["genome"]))
    with open(d / "windows.fa", "w") as f:
        for vid, (r, a) in w.items():
            f.write(f">{vid}_ref\n{r}\n>{vid}_alt\n{a}\n")
    out = d / "profiles.parquet"
    ok("predict", "-m", case["model"], "--fasta", d / "windows.fa", "-o", out, "--overwrite",
       "--device", "cpu", *extra)  # fmt: skip
    df = pq.read_table(out, columns=["name", "task", "bin", "value"]).to_pandas()
    names = list(TASKS["name"])
    res = {}
    for vid in w:
        mats = []
        for which in ("ref", "alt"):
            sub = df[df["name"] == f"{vid}_{which}"]
            m = sub.pivot(index="bin", columns="task", values="value")[names]
            mats.append(m.to_numpy(dtype=np.float32))
        res[vid] = (mats[0], mats[1])
    return res


def calico_scores(
    case: dict[str, Path], profiles: dict, untransform: bool, span: bool = False
) -> tuple[dict[tuple[str, str], dict[str, np.ndarray]], dict, list[str]]:
    """Calico's statistics: {(variant id, gene_id): {stat: (K,)}}, bins, gene task names.

    The deletion is given to Calico as an allele of the ref window's length (the convention
    this tool documents: genes and bins from the ref window; ``map_snpseq_genes`` would move
    a deletion's gene coordinates by its length)."""
    seqs = chrom_seqs(case["genome"])
    snps = []
    for vid, c, pos, n in VARIANTS:
        r = seqs[c][pos - 1 : pos - 1 + n]
        snps.append(ref.SNP(c, pos, vid, r, _other(r) if n == 1 else r))
    targets = ref.calico_targets(
        list(TASKS["name"]),
        list(TASKS["strand_pair"]),
        scale=list(TASKS["scale"]),
        clip_soft=list(TASKS["clip_soft"]),
        sum_stat=list(TASKS["sum_stat"]),
    )
    preds = {}
    for vid, (r, a) in profiles.items():
        if untransform:
            r = ref.untransform_preds1(r.astype(np.float64), targets)
            a = ref.untransform_preds1(a.astype(np.float64), targets)
        preds[vid] = (np.asarray(r, np.float64), np.asarray(a, np.float64))
    gtf = case["dir"] / "calico.gtf"  # the genes Calico can read (one chromosome each)
    text = [ln for ln in case["gtf"].read_text().splitlines() if '"G7.1"' not in ln]
    gtf.write_text("\n".join(text) + "\n")
    sed, rows, bins, strand_df = ref.score_snps(
        snps, preds, gtf, targets, SPAN, BIN, STATS, span=span
    )
    out = {key: {s: sed[s][i] for s in STATS} for i, key in enumerate(rows)}
    return out, bins, list(strand_df["identifier"])
