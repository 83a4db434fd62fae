"""Run the variants library on a checkpoint: predictor, planner and scorer wired as the job
does, with results concatenated for assertions."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from grelu_cli.genome.genome import Genome
from grelu_cli.io.readers.vcf import open_variants
from grelu_cli.predict.loop import PredictOptions, Predictor
from grelu_cli.variants.pipeline import plan_variants
from grelu_cli.variants.plan import AllelePlanner, VariantCounts
from grelu_cli.variants.scorer import VariantScorer
from grelu_cli.variants.windows import SequenceReader
from grelu_cli.zoo import load_model

REF = Path(__file__).resolve().parents[1] / "data" / "reference"
GOLDEN = REF / "variants"


def golden() -> tuple[dict, dict[str, np.ndarray]]:
    meta = json.loads((GOLDEN / "variants.json").read_text())
    with np.load(GOLDEN / "effects.npz", allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    return meta, arrays


def copy_genome(tmp_path: Path) -> Path:
    dst = tmp_path / "genome.fa"
    shutil.copy(REF / "inputs" / "genome.fa", dst)
    shutil.copy(REF / "inputs" / "genome.fa.fai", tmp_path / "genome.fa.fai")  # newer: kept
    return dst


def golden_vcf(tmp_path: Path, variants: list[dict]) -> Path:
    """The golden SNVs as a VCF; rows at the same site become one multi-allelic record."""
    lines = ["##fileformat=VCFv4.2", "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    i = 0
    while i < len(variants):
        v = variants[i]
        alts = [v["alt"]]
        while i + 1 < len(variants) and (variants[i + 1]["chrom"], variants[i + 1]["pos"]) == (
            v["chrom"],
            v["pos"],
        ):
            i += 1
            alts.append(variants[i]["alt"])
        lines.append(f"{v['chrom']}\t{v['pos']}\tv{i}\t{v['ref']}\t{','.join(alts)}\t.\t.\t.")
        i += 1
    path = tmp_path / "golden.vcf"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_library(
    ckpt: Path,
    vcf: Path,
    genome: Path,
    scores: tuple[str, ...] = ("diff",),
    *,
    rc: bool = False,
    shifts: int = 0,
    aggregate: str = "mean",
    ref_mismatch: str = "skip",
    batch_windows: int | None = None,
    group_records: int | None = None,
    model_hook=None,
) -> tuple[list, np.ndarray, np.ndarray, dict[str, np.ndarray], VariantCounts]:
    loaded = load_model(ckpt, progress=False)
    if model_hook is not None:
        loaded.model.register_forward_hook(model_hook)
    predictor = Predictor(
        loaded.model,
        seq_len=loaded.seq_len,
        options=PredictOptions(device="cpu", batch_size=16, rc=rc, shifts=shifts),
        activation=loaded.activation,
        tasks=loaded.tasks,
        geometry=loaded.geometry,
    )
    g = Genome(genome)
    counts = VariantCounts()
    planner = AllelePlanner(g, loaded.seq_len, ref_mismatch=ref_mismatch, counts=counts)
    scorer = VariantScorer(
        predictor,
        SequenceReader(g, loaded.seq_len, predictor.flank),
        scores,
        aggregate=aggregate,
        counts=counts,
        batch_windows=batch_windows,
        group_records=group_records,
    )
    alleles, refs, alts = [], [], []
    out: dict[str, list] = {s: [] for s in scores}
    for res in scorer.score(plan_variants(open_variants(vcf), planner)):
        alleles += res.alleles
        refs.append(res.ref_value)
        alts.append(res.alt_value)
        for s in scores:
            out[s].append(res.scores[s])
    return (
        alleles,
        np.concatenate(refs),
        np.concatenate(alts),
        {s: np.concatenate(v) for s, v in out.items()},
        counts,
    )
