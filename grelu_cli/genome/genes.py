"""A compact index of genes: each gene's exons (union over its transcripts) in numpy arrays.

A gene is a ``gene_id`` with its ``gene_name``, ``gene_type``, chrom, strand and the union of
its ``exon`` intervals over all its transcripts (overlapping or touching exons merged). Genes
whose exons disagree on chrom or strand are skipped and listed in :attr:`GeneIndex.skipped`.
Genes are sorted by (chrom, start) so that :meth:`GeneIndex.overlapping` finds the genes of an
interval with two binary searches (no loop over genes). A GENCODE basic annotation (~60k genes,
~700k exons) takes a few tens of MB.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from grelu_cli.core.alias import ChromResolver
from grelu_cli.io.readers.gtf import ExonRecord, read_exons

# gene_id versions: ENSG00000141510.18 -> ENSG00000141510 (also before GENCODE's _PAR_Y).
_VERSION = re.compile(r"\.\d+(?=(_PAR_[XY])?$)")
# Exon ends are shifted by gene number << 40 so one running maximum never crosses genes;
# coordinates stay below 2**40 (1.1e12, larger than any chromosome).
_SHIFT = 40


def unversioned(gene_id: str) -> str:
    """``gene_id`` without its ``.N`` version suffix."""
    return _VERSION.sub("", gene_id)


@dataclass(frozen=True)
class SkippedGene:
    """A gene left out of the index, with why (its exons disagree on chrom or strand)."""

    gene_id: str
    gene_name: str
    reason: str


@dataclass(frozen=True)
class GeneIndex:
    """Genes sorted by (chrom, start); G genes, E merged exons, C chromosomes.

    Attributes:
        chroms: (C,) chromosome names in first-seen order; ``chrom`` indexes them.
        gene_id, gene_name, gene_type: (G,) object arrays of str.
        chrom: (G,) int32 chromosome number. strand: (G,) '<U1' ('+', '-', '.', '?').
        start, end: (G,) int64, the exon span [first exon start, last exon end), 0-based.
        exon_offsets: (G+1,) int64; gene g's exons are rows exon_offsets[g]:exon_offsets[g+1]
            of exon_start/exon_end: (E,) int64, sorted, disjoint, non-touching.
        chrom_offsets: (C+1,) int64; chromosome c's genes are rows chrom_offsets[c]:[c+1].
        max_len: (C,) int64, the longest exon span on each chromosome (the search bound).
        skipped: genes left out because their exons disagree on chrom or strand.
    """

    chroms: list[str]
    gene_id: np.ndarray
    gene_name: np.ndarray
    gene_type: np.ndarray
    chrom: np.ndarray
    strand: np.ndarray
    start: np.ndarray
    end: np.ndarray
    exon_offsets: np.ndarray
    exon_start: np.ndarray
    exon_end: np.ndarray
    chrom_offsets: np.ndarray
    max_len: np.ndarray
    skipped: list[SkippedGene] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.gene_id)

    @property
    def minus(self) -> np.ndarray:
        """(G,) bool: genes read from '-' strand tracks (Calico: every strand but '+')."""
        return np.asarray(self.strand != "+")

    def exons(self, g: int) -> np.ndarray:
        """(n, 2) int64 merged exons of gene ``g``, 0-based half-open."""
        a, b = self.exon_offsets[g], self.exon_offsets[g + 1]
        return np.stack([self.exon_start[a:b], self.exon_end[a:b]], axis=1)

    def overlapping(self, chrom: str, start: int, end: int, span: bool = False) -> np.ndarray:
        """Genes with at least one exon base in ``[start, end)`` (with ``span``: any base of
        their exon span), as ascending (n,) int64 gene numbers."""
        ci = self.chroms.index(chrom) if chrom in self.chroms else -1
        if ci < 0 or end <= start:
            return np.zeros(0, dtype=np.int64)
        lo, hi = int(self.chrom_offsets[ci]), int(self.chrom_offsets[ci + 1])
        starts = self.start[lo:hi]
        # A gene overlaps iff gstart < end and gend > start; gend <= gstart + max_len bounds
        # the first candidate from the left.
        a = lo + int(np.searchsorted(starts, start - self.max_len[ci], side="right"))
        b = lo + int(np.searchsorted(starts, end, side="left"))
        cand = np.arange(a, b, dtype=np.int64)
        cand = cand[self.end[cand] > start]
        if span or len(cand) == 0:
            return cand
        rows, offsets = ragged_rows(self.exon_offsets, cand)
        hit = (self.exon_start[rows] < end) & (self.exon_end[rows] > start)
        return cand[np.add.reduceat(hit.astype(np.int64), offsets[:-1]) > 0]

    def subset(self, keep: np.ndarray) -> GeneIndex:
        """The index of genes ``keep`` ((G,) bool mask or ascending gene numbers)."""
        idx = np.flatnonzero(keep) if keep.dtype == bool else np.asarray(keep, dtype=np.int64)
        rows, offsets = ragged_rows(self.exon_offsets, idx)
        chrom = self.chrom[idx]
        counts = np.bincount(chrom, minlength=len(self.chroms))
        return replace(
            self,
            gene_id=self.gene_id[idx],
            gene_name=self.gene_name[idx],
            gene_type=self.gene_type[idx],
            chrom=chrom,
            strand=self.strand[idx],
            start=self.start[idx],
            end=self.end[idx],
            exon_offsets=offsets,
            exon_start=self.exon_start[rows],
            exon_end=self.exon_end[rows],
            chrom_offsets=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
            max_len=_max_len(chrom, self.end[idx] - self.start[idx], len(self.chroms)),
        )


def ragged_rows(offsets: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of groups ``idx`` of a ragged array, concatenated: (rows (n,), offsets (k+1,))."""
    idx = np.asarray(idx, dtype=np.int64)
    lengths = offsets[idx + 1] - offsets[idx]
    new = np.zeros(len(idx) + 1, dtype=np.int64)
    np.cumsum(lengths, out=new[1:])
    rows = np.arange(new[-1], dtype=np.int64) - np.repeat(new[:-1] - offsets[idx], lengths)
    return rows, new


def _max_len(chrom: np.ndarray, length: np.ndarray, n_chroms: int) -> np.ndarray:
    out = np.zeros(n_chroms, dtype=np.int64)
    np.maximum.at(out, chrom, length)
    return out


def build_gene_index(records: Iterable[ExonRecord]) -> GeneIndex:
    """Index the exons of a stream of records (see :func:`grelu_cli.io.readers.gtf.read_exons`)."""
    genes: dict[str, int] = {}
    chroms: dict[str, int] = {}
    strands: dict[str, int] = {}
    names: list[str] = []
    types: list[str] = []
    g_col, c_col, s_col = array("q"), array("q"), array("q")
    st_col, en_col = array("q"), array("q")
    # Bound methods in locals: this loop runs once per exon (~1 M for GENCODE).
    g_add, c_add, s_add = g_col.append, c_col.append, s_col.append
    st_add, en_add = st_col.append, en_col.append
    for rec in records:
        gene_no = genes.get(rec.gene_id)
        if gene_no is None:
            gene_no = genes[rec.gene_id] = len(genes)
            names.append(rec.gene_name)
            types.append(rec.gene_type)
        g_add(gene_no)
        c_no = chroms.get(rec.chrom)
        c_add(chroms.setdefault(rec.chrom, len(chroms)) if c_no is None else c_no)
        s_no = strands.get(rec.strand)
        s_add(strands.setdefault(rec.strand, len(strands)) if s_no is None else s_no)
        st_add(rec.start)
        en_add(rec.end)
    chrom_names = list(chroms)
    strand_chars = np.array(list(strands) or ["+"], dtype="<U1")
    ids = np.array(list(genes), dtype=object)
    g, c, s = (np.frombuffer(a, dtype=np.int64) for a in (g_col, c_col, s_col))
    st, en = np.frombuffer(st_col, dtype=np.int64), np.frombuffer(en_col, dtype=np.int64)

    order = np.lexsort((st, g))
    g, c, s, st, en = g[order], c[order], s[order], st[order], en[order]
    first = np.flatnonzero(np.r_[True, g[1:] != g[:-1]]) if len(g) else np.zeros(0, np.int64)
    bad = np.zeros(len(ids), dtype=bool)
    skipped: list[SkippedGene] = []
    if len(g):
        for col, what in ((c, "chromosome"), (s, "strand")):
            lo, hi = np.minimum.reduceat(col, first), np.maximum.reduceat(col, first)
            for gi in np.flatnonzero(lo != hi):
                gene = int(g[first[gi]])
                if not bad[gene]:
                    bad[gene] = True
                    vals = np.unique(col[g == gene])
                    got = [
                        chrom_names[v] if what == "chromosome" else str(strand_chars[v])
                        for v in vals
                    ]
                    reason = f"its exons are on more than one {what}: {', '.join(got)}"
                    skipped.append(SkippedGene(str(ids[gene]), names[gene], reason))
    keep = ~bad[g]
    g, c, s, st, en = g[keep], c[keep], s[keep], st[keep], en[keep]

    # Merge each gene's sorted exons: a new interval starts where an exon starts after the
    # running maximum end of the gene's earlier exons (touching exons merge: same bins).
    shift = g << _SHIFT
    run_end = np.maximum.accumulate(en + shift) if len(g) else en
    new = np.r_[True, (st[1:] + shift[1:]) > run_end[:-1]] if len(g) else np.zeros(0, bool)
    heads = np.flatnonzero(new)
    m_gene, m_start = g[heads], st[heads]
    m_end = np.maximum.reduceat(en, heads) if len(heads) else en[:0]
    m_chrom, m_strand = c[heads], s[heads]

    gene_first = np.flatnonzero(np.r_[True, m_gene[1:] != m_gene[:-1]]) if len(heads) else heads
    kept = m_gene[gene_first]
    n_ex = np.diff(np.r_[gene_first, len(heads)])
    g_start = m_start[gene_first]
    g_end = np.maximum.reduceat(m_end, gene_first) if len(heads) else m_end[:0]
    g_chrom = m_chrom[gene_first]
    order = np.lexsort((g_start, g_chrom))  # genes by (chrom, start); stable on file order
    ex_off = np.r_[0, np.cumsum(n_ex)].astype(np.int64)
    rows, new_off = ragged_rows(ex_off, order)
    counts = np.bincount(g_chrom, minlength=len(chrom_names))
    return GeneIndex(
        chroms=chrom_names,
        gene_id=ids[kept[order]],
        gene_name=np.array(names, dtype=object)[kept[order]],
        gene_type=np.array(types, dtype=object)[kept[order]],
        chrom=g_chrom[order].astype(np.int32),
        strand=strand_chars[m_strand[gene_first][order]],
        start=g_start[order],
        end=g_end[order],
        exon_offsets=new_off,
        exon_start=m_start[rows],
        exon_end=m_end[rows],
        chrom_offsets=np.r_[0, np.cumsum(counts)].astype(np.int64),
        max_len=_max_len(g_chrom, g_end - g_start, len(chrom_names)),
        skipped=skipped,
    )


def load_gene_index(path: str | Path, fmt: str = "auto") -> GeneIndex:
    """Read a GTF/GFF3 (plain or gzip) into a :class:`GeneIndex` (exit 3 on a bad line)."""
    return build_gene_index(read_exons(path, fmt))


def select_genes(
    index: GeneIndex,
    gene_types: Collection[str] | None = None,
    gene_ids: Sequence[str] | None = None,
) -> tuple[GeneIndex, list[str]]:
    """Keep genes of ``gene_types`` and/or named by ``gene_ids``.

    A selector in ``gene_ids`` matches a gene by its ``gene_id``, its ``gene_id`` without the
    ``.N`` version (when the selector has none), or its ``gene_name``.

    Returns:
        (the selected index, the ``gene_ids`` selectors that matched no gene of that type).
    """
    keep = np.ones(len(index), dtype=bool)
    if gene_types:
        keep &= np.isin(index.gene_type.astype(str), list(gene_types))
    unmatched: list[str] = []
    if gene_ids is not None:
        want = set(gene_ids)
        by_id = np.isin(index.gene_id.astype(str), list(want))
        plain = np.array([unversioned(str(i)) for i in index.gene_id], dtype=object)
        by_plain = np.isin(plain.astype(str), list(want))
        by_name = np.isin(index.gene_name.astype(str), list(want))
        hit = by_id | by_plain | by_name
        found = set(index.gene_id[hit & keep]) | set(plain[hit & keep])
        found |= set(index.gene_name[hit & keep])
        unmatched = [i for i in gene_ids if i not in found]
        keep &= hit
    return index.subset(keep), unmatched


def rename_chroms(
    index: GeneIndex, known: Collection[str], mode: str = "none"
) -> tuple[GeneIndex, list[str]]:
    """Spell the index's chromosomes as the genome does (``--chrom-alias none|auto``).

    Returns:
        (the index with genes on chromosomes the genome lacks dropped, those chromosomes).
    """
    resolver = ChromResolver(known, mode)
    names = [resolver.resolve(c) for c in index.chroms]
    missing = [c for c, n in zip(index.chroms, names, strict=True) if n is None]
    renamed = replace(index, chroms=[n or c for c, n in zip(index.chroms, names, strict=True)])
    if not missing:
        return renamed, []
    drop = np.isin(index.chrom, [i for i, n in enumerate(names) if n is None])
    return renamed.subset(~drop), missing
