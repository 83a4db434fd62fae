# ruff: noqa: SIM115, B007, RUF059, UP031  (kept as Calico wrote it)
"""An independent numpy transcription of Calico's gene scoring, one variant at a time.

Transcribed as literally as possible from calico/borzoi ``src/scripts/borzoi_sed.py``
(``main``'s per-SNP loop, ``make_snpseq_bedt``, ``map_snpseq_genes``, ``write_snp``,
``write_pct``) and calico/baskerville ``gene.py`` (``Transcriptome.read_gtf``, ``gtf_kv``,
``Gene``) and ``dataset.py`` (``targets_prep_strand``, ``untransform_preds1``). Python loops
as Calico writes them. Replaced, because the libraries are not installed here:

- pybedtools ``intersect(wo=True)``: a loop over (exon, SNP sequence) pairs that overlap by
  at least one base, in the same order (genes file order, then SNPs).
- intervaltree ``IntervalTree`` + ``merge_overlaps()`` (strict: touching intervals are not
  merged): a sorted list merged the same way.
- scipy ``rel_entr``: its definition, elementwise in a Python loop.
- h5py: ``sed_out`` is a dict of (scores, targets) float64 arrays; the float16 casts
  (``astype('float16')``, ``clip_float``) are left out so that values compare at float32.
- ``np.abs(x, 2)`` in ``write_snp``'s logD1 (numpy raises TypeError on it: the second
  positional argument is ``out``) is written ``np.abs(x)``, as the later borzoi_sed versions do.
"""

from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import pandas as pd

# --- baskerville gene.py -------------------------------------------------------------------


def gtf_kv(s):
    d = {}
    a = s.split(";")
    for key_val in a:
        if key_val.strip():
            eq_i = key_val.find("=")
            if eq_i != -1 and key_val[eq_i - 1] != '"':
                kvs = key_val.split("=")
            else:
                kvs = key_val.split()
            key = kvs[0]
            if kvs[1][0] == '"' and kvs[-1][-1] == '"':
                val = (" ".join(kvs[1:]))[1:-1].strip()
            else:
                val = (" ".join(kvs[1:])).strip()
            d[key] = val
    return d


class Gene:
    def __init__(self, chrom, strand, kv):
        self.chrom = chrom
        self.strand = strand
        self.kv = kv
        self.exons = []  # IntervalTree

    def add_exon(self, start, end):
        if (start, end) not in self.exons:
            self.exons.append((start, end))

    def get_exons(self):
        # IntervalTree.merge_overlaps() (strict=True): merge intervals that overlap, not touch
        merged = []
        for s, e in sorted(self.exons):
            if merged and s < merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], e))
            else:
                merged.append((s, e))
        self.exons = merged
        return sorted(self.exons)

    def span(self):
        exon_starts = [exon[0] for exon in self.exons]
        exon_ends = [exon[1] for exon in self.exons]
        return min(exon_starts), max(exon_ends)


class Transcriptome:
    def __init__(self, gtf_file):
        self.genes = {}
        self.read_gtf(gtf_file)

    def read_gtf(self, gtf_file):
        gtf_in = open(gtf_file)
        line = gtf_in.readline()
        while line[0] == "#":
            line = gtf_in.readline()
        while line:
            a = line.split("\t")
            if a[2] == "exon":
                chrom = a[0]
                start = int(a[3])
                end = int(a[4])
                strand = a[6]
                kv = gtf_kv(a[8])
                gene_id = kv["gene_id"]
                if gene_id not in self.genes:
                    self.genes[gene_id] = Gene(chrom, strand, kv)
                self.genes[gene_id].add_exon(start - 1, end)
            line = gtf_in.readline()
        gtf_in.close()

    def bedtool_exon(self):
        bed_lines = []
        for gene_id, gene in self.genes.items():
            for exon in gene.get_exons():
                bed_lines.append((gene.chrom, exon[0], exon[1], gene_id, ".", gene.strand))
        return bed_lines

    def bedtool_span(self):
        bed_lines = []
        for gene_id, gene in self.genes.items():
            gene_start, gene_end = gene.span()
            bed_lines.append((gene.chrom, gene_start, gene_end, gene_id, ".", gene.strand))
        return bed_lines


# --- borzoi_sed.py -------------------------------------------------------------------------


class SNP:
    """The fields of baskerville's vcf.SNP that borzoi_sed.py reads."""

    def __init__(self, chrom, pos, rsid, ref_allele, alt_allele):
        self.chr = chrom
        self.pos = pos
        self.rsid = rsid
        self.ref_allele = ref_allele
        self.alt_alleles = [alt_allele]
        self.flipped = False

    def longest_alt(self):
        return max([len(al) for al in self.alt_alleles])


def make_snpseq_bedt(snps, seq_len):
    num_snps = len(snps)
    left_len = seq_len // 2
    right_len = seq_len // 2
    snpseq_bed_lines = []
    for si in range(num_snps):
        snpseq_start = max(0, snps[si].pos - left_len)
        snpseq_end = snps[si].pos + right_len
        snpseq_end += max(0, len(snps[si].ref_allele) - snps[si].longest_alt())
        snpseq_bed_lines.append((snps[si].chr, snpseq_start, snpseq_end, si))
    return snpseq_bed_lines


def _intersect_wo(genes_bedt, snpseq_bedt):
    """pybedtools ``a.intersect(b, wo=True)``: a's columns, then b's, then the overlap."""
    for g in genes_bedt:
        for s in snpseq_bedt:
            overlap = min(g[2], s[2]) - max(g[1], s[1])
            if g[0] == s[0] and overlap > 0:
                yield [str(v) for v in (*g, *s, overlap)]


def map_snpseq_genes(
    snps, seq_len, transcriptome, model_stride, span, majority_overlap=True, intron1=False
):
    if span:
        genes_bedt = transcriptome.bedtool_span()
    else:
        genes_bedt = transcriptome.bedtool_exon()
    snpseq_bedt = make_snpseq_bedt(snps, seq_len)
    snpseq_gene_slice = []
    for snp in snps:
        snpseq_gene_slice.append(OrderedDict())
    for overlap in _intersect_wo(genes_bedt, snpseq_bedt):
        gene_id = overlap[3]
        gene_start = int(overlap[1])
        gene_end = int(overlap[2])
        seq_start = int(overlap[7])
        seq_end = int(overlap[8])
        si = int(overlap[9])
        seq_len_chop = seq_end - seq_start
        seq_start -= seq_len - seq_len_chop
        gene_seq_start = max(0, gene_start - seq_start)
        gene_seq_end = max(0, gene_end - seq_start)
        if majority_overlap:
            bin_start = int(np.round(gene_seq_start / model_stride))
            bin_end = int(np.round(gene_seq_end / model_stride))
        else:
            bin_start = int(np.floor(gene_seq_start / model_stride))
            bin_end = int(np.ceil(gene_seq_end / model_stride))
        if intron1:
            bin_start -= 1
            bin_end += 1
        bin_max = int(seq_len / model_stride)
        bin_start = min(bin_start, bin_max)
        bin_end = min(bin_end, bin_max)
        bin_start = max(0, bin_start)
        bin_end = max(0, bin_end)
        if bin_end - bin_start > 0:
            snpseq_gene_slice[si].setdefault(gene_id, []).extend(range(bin_start, bin_end))
    for si in range(len(snps)):
        for gene_id, gene_slice in snpseq_gene_slice[si].items():
            snpseq_gene_slice[si][gene_id] = np.unique(gene_slice)
    return snpseq_gene_slice


def rel_entr(x, y):
    """scipy.special.rel_entr, from its documented definition, one element at a time."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    out = np.empty(np.broadcast(x, y).shape)
    for idx in np.ndindex(out.shape):
        xi, yi = float(x[idx]), float(y[idx])
        if math.isnan(xi) or math.isnan(yi):
            out[idx] = math.nan
        elif xi > 0 and yi > 0:
            out[idx] = xi * math.log(xi / yi)
        elif xi == 0 and yi >= 0:
            out[idx] = 0.0
        else:
            out[idx] = math.inf
    return out


def write_snp(ref_preds, alt_preds, sed_out, xi, sed_stats, pseudocounts):
    seq_len, num_targets = ref_preds.shape
    ref_preds_log = np.log2(ref_preds + 1)
    alt_preds_log = np.log2(alt_preds + 1)
    ref_preds_sum = ref_preds.sum(axis=0)
    alt_preds_sum = alt_preds.sum(axis=0)
    if "SED" in sed_stats:
        sed = alt_preds_sum - ref_preds_sum
        sed_out["SED"][xi] = sed
    if "logSED" in sed_stats:
        log_sed = np.log2(alt_preds_sum + 1) - np.log2(ref_preds_sum + 1)
        sed_out["logSED"][xi] = log_sed
    if "D1" in sed_stats:
        diff_abs = np.abs(ref_preds - alt_preds)
        diff_norm1 = diff_abs.sum(axis=0)
        sed_out["D1"][xi] = diff_norm1
    if "logD1" in sed_stats:
        diff1_log = np.abs(ref_preds_log - alt_preds_log)
        diff_log_norm1 = diff1_log.sum(axis=0)
        sed_out["logD1"][xi] = diff_log_norm1
    if "D2" in sed_stats:
        diff2 = np.power(ref_preds - alt_preds, 2)
        diff_norm2 = np.sqrt(diff2.sum(axis=0))
        sed_out["D2"][xi] = diff_norm2
    if "logD2" in sed_stats:
        diff2_log = np.power(ref_preds_log - alt_preds_log, 2)
        diff_log_norm2 = np.sqrt(diff2_log.sum(axis=0))
        sed_out["logD2"][xi] = diff_log_norm2
    ref_preds_norm = ref_preds + pseudocounts
    ref_preds_norm /= ref_preds_norm.sum(axis=0)
    alt_preds_norm = alt_preds + pseudocounts
    alt_preds_norm /= alt_preds_norm.sum(axis=0)
    if "nD2" in sed_stats:
        ndiff2 = np.power(ref_preds_norm - alt_preds_norm, 2)
        ndiff_norm2 = np.sqrt(ndiff2.sum(axis=0))
        sed_out["nD2"][xi] = ndiff_norm2
    if "nDi" in sed_stats:
        ndiff_abs = np.abs(ref_preds_norm - alt_preds_norm)
        ndiff_normi = ndiff_abs.max(axis=0)
        sed_out["nDi"][xi] = ndiff_normi
    if "JS" in sed_stats:
        ref_alt_entr = rel_entr(ref_preds_norm, alt_preds_norm).sum(axis=0)
        alt_ref_entr = rel_entr(alt_preds_norm, ref_preds_norm).sum(axis=0)
        js_dist = (ref_alt_entr + alt_ref_entr) / 2
        sed_out["JS"][xi] = js_dist
    if "REF" in sed_stats:
        sed_out["REF"][xi] = ref_preds_sum
    if "ALT" in sed_stats:
        sed_out["ALT"][xi] = alt_preds_sum


def write_pct(sed_out, sed_stats):
    d_fine = 0.001
    d_coarse = 0.01
    percentiles_neg = np.arange(d_fine, 0.1, d_fine)
    percentiles_base = np.arange(0.1, 0.9, d_coarse)
    percentiles_pos = np.arange(0.9, 1, d_fine)
    percentiles = np.concatenate([percentiles_neg, percentiles_base, percentiles_pos])
    sed_out["percentiles"] = percentiles
    for sad_stat in sed_stats:
        if sad_stat not in ["REF", "ALT"]:
            sad_stat_pct = "%s_pct" % sad_stat
            sad_pct = np.percentile(sed_out[sad_stat], 100 * percentiles, axis=0).T
            sed_out[sad_stat_pct] = sad_pct


def score_snps(snps, preds, gtf_file, targets_df, seq_len, model_stride, sed_stats, span=False):
    """``borzoi_sed.py main`` from "read genes" to the end of the SNP loop.

    Args:
        snps: [SNP]; preds: {rsid: (ref_preds (L, T), alt_preds (L, T))} already untransformed.
        targets_df: Calico's targets table (index 0..T-1, identifier, strand_pair).

    Returns:
        (sed_out dict, [(rsid, gene_id)] per score row, {(rsid, gene_id): bins},
        targets_strand_df).
    """
    targets_df = targets_df.copy()
    targets_strand_df = targets_prep_strand(targets_df)
    transcriptome = Transcriptome(gtf_file)
    gene_strand = {}
    for gene_id, gene in transcriptome.genes.items():
        gene_strand[gene_id] = gene.strand
    snpseq_gene_slice = map_snpseq_genes(snps, seq_len, transcriptome, model_stride, span)
    num_snps_pre = len(snps)
    snp_gene_mask = np.array([len(sgs) > 0 for sgs in snpseq_gene_slice])
    snps = [snps[si] for si in range(num_snps_pre) if snp_gene_mask[si]]
    snpseq_gene_slice = [snpseq_gene_slice[si] for si in range(num_snps_pre) if snp_gene_mask[si]]
    rows = [(si, g) for si, sl in enumerate(snpseq_gene_slice) for g in sl]
    sed_out = {s: np.zeros((len(rows), targets_strand_df.shape[0])) for s in sed_stats}
    xi = 0
    for si, snp in enumerate(snps):
        ref_preds, alt_preds = preds[snp.rsid]
        for gene_id, gene_slice in snpseq_gene_slice[si].items():
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
            write_snp(ref_preds_gene, alt_preds_gene, sed_out, xi, sed_stats, pseudocounts)
            xi += 1
    bins = {(snps[si].rsid, g): snpseq_gene_slice[si][g] for si, g in rows}
    return sed_out, [(snps[si].rsid, g) for si, g in rows], bins, targets_strand_df


# --- baskerville dataset.py ----------------------------------------------------------------


def targets_prep_strand(targets_df):
    targets_strand = []
    for _, target in targets_df.iterrows():
        if target.strand_pair == target.name:
            targets_strand.append(".")
        else:
            targets_strand.append(target.identifier[-1])
    targets_df["strand"] = targets_strand
    strand_mask = targets_df.strand != "-"
    targets_strand_df = targets_df[strand_mask]
    return targets_strand_df


def untransform_preds1(preds, targets_df, unscale=False, unclip=True):
    scale = np.expand_dims(np.array(targets_df.scale), axis=0)
    preds = preds / scale
    if unclip:
        cs = np.expand_dims(np.array(targets_df.clip_soft), axis=0)
        preds_unclip = cs + (preds - cs) ** 2
        preds = np.where(preds > cs, preds_unclip, preds)
    sqrt_mask = np.array([ss.find("_sqrt") != -1 for ss in targets_df.sum_stat])
    preds[:, sqrt_mask] = (preds[:, sqrt_mask]) ** (4 / 3)
    if not unscale:
        preds = preds * scale
    return preds


def calico_targets(names, strand_pair, **cols) -> pd.DataFrame:
    """A targets table as Calico's scripts read it (index 0..T-1, identifier, description)."""
    df = pd.DataFrame(
        {"identifier": names, "description": names, "strand_pair": strand_pair, **cols}
    )
    df.index.name = "index"
    return df
