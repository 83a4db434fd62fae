"""Cost of the gene library: loading a GENCODE-sized GTF, and gene statistics per allele.

Reports numbers, asserts nothing. Three parts:

1. **Load.** A seeded synthetic GENCODE-basic-like GTF (``--genes`` genes, default 60,000;
   1-3 transcripts each, exons, CDS, UTR and start/stop codon lines with GENCODE-length
   attributes: about 1.5 M lines) is written into a temporary directory, then loaded in a
   child process by ``load_gene_index`` (our streamed line loop): wall time and peak RSS via
   wait4. For comparison, the same file through pyarrow's CSV reader plus vectorised
   attribute extraction (``pyarrow.compute.extract_regex``) in another child: time and
   peak RSS of just reading the exons' columns (no index built).
2. **Statistics.** Full Borzoi geometry: 6,144 bins x 7,611 tracks (1,660 strand pairs and
   4,291 unstranded tracks: 5,951 gene tasks, an assumption about Borzoi's human table), random
   float32 ref/alt profiles, windows with 10, 20 and 40 genes of realistic exon bins (drawn
   from the synthetic annotation). Times ``gene_stats`` with the default ``SED,logSED`` and
   with all 11 statistics (the 25th-percentile pseudocounts timed on their own), plus
   ``overlapping`` + ``gene_bins`` per window. Compared with Borzoi's ~60 s per window
   forward pass on these CPUs (not run here): the issue's budget is 5%, i.e. 3 s per allele.
3. **Background quantiles** for a 40-gene block against a background of ``--background``
   pairs.
4. **Against Calico** (``genes_vs_calico.py``): ``--variants`` N variants at the same full
   geometry on a dense synthetic annotation (gene starts 2-8 kb apart on one chromosome: about
   40 multi-exon, partly overlapping genes per 196,608 bp output span), scored by Calico's
   ``borzoi_sed.py`` loop (the numpy transcription in ``tests/genes/calico_reference.py``, one
   variant at a time) and by our ``GeneScorer``: seconds per variant for ``SED,logSED`` and
   all 11 statistics, the ratio, ours as a percentage of one (and of two) 60 s forward passes,
   and the agreement (rtol 1e-5; Calico's arithmetic in float64 on the first variant, and an
   informative float32 comparison on all). Then ``predict --genes``' reduction per window.
5. **Scoring memory**: peak RSS of a fresh process scoring N, then 2N variants (flat in N).

    python benchmarks/bench_genes.py [--genes 60000] [--skip-load] [--variants 3]
        [--skip-compare] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

FORWARD_S = 60.0  # Borzoi, one window, these CPUs (README's full-size benchmark)
N_BINS, N_TRACKS, N_PAIRS, BIN = 6144, 7611, 1660, 32
CROP = 5120 * BIN  # Borzoi's output span starts 163,840 bp into its 524,288 bp window
DENSE_STEP = (2_000, 8_000)  # gene starts 2-8 kb apart: about 40 genes per output span


def write_gtf(
    path: Path,
    n_genes: int,
    seed: int = 0,
    chroms: list[str] | None = None,
    step: tuple[int, int] | None = None,
) -> int:
    """A GENCODE-basic-like GTF; returns the number of lines written.

    Genes follow each other on their chromosome, 1-60 kb after the previous gene's end; with
    ``step`` their *starts* are ``step`` bp apart instead (overlapping genes: a dense window
    of about 40 genes in Borzoi's 196 kb output span with ``step=(2_000, 8_000)``)."""
    rng = np.random.default_rng(seed)
    if chroms is None:
        chroms = [f"chr{i}" for i in range(1, 23)] + ["chrX", "chrY", "chrM"]
    lines = 0
    with open(path, "w") as f:
        f.write("##description: synthetic GENCODE-like\n##format: gtf\n")
        lines += 2
        pos = dict.fromkeys(chroms, 10_000)
        for g in range(n_genes):
            chrom = chroms[int(rng.integers(len(chroms)))]
            strand = "+-"[int(rng.integers(2))]
            coding = rng.random() < 0.45
            gtype = "protein_coding" if coding else "lncRNA"
            gid = f"ENSG{g:011d}.{int(rng.integers(1, 20))}"
            name = f"GENE{g}"
            start = pos[chrom] + int(rng.integers(*(step or (1_000, 60_000))))
            n_ex = int(rng.integers(2, 14))
            ex_len = rng.integers(80, 400, size=n_ex)
            gaps = rng.integers(200, 8_000, size=n_ex)
            ex_starts = start + np.concatenate([[0], np.cumsum(ex_len[:-1] + gaps[:-1])])
            ex_ends = ex_starts + ex_len
            end = int(ex_ends[-1])
            pos[chrom] = start if step else end
            gattr = f'gene_id "{gid}"; gene_type "{gtype}"; gene_name "{name}"; level 2;'
            f.write(f"{chrom}\tHAVANA\tgene\t{start + 1}\t{end}\t.\t{strand}\t.\t{gattr}\n")
            lines += 1
            for t in range(int(rng.integers(1, 4))):
                keep = np.sort(rng.choice(n_ex, size=max(1, n_ex - t), replace=False))
                tid = f"ENST{g:09d}{t:02d}.{int(rng.integers(1, 9))}"
                ttype = gtype
                tattr = (
                    f'gene_id "{gid}"; transcript_id "{tid}"; gene_type "{gtype}"; '
                    f'gene_name "{name}"; transcript_type "{ttype}"; '
                    f'transcript_name "{name}-{201 + t}"; level 2; '
                    f'transcript_support_level "1"; hgnc_id "HGNC:{g}"; tag "basic"; '
                    f'tag "Ensembl_canonical"; havana_gene "OTTHUMG{g:011d}.1";'
                )
                ts, te = int(ex_starts[keep[0]]), int(ex_ends[keep[-1]])
                f.write(f"{chrom}\tHAVANA\ttranscript\t{ts + 1}\t{te}\t.\t{strand}\t.\t{tattr}\n")
                lines += 1
                for k, e in enumerate(keep, 1):
                    s0, e0 = int(ex_starts[e]), int(ex_ends[e])
                    ea = f'{tattr} exon_number {k}; exon_id "ENSE{g:07d}{t}{k:03d}.1";'
                    f.write(f"{chrom}\tHAVANA\texon\t{s0 + 1}\t{e0}\t.\t{strand}\t.\t{ea}\n")
                    lines += 1
                    if coding and 0 < k < len(keep):
                        f.write(f"{chrom}\tHAVANA\tCDS\t{s0 + 1}\t{e0}\t.\t{strand}\t0\t{ea}\n")
                        lines += 1
                if coding:
                    s0 = int(ex_starts[keep[0]])
                    for feat in ("UTR", "UTR", "start_codon", "stop_codon"):
                        f.write(
                            f"{chrom}\tHAVANA\t{feat}\t{s0 + 1}\t{s0 + 3}\t.\t{strand}\t0\t"
                            f"{tattr}\n"
                        )
                        lines += 1
    return lines


def _child_load(path: str, how: str) -> None:
    t0 = time.perf_counter()
    if how == "ours":
        from grelu_cli.genome.genes import load_gene_index

        idx = load_gene_index(path)
        out: dict[str, Any] = {"genes": len(idx), "exons": len(idx.exon_start)}
    else:
        import pyarrow.compute as pc
        from pyarrow import csv

        names = ["chrom", "src", "feature", "start", "end", "score", "strand", "frame", "attr"]
        table = csv.read_csv(
            path,
            read_options=csv.ReadOptions(column_names=names, skip_rows=2),
            parse_options=csv.ParseOptions(delimiter="\t", quote_char=False),
            convert_options=csv.ConvertOptions(include_columns=names),
        )
        ex = table.filter(pc.equal(table["feature"], "exon"))
        gid = pc.extract_regex(ex["attr"], r'gene_id "(?P<v>[^"]*)"')
        pc.extract_regex(ex["attr"], r'gene_name "(?P<v>[^"]*)"')
        pc.extract_regex(ex["attr"], r'gene_type "(?P<v>[^"]*)"')
        out = {"exon_rows": len(ex), "genes": len(pc.unique(pc.struct_field(gid, "v")))}
    out["seconds"] = time.perf_counter() - t0
    from genes_vs_calico import _rss_mb

    out["vm_hwm_mb"] = _rss_mb()["peak_rss_mb"]  # this process's own peak (see _rss_mb)
    print(json.dumps(out))


def measure_load(path: Path, how: str) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    cmd = [sys.executable, __file__, "--child-load", str(path), "--how", how]
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env, text=True)
    assert p.stdout is not None
    text = p.stdout.read()
    _, _, usage = os.wait4(p.pid, 0)
    res = json.loads(text.strip().splitlines()[-1])
    res["wall_s"] = time.perf_counter() - t0
    # ru_maxrss is at least the parent's RSS at the fork; vm_hwm_mb is the child's own.
    res["peak_rss_mb"] = usage.ru_maxrss / 1024
    return res


def _timeit(fn: Any, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)) * 1000


def bench_stats(gtf: Path, index: Any) -> dict[str, Any]:
    import pandas as pd

    from grelu_cli.genes.stats import STATS, gene_stats, pseudocounts
    from grelu_cli.genes.strands import gene_tasks
    from grelu_cli.genome.gene_bins import gene_bins

    rng = np.random.default_rng(0)
    names, pairs = [], []
    for i in range(N_PAIRS):
        names += [f"RNA:{i}+", f"RNA:{i}-"]
        pairs += [2 * i + 1, 2 * i]
    for j in range(N_TRACKS - 2 * N_PAIRS):
        names.append(f"DNASE:{j}")
        pairs.append(len(pairs))
    gt = gene_tasks(pd.DataFrame({"name": names, "strand_pair": pairs}))
    ref = rng.gamma(0.5, 5.0, size=(N_BINS, N_TRACKS)).astype(np.float32)
    alt = ref * rng.lognormal(0, 0.05, size=ref.shape).astype(np.float32)
    span = N_BINS * BIN
    # Windows of the synthetic annotation, kept by how many genes they hold.
    chrom = index.chroms[0]
    lo, hi = int(index.chrom_offsets[0]), int(index.chrom_offsets[1])
    out: dict[str, Any] = {"gene_tasks": len(gt), "tracks": N_TRACKS, "bins": N_BINS}
    out["pseudocounts_ms"] = _timeit(lambda: pseudocounts(ref), 3)
    pseudo = pseudocounts(ref)
    # Our synthetic annotation has ~1 gene per 250 kb; denser windows are built by merging the
    # bins of several windows' genes into one window's span (their own bins kept).
    windows = []
    for s in np.linspace(index.start[lo], index.end[hi - 1] - span, 400).astype(int):
        g = index.overlapping(chrom, int(s), int(s) + span)
        windows.append(gene_bins(index, g, int(s), BIN, N_BINS))
    for n_genes in (10, 20, 40):
        genes_b: list[np.ndarray] = []
        for wb in windows:
            for i in range(len(wb)):
                genes_b.append(wb.bins[wb.offsets[i] : wb.offsets[i + 1]])
        pick = rng.choice(len(genes_b), size=n_genes, replace=False)
        from grelu_cli.genome.gene_bins import GeneBins

        bins_list = [genes_b[i] for i in pick]
        counts = np.array([len(b) for b in bins_list])
        gb = GeneBins(
            genes=np.arange(n_genes),
            offsets=np.r_[0, np.cumsum(counts)].astype(np.int64),
            bins=np.concatenate(bins_list).astype(np.int64),
        )
        minus = rng.random(n_genes) < 0.5
        row: dict[str, Any] = {"genes": n_genes, "bins_total": int(counts.sum())}
        row["SED,logSED_ms"] = _timeit(
            lambda gb=gb, minus=minus: gene_stats(ref, alt, gb, minus, gt, ["SED", "logSED"])
        )
        row["all_11_ms_plus_pseudocounts"] = (
            _timeit(
                lambda gb=gb, minus=minus: gene_stats(
                    ref, alt, gb, minus, gt, list(STATS), pseudo=pseudo
                ),
                3,
            )
            + out["pseudocounts_ms"]
        )
        out[f"window_{n_genes}_genes"] = row
    t0 = time.perf_counter()
    n = 0
    for s in np.linspace(index.start[lo], index.end[hi - 1] - span, 1000).astype(int):
        g = index.overlapping(chrom, int(s), int(s) + span)
        n += len(gene_bins(index, g, int(s), BIN, N_BINS))
    # total seconds over 1,000 windows == milliseconds per window
    out["overlapping+gene_bins_ms_per_window"] = time.perf_counter() - t0
    out["mean_genes_per_window_synthetic"] = n / 1000
    return out


def bench_background(n_bg: int, k: int) -> dict[str, Any]:
    from grelu_cli.genes.calibrate import BackgroundQuantiles, stat_percentiles

    rng = np.random.default_rng(1)
    bg = rng.normal(size=(n_bg, k)).astype(np.float32)
    t0 = time.perf_counter()
    q = BackgroundQuantiles(bg)
    build = time.perf_counter() - t0
    scores = rng.normal(size=(40, k)).astype(np.float32)
    return {
        "background_pairs": n_bg,
        "tasks": k,
        "build_s": build,
        "query_40_genes_ms": _timeit(lambda: q(scores)),
        "pct_grid_over_background_s": _timeit(lambda: stat_percentiles(bg), 1) / 1000,
    }


def variant_positions(index: Any, n: int) -> list[int]:
    """n VCF positions 400 kb apart on the dense annotation's chromosome (windows apart)."""
    return [int(index.start[0]) + 300_000 + 400_007 * i for i in range(n)]


def dense_annotation(tmp: Path, n_variants: int) -> tuple[Path, Any]:
    """The dense single-chromosome GTF and its index, long enough for 2 x n_variants."""
    from grelu_cli.genome.genes import load_gene_index

    gtf = tmp / "dense.gtf"
    write_gtf(gtf, 100 + 200 * n_variants, seed=5, chroms=["chr1"], step=DENSE_STEP)
    return gtf, load_gene_index(gtf)


def bench_compare(
    gtf: Path,
    index: Any,
    n_variants: int,
    n_tracks: int = N_TRACKS,
    n_pairs: int = N_PAIRS,
    n_bins: int = N_BINS,
) -> dict[str, Any]:
    """Part 4: Calico's per-variant loop against GeneScorer (genes_vs_calico.compare), our
    cost against the forward pass, and predict --genes' reduction per window."""
    from genes_vs_calico import compare, reduction_per_window

    from grelu_cli.genes.stats import STATS

    positions = variant_positions(index, n_variants)
    sets = {"SED,logSED": ["SED", "logSED"], "all_11": list(STATS)}
    out = compare(gtf, index, positions, "chr1", n_tracks, n_pairs, BIN, n_bins, sets, CROP)
    for label in sets:
        per_variant = out[label]["ours_s_per_variant"]
        # A scored allele is two windows (ref and alt), 2 forward passes; the strict figure
        # charges it all to one pass.
        out[label]["ours_pct_of_one_forward"] = 100 * per_variant / FORWARD_S
        out[label]["ours_pct_of_two_forwards"] = 100 * per_variant / (2 * FORWARD_S)
    mid = len(index) // 2
    out["predict_genes_reduction"] = reduction_per_window(
        index, [mid, mid + 1], n_tracks, n_pairs, BIN, n_bins, CROP
    )
    return out


def measure_scoring_rss(gtf: Path, n_variants: int) -> dict[str, Any]:
    """Part 5: peak RSS of scoring 2N variants in a fresh process (after N and 2N)."""
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    cmd = [sys.executable, __file__, "--child-rss", str(gtf), "--variants", str(n_variants)]
    text = subprocess.run(cmd, stdout=subprocess.PIPE, env=env, text=True, check=True).stdout
    return dict(json.loads(text.strip().splitlines()[-1]))


def _child_rss(gtf: str, n_variants: int) -> None:
    from genes_vs_calico import scoring_rss

    from grelu_cli.genes.stats import STATS
    from grelu_cli.genome.genes import load_gene_index

    positions = variant_positions(load_gene_index(gtf), 2 * n_variants)
    res = scoring_rss(
        Path(gtf), positions, "chr1", N_TRACKS, N_PAIRS, BIN, N_BINS, list(STATS), CROP
    )
    print(json.dumps(res))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--genes", type=int, default=60_000)
    ap.add_argument("--background", type=int, default=2_000)
    ap.add_argument("--json", type=Path)
    ap.add_argument(
        "--skip-load",
        action="store_true",
        help="only parts 2 and 3 (still writes a small GTF for realistic gene bins)",
    )
    ap.add_argument("--variants", type=int, default=3, help="variants per side, part 4")
    ap.add_argument("--skip-compare", action="store_true", help="leave out parts 4 and 5")
    ap.add_argument("--child-rss", help=argparse.SUPPRESS)
    ap.add_argument("--child-load", help=argparse.SUPPRESS)
    ap.add_argument("--how", default="ours", help=argparse.SUPPRESS)
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    if args.child_load:
        _child_load(args.child_load, args.how)
        return
    if args.child_rss:
        _child_rss(args.child_rss, args.variants)
        return
    from grelu_cli.genome.genes import load_gene_index

    res: dict[str, Any] = {"cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory() as tmp:
        gtf = Path(tmp) / "synthetic.gtf"
        t0 = time.perf_counter()
        res["gtf_lines"] = write_gtf(gtf, 3_000 if args.skip_load else args.genes)
        res["gtf_mb"] = gtf.stat().st_size / 2**20
        res["gtf_write_s"] = time.perf_counter() - t0
        print(json.dumps(res), flush=True)
        if not args.skip_load:
            res["load_ours"] = measure_load(gtf, "ours")
            print(json.dumps(res["load_ours"]), flush=True)
            res["load_pyarrow_exon_columns_only"] = measure_load(gtf, "pyarrow")
            print(json.dumps(res["load_pyarrow_exon_columns_only"]), flush=True)
        index = load_gene_index(gtf)
        res["stats"] = bench_stats(gtf, index)
        print(json.dumps(res["stats"]), flush=True)
        if not args.skip_compare:
            dense, dense_index = dense_annotation(Path(tmp), args.variants)
            res["compare"] = bench_compare(dense, dense_index, args.variants)
            print(json.dumps(res["compare"]), flush=True)
            res["scoring_rss"] = measure_scoring_rss(dense, args.variants)
            print(json.dumps(res["scoring_rss"]), flush=True)
    res["background"] = bench_background(args.background, res["stats"]["gene_tasks"])
    worst = max(
        v["all_11_ms_plus_pseudocounts"] for k, v in res["stats"].items() if k.startswith("window_")
    )
    res["overhead_vs_forward_pct"] = {
        "all_11_stats_40_genes": 100 * worst / 1000 / FORWARD_S,
        "SED,logSED_40_genes": 100
        * res["stats"]["window_40_genes"]["SED,logSED_ms"]
        / 1000
        / FORWARD_S,
    }
    print(json.dumps(res, indent=2))
    if args.json:
        args.json.write_text(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
