"""The gene-level and base-level job kinds at full model size: what they cost end to end.

Cases (``--cases``, comma-separated), each a real ``grelu`` process on a random-weight model of
the published geometry (``--model borzoi_full``: 524,288 bp in, 6,144 bins x 7,611 tracks;
``enformer_full``: 196,608 bp, 896 bins x 5,313 tracks):

- ``genes``: ``grelu variants`` of ``--snvs`` SNVs without and with ``--genes`` (all 11
  statistics, a synthetic annotation of ``--genes-n`` multi-exon genes on both strands around
  each SNV), run alternately, best of ``--repeats``: the ratio is what gene scoring adds. The
  random model's tracks have no strand pairs, so every track is a gene task (the most work).
- ``ism``: ``grelu ism`` of one region, ``--ism-width`` central positions x 3 bases, for each
  ``--precisions`` value: seconds per window, mutants per second, peak RSS.
- ``saliency``: ``grelu attribute --method saliency`` of one region: seconds per window and
  peak RSS (a backward pass through the whole model).

Numbers are reported, never asserted. Run on a quiet machine (a second heavy process on two
cores halves every number)::

    python benchmarks/bench_full_jobs.py --cases genes,ism,saliency --json full_jobs.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from bench_predict import FULL, FULL_TRACKS, grelu_cli, machine, run_measured  # noqa: E402
from synth import write_genome  # noqa: E402

STATS = "SED,logSED,D1,logD1,D2,logD2,nD2,nDi,JS,REF,ALT"


def build(work: Path, key: str) -> Path:
    """The random-weight checkpoint of ``key`` (built once per work directory)."""
    arch, seq_len, params, _ = FULL[key]
    ckpt = work / f"{key}.ckpt"
    if not ckpt.exists():
        cmd = ["models", "build", arch, "--n-tasks", str(FULL_TRACKS[key])]
        cmd += ["--seq-len", str(seq_len), "--seed", "0", "-o", str(ckpt)]
        for p in params:
            cmd += ["--param", p]
        run_measured(grelu_cli(*cmd))
    return ckpt


def write_inputs(work: Path, seq_len: int, n_snvs: int, n_genes: int) -> dict[str, Path]:
    """A random genome, ``n_snvs`` SNVs spaced a window apart, a one-region BED at the first
    SNV, and a GTF of ``n_genes`` genes (2-9 exons, both strands) within 98 kb of each SNV."""
    import numpy as np

    size = seq_len * (2 * n_snvs + 2)
    genome = write_genome(work / f"genome{seq_len}.fa", {"chr1": size})
    seq = genome.read_text().split("\n", 1)[1].replace("\n", "")
    rng = np.random.default_rng(0)
    positions = [seq_len * (2 * i + 1) + 17 for i in range(n_snvs)]
    vcf = work / "snvs.vcf"
    with vcf.open("w") as fh:
        fh.write(f"##fileformat=VCFv4.2\n##contig=<ID=chr1,length={size}>\n")
        fh.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
        for i, p in enumerate(positions):
            ref = seq[p - 1] if seq[p - 1] in "ACGT" else "A"
            alt = "ACGT"[("ACGT".index(ref) + 1) % 4]
            fh.write(f"chr1\t{p}\tv{i}\t{ref}\t{alt}\t.\t.\t.\n")
    gtf = work / "genes.gtf"
    with gtf.open("w") as fh:
        for i, p in enumerate(positions):
            for g in range(n_genes):
                strand = "+-"[g % 2]
                start = p - 98_000 + int(rng.integers(0, 180_000))
                n_ex = int(rng.integers(2, 10))
                gid = f"ENSG{i:05d}{g:06d}.1"
                attrs = f'gene_id "{gid}"; gene_name "G{i}_{g}"; gene_type "protein_coding";'
                s = start
                for _ in range(n_ex):
                    e = s + int(rng.integers(80, 600))
                    fh.write(f"chr1\tsyn\texon\t{s + 1}\t{e}\t.\t{strand}\t.\t{attrs}\n")
                    s = e + int(rng.integers(200, 5_000))
    bed = work / "region.bed"
    bed.write_text(f"chr1\t{positions[0] - 500}\t{positions[0] + 500}\tr0\n")
    return {"genome": genome, "vcf": vcf, "gtf": gtf, "bed": bed}


def slim(res: dict[str, Any]) -> dict[str, Any]:
    return {k: round(res[k], 2) for k in ("wall_s", "peak_rss_mb", "user_s") if k in res}


def genes_case(ckpt: Path, data: dict[str, Path], work: Path, repeats: int) -> dict[str, Any]:
    """variants without and with --genes, alternately; best of ``repeats`` each."""
    base = ["variants", "-m", str(ckpt), "--vcf", str(data["vcf"]), "-g", str(data["genome"])]
    base += ["--quiet", "--overwrite"]
    runs: dict[str, list[dict[str, Any]]] = {"plain": [], "genes": []}
    for _ in range(repeats):
        runs["plain"].append(slim(run_measured(grelu_cli(*base, "-o", str(work / "p.parquet")))))
        genes = ["--genes", str(data["gtf"]), "--gene-stats", STATS, "-o", str(work / "g.parquet")]
        runs["genes"].append(slim(run_measured(grelu_cli(*base, *genes))))
    best = {k: min(r["wall_s"] for r in v) for k, v in runs.items()}
    import pyarrow.parquet as pq

    rows = pq.ParquetFile(work / "g.parquet").metadata.num_rows
    return {"runs": runs, "best_wall_s": best, "ratio": best["genes"] / best["plain"], "rows": rows}


def ism_case(
    ckpt: Path, data: dict[str, Path], work: Path, width: int, precisions: list[str]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for prec in precisions:
        cmd = ["ism", "-m", str(ckpt), "--bed", str(data["bed"]), "-g", str(data["genome"])]
        cmd += ["--ism-width", str(width), "--precision", prec, "--quiet", "--overwrite"]
        res = run_measured(grelu_cli(*cmd, "-o", str(work / f"ism_{prec}.zarr")))
        mutants = 3 * width
        out[prec] = {**slim(res), "mutants": mutants, "mutants_per_s": mutants / res["wall_s"]}
    return out


def saliency_case(ckpt: Path, data: dict[str, Path], work: Path) -> dict[str, Any]:
    cmd = ["attribute", "-m", str(ckpt), "--bed", str(data["bed"]), "-g", str(data["genome"])]
    cmd += ["--method", "saliency", "--quiet", "--overwrite", "-o", str(work / "sal.zarr")]
    return slim(run_measured(grelu_cli(*cmd)))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", default="genes,ism,saliency")
    ap.add_argument("--model", default="borzoi_full", choices=sorted(FULL))
    ap.add_argument("--snvs", type=int, default=1)
    ap.add_argument("--genes-n", type=int, default=40, help="genes around each SNV")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--ism-width", type=int, default=20)
    ap.add_argument("--precisions", default="fp32")
    ap.add_argument("--work", default=None, help="keep models and inputs here (reused)")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    cases = [c for c in args.cases.split(",") if c]
    work = Path(args.work or tempfile.mkdtemp(prefix="grelu-full-jobs-"))
    work.mkdir(parents=True, exist_ok=True)
    ckpt = build(work, args.model)
    data = write_inputs(work, FULL[args.model][1], args.snvs, args.genes_n)
    result: dict[str, Any] = {"machine": machine(), "model": args.model}
    if "genes" in cases:
        result["genes"] = genes_case(ckpt, data, work, args.repeats)
        print("genes:", json.dumps(result["genes"]["best_wall_s"]), result["genes"]["ratio"])
    if "ism" in cases:
        result["ism"] = ism_case(ckpt, data, work, args.ism_width, args.precisions.split(","))
        print("ism:", json.dumps(result["ism"]))
    if "saliency" in cases:
        result["saliency"] = saliency_case(ckpt, data, work)
        print("saliency:", json.dumps(result["saliency"]))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
