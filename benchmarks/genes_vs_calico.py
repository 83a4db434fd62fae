"""Gene scoring side by side: Calico's ``borzoi_sed.py`` loop against our :class:`GeneScorer`.

Used by ``bench_genes.py`` (part 4). Calico's side is the literal numpy transcription in
``tests/genes/calico_reference.py`` (imported by path: test code, fine for a benchmark): its
``Transcriptome`` and ``map_snpseq_genes`` once for all variants (as ``borzoi_sed.py`` does
before its loop; not timed per variant), then, per variant, the body of ``score_snps``' loop:
for every gene the exon-bin slice, the strand mask over the targets, the 25th-percentile
pseudocounts of the strand-masked ref profile (recomputed per gene, whatever the statistics)
and ``write_snp``. ``rel_entr`` is scipy's when scipy is installed (Calico imports it from
scipy; the reference's own is a Python loop), and the profiles are float32 (L, T), as the
model returns them. Our side is ``GeneScorer`` on the same profiles in the predictor's
(N, T, L) layout, gene lookup included.

Both sides get the same seeded profiles, regenerated per variant (no N x 374 MB held).
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
Profiles = Callable[[int], tuple[np.ndarray, np.ndarray]]


def calico_module(scipy_rel_entr: bool = True) -> ModuleType:
    """tests/genes/calico_reference.py as a private module (its ``rel_entr`` replaced by
    scipy's, as Calico runs it, when scipy imports)."""
    spec = importlib.util.spec_from_file_location(
        "_bench_calico_reference", ROOT / "tests" / "genes" / "calico_reference.py"
    )
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    if scipy_rel_entr:
        try:
            from scipy.special import rel_entr  # type: ignore[import-untyped]
        except ImportError:  # the reference's Python-loop rel_entr stays (slower JS)
            return mod
        mod.rel_entr = rel_entr  # type: ignore[attr-defined]
    return mod


def borzoi_tasks(n_tracks: int, n_pairs: int) -> tuple[list[str], list[int]]:
    """Track names and strand_pair: n_pairs adjacent ``+``/``-`` pairs, then unstranded."""
    names: list[str] = []
    pairs: list[int] = []
    for i in range(n_pairs):
        names += [f"RNA:{i}+", f"RNA:{i}-"]
        pairs += [2 * i + 1, 2 * i]
    for j in range(n_tracks - 2 * n_pairs):
        names.append(f"DNASE:{j}")
        pairs.append(len(pairs))
    return names, pairs


def random_profiles(n_bins: int, n_tracks: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded non-negative ref and alt profiles: (L, T) float32 each."""
    rng = np.random.default_rng(seed)
    ref = rng.gamma(0.5, 5.0, size=(n_bins, n_tracks)).astype(np.float32)
    alt = ref * rng.lognormal(0, 0.05, size=ref.shape).astype(np.float32)
    return ref, alt


@dataclass(frozen=True)
class Allele:
    """What :class:`GeneScorer` reads of a planned allele."""

    chrom: str
    window_start: int


def calico_scores(
    mod: ModuleType,
    gtf: Path,
    positions: Sequence[int],
    chrom: str,
    profiles: Profiles,
    names: list[str],
    pairs: list[int],
    bin_size: int,
    n_bins: int,
    stats: Sequence[str],
) -> dict[str, Any]:
    """Calico's per-variant loop: {"scores": {(si, gene_id): {stat: (K,)}}, "bins": {(si,
    gene_id): bins}, "seconds": [per variant], "setup_s"}."""
    seq_len = n_bins * bin_size
    t0 = time.perf_counter()
    snps = [mod.SNP(chrom, p, f"v{i}", "A", "G") for i, p in enumerate(positions)]
    targets_df = mod.calico_targets(names, pairs)
    mod.targets_prep_strand(targets_df)  # adds the strand column, as borzoi_sed.py
    transcriptome = mod.Transcriptome(str(gtf))
    gene_strand = {g: gene.strand for g, gene in transcriptome.genes.items()}
    slices = mod.map_snpseq_genes(snps, seq_len, transcriptome, bin_size, False)
    setup = time.perf_counter() - t0
    scores: dict[tuple[int, str], dict[str, np.ndarray]] = {}
    seconds = []
    for si in range(len(snps)):
        ref_preds, alt_preds = profiles(si)
        n_genes = len(slices[si])
        k = int((targets_df.strand != "-").sum())
        sed_out = {s: np.zeros((n_genes, k)) for s in stats}
        t0 = time.perf_counter()
        # score_snps' loop body (tests/genes/calico_reference.py), one SNP.
        for xi, (gene_id, gene_slice) in enumerate(slices[si].items()):
            ref_preds_gene = ref_preds[gene_slice]
            alt_preds_gene = alt_preds[gene_slice]
            if gene_strand[gene_id] == "+":
                gene_strand_mask = targets_df.strand != "-"
            else:
                gene_strand_mask = targets_df.strand != "+"
            ref_preds_gene = ref_preds_gene[..., gene_strand_mask]
            alt_preds_gene = alt_preds_gene[..., gene_strand_mask]
            ref_preds_strand = ref_preds[..., gene_strand_mask]
            pseudocounts = np.percentile(ref_preds_strand, 25, axis=0)
            mod.write_snp(ref_preds_gene, alt_preds_gene, sed_out, xi, stats, pseudocounts)
        seconds.append(time.perf_counter() - t0)
        for xi, gene_id in enumerate(slices[si]):
            scores[(si, gene_id)] = {s: sed_out[s][xi] for s in stats}
        del ref_preds, alt_preds
    bins = {(si, g): np.asarray(b) for si, d in enumerate(slices) for g, b in d.items()}
    return {"scores": scores, "bins": bins, "seconds": seconds, "setup_s": setup}


def our_scores(
    index: Any,
    positions: Sequence[int],
    chrom: str,
    profiles: Profiles,
    names: list[str],
    pairs: list[int],
    bin_size: int,
    n_bins: int,
    stats: Sequence[str],
    offset: int = 0,
) -> dict[str, Any]:
    """GeneScorer per variant (one allele per call, as a group of one): the same dict as
    :func:`calico_scores`. ``offset``: the output span's start in the window (crop)."""
    import pandas as pd

    from grelu_cli.genes.strands import gene_tasks
    from grelu_cli.genes.variant_sed import GeneScorer, OutputSpan

    gt = gene_tasks(pd.DataFrame({"name": names, "strand_pair": pairs}))
    scorer = GeneScorer(index, OutputSpan(offset, bin_size, n_bins), gt, stats)
    half = n_bins * bin_size // 2
    scores: dict[tuple[int, str], dict[str, np.ndarray]] = {}
    bins: dict[tuple[int, str], np.ndarray] = {}
    seconds = []
    for si, pos in enumerate(positions):
        allele = Allele(chrom, int(pos) - half - offset)
        r, a = profiles(si)
        # The predictor's layout: (N, T, L) contiguous (not timed: it is what it returns).
        ref_t, alt_t = np.ascontiguousarray(r.T)[None], np.ascontiguousarray(a.T)[None]
        del r, a
        t0 = time.perf_counter()
        res = scorer([allele], ref_t, alt_t)
        seconds.append(time.perf_counter() - t0)
        gb = scorer.genes(allele)
        for row, g in enumerate(res.gene.tolist()):
            key = (si, str(index.gene_id[g]))
            scores[key] = {s: res.scores[s][row] for s in stats}
            j = int(np.searchsorted(gb.genes, g))
            bins[key] = gb.bins[gb.offsets[j] : gb.offsets[j + 1]]
        del ref_t, alt_t
    return {"scores": scores, "bins": bins, "seconds": seconds}


def agreement(ours: dict[str, Any], theirs: dict[str, Any], rtol: float = 1e-5) -> dict[str, Any]:
    """Do both sides have the same (variant, gene) rows, the same bins and statistics within
    ``rtol`` (``np.isclose`` with atol 0; inf and NaN must match)? -> {"ok", "rows",
    "mismatched_values", "max_rel_diff": {stat: float}, "problems": [first few]}."""
    problems: list[str] = []
    a, b = ours["scores"], theirs["scores"]
    if sorted(a) != sorted(b):
        problems.append(f"rows differ: {len(set(a) ^ set(b))} (variant, gene) keys")
    bad = 0
    max_rel: dict[str, float] = {}
    for key in sorted(set(a) & set(b)):
        if not np.array_equal(ours["bins"][key], theirs["bins"][key]):
            problems.append(f"{key}: bins differ")
        for s, want in b[key].items():
            got = np.asarray(a[key][s], dtype=np.float64)
            want = np.asarray(want, dtype=np.float64)
            close = np.isclose(got, want, rtol=rtol, atol=0.0, equal_nan=True)
            if not close.all():
                bad += int((~close).sum())
                if len(problems) < 5:
                    i = int(np.flatnonzero(~close)[0])
                    problems.append(f"{key} {s}[{i}]: ours {got[i]!r}, Calico {want[i]!r}")
            fin = np.isfinite(want) & np.isfinite(got) & (want != 0)
            rel = np.abs(got[fin] - want[fin]) / np.abs(want[fin])
            max_rel[s] = max(max_rel.get(s, 0.0), float(rel.max()) if rel.size else 0.0)
    return {
        "ok": not problems and bad == 0,
        "rows": len(b),
        "mismatched_values": bad,
        "max_rel_diff": max_rel,
        "problems": problems[:5],
    }


def compare(
    gtf: Path,
    index: Any,
    positions: Sequence[int],
    chrom: str,
    n_tracks: int,
    n_pairs: int,
    bin_size: int,
    n_bins: int,
    stat_sets: dict[str, list[str]],
    offset: int = 0,
    rtol: float = 1e-5,
) -> dict[str, Any]:
    """Both sides on the same variants, per statistics set: seconds per variant, the ratio,
    genes per variant and the agreement."""
    mod = calico_module()
    names, pairs = borzoi_tasks(n_tracks, n_pairs)

    def profiles(si: int) -> tuple[np.ndarray, np.ndarray]:
        return random_profiles(n_bins, n_tracks, 1000 + si)

    out: dict[str, Any] = {
        "variants": len(positions),
        "tracks": n_tracks,
        "bins": n_bins,
        "rel_entr": "scipy" if isinstance(mod.rel_entr, np.ufunc) else "reference loop",
    }
    ours_by_set: dict[str, dict[str, Any]] = {}
    for label, stats in stat_sets.items():
        common = (positions, chrom, profiles, names, pairs, bin_size, n_bins, stats)
        theirs = calico_scores(mod, gtf, *common)
        ours = ours_by_set[label] = our_scores(index, *common, offset=offset)
        c_s, o_s = float(np.mean(theirs["seconds"])), float(np.mean(ours["seconds"]))
        genes = [sum(1 for si, _ in theirs["scores"] if si == i) for i in range(len(positions))]
        out[label] = {
            "calico_s_per_variant": c_s,
            "ours_s_per_variant": o_s,
            "calico_over_ours": c_s / o_s if o_s > 0 else float("inf"),
            "calico_seconds": theirs["seconds"],
            "ours_seconds": ours["seconds"],
            "calico_setup_s": theirs["setup_s"],
            "genes_per_variant": genes,
            # Calico computes in float32: SED, a small difference of two large float32 sums,
            # loses digits there (ours sums in float64), so this one is informative only.
            "vs_calico_float32": agreement(ours, theirs, rtol),
        }
    # The agreement check: Calico's arithmetic in float64 on the same float32 profiles (as
    # tests/genes/test_sed_reference.py), first variant, the largest statistics set.
    label = max(stat_sets, key=lambda k: len(stat_sets[k]))

    def profiles64(si: int) -> tuple[np.ndarray, np.ndarray]:
        r, a = profiles(si)
        return r.astype(np.float64), a.astype(np.float64)

    ref64 = calico_scores(
        mod, gtf, positions[:1], chrom, profiles64, names, pairs, bin_size, n_bins,
        stat_sets[label],
    )  # fmt: skip
    ours0 = {
        k: {key: v for key, v in ours_by_set[label][k].items() if key[0] == 0}
        for k in ("scores", "bins")
    }
    out["agreement"] = {"stats": label, "variants": 1, **agreement(ours0, ref64, rtol)}
    return out


def _rss_mb() -> dict[str, float]:
    """This process's peak (VmHWM) and current (VmRSS) resident memory, MB. Not getrusage's
    ru_maxrss: after fork + exec that starts at the parent's RSS at the fork."""
    with open("/proc/self/status") as f:
        kb = {k: v.split()[0] for k, _, v in (line.partition(":") for line in f) if k[:2] == "Vm"}
    return {"peak_rss_mb": int(kb["VmHWM"]) / 1024, "rss_mb": int(kb["VmRSS"]) / 1024}


def scoring_rss(
    gtf: Path,
    positions: Sequence[int],
    chrom: str,
    n_tracks: int,
    n_pairs: int,
    bin_size: int,
    n_bins: int,
    stats: Sequence[str],
    offset: int = 0,
) -> dict[str, Any]:
    """Peak and current RSS of this process (run it in a fresh one) after loading the GTF,
    after scoring the first half of ``positions`` and after all of them (results kept, as
    a writer's buffer would until flushed)."""
    from grelu_cli.genome.genes import load_gene_index

    index = load_gene_index(gtf)
    out: dict[str, Any] = {"after_index": _rss_mb()}
    names, pairs = borzoi_tasks(n_tracks, n_pairs)
    half = len(positions) // 2

    def profiles(si: int) -> tuple[np.ndarray, np.ndarray]:
        return random_profiles(n_bins, n_tracks, 1000 + si)

    for done, part in ((half, positions[:half]), (len(positions), positions[half:])):
        our_scores(index, part, chrom, profiles, names, pairs, bin_size, n_bins, stats, offset)
        out[f"after_{done}_variants"] = _rss_mb()
    return out


def reduction_per_window(
    index: Any,
    genes: Sequence[int],
    n_tracks: int,
    n_pairs: int,
    bin_size: int,
    n_bins: int,
    offset: int,
    repeats: int = 3,
) -> dict[str, Any]:
    """``grelu predict --genes``' reduction (:class:`GeneReducer`) of one block with a window
    centred on each of ``genes``: median seconds per window over ``repeats``."""
    import pandas as pd

    from grelu_cli.core.block import Block
    from grelu_cli.core.window import Window
    from grelu_cli.genes.predicted import GeneReducer
    from grelu_cli.genes.strands import gene_tasks

    names, pairs = borzoi_tasks(n_tracks, n_pairs)
    gt = gene_tasks(pd.DataFrame({"name": names, "strand_pair": pairs}))
    span = n_bins * bin_size
    windows, starts = [], []
    for i, g in enumerate(genes):
        mid = (int(index.start[g]) + int(index.end[g])) // 2
        out_start = mid - span // 2
        ws = out_start - offset
        windows.append(Window(i, int(g), f"g{g}", index.chroms[int(index.chrom[g])], 0, 1, "+",
                              ws, ws + span + 2 * offset))  # fmt: skip
        starts.append(out_start + bin_size * np.arange(n_bins, dtype=np.int64))
    values = np.stack(
        [np.ascontiguousarray(random_profiles(n_bins, n_tracks, 7 + i)[0].T) for i in genes]
    )
    bin_start = np.stack(starts)
    block = Block(windows, values, np.arange(n_bins), bin_start, bin_start + bin_size)
    times = []
    rows = 0
    for _ in range(repeats):
        reducer = GeneReducer(index, gt, "majority", False, "sum")
        t0 = time.perf_counter()
        got = list(reducer.reduce([block], (min(genes), max(genes) + 1)))
        times.append(time.perf_counter() - t0)
        rows = sum(len(g) for g, _ in got)
    return {
        "windows": len(genes),
        "genes_written": rows,
        "s_per_window": float(np.median(times)) / len(genes),
    }
