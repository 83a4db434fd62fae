"""Gene statistics of one allele pair, vectorised over genes and tasks (Calico's SED family).

Over a gene's bins G (:class:`~grelu_cli.genome.gene_bins.GeneBins`) of the reference profile
r and alternate profile a of the gene's strand-matched track (:mod:`~grelu_cli.genes.strands`),
exactly as ``borzoi_sed.py``'s ``write_snp`` computes them::

    SED    = sum(a) - sum(r)            logSED = log2(sum(a) + 1) - log2(sum(r) + 1)
    D1     = sum|a - r|                 logD1  = sum|log2(a + 1) - log2(r + 1)|
    D2     = sqrt(sum (a - r)^2)        logD2  = sqrt(sum (log2(a + 1) - log2(r + 1))^2)
    REF    = sum(r)                     ALT    = sum(a)

and with p = the 25th percentile (numpy's linear rule) of r over *all* output bins of that track,
``r_n = (r + p) / sum_G(r + p)`` and ``a_n`` likewise::

    nD2 = sqrt(sum (r_n - a_n)^2)    nDi = max|r_n - a_n|    JS = (KL(r_n||a_n) + KL(a_n||r_n)) / 2

with KL summed over G of scipy's ``rel_entr`` (``x log(x/y)``; 0 where x = 0; inf where
x > 0 = y). Sums over a gene's bins are ``np.add.reduceat`` over the gathered (bins, tasks)
block: no Python loop over genes or tasks. Calico casts each value to float16 on writing;
these are computed in float64 and returned as float32 (the h5 writer casts to float16).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from grelu_cli.errors import UsageError
from grelu_cli.genes.strands import GeneTasks
from grelu_cli.genome.gene_bins import GeneBins
from grelu_cli.genome.genes import ragged_rows

STATS = ("SED", "logSED", "D1", "logD1", "D2", "logD2", "nD2", "nDi", "JS", "REF", "ALT")
DEFAULT_STATS = ("SED", "logSED")
_NORMALISED = {"nD2", "nDi", "JS"}
_LOGS = {"logD1", "logD2"}
_SUMS = {"SED", "logSED", "REF", "ALT"}


def parse_stats(text: str | Sequence[str]) -> list[str]:
    """``SED,logSED`` -> ['SED', 'logSED']; UsageError on an unknown name (exit 2)."""
    names = [s.strip() for s in text.split(",")] if isinstance(text, str) else list(text)
    names = [s for s in names if s]
    bad = [s for s in names if s not in STATS]
    if bad or not names:
        raise UsageError(
            f"--gene-stats {', '.join(bad) or '(empty)'} is not a gene statistic",
            fix=f"choose from {', '.join(STATS)}",
        )
    return list(dict.fromkeys(names))


def rel_entr(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """scipy.special.rel_entr elementwise: x log(x/y) (x, y > 0); 0 (x = 0, y >= 0); inf else."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        v = x * np.log(x / y)
    out = np.where((x > 0) & (y > 0), v, np.where((x == 0) & (y >= 0), 0.0, np.inf))
    return np.where(np.isnan(x) | np.isnan(y), np.nan, out).astype(v.dtype, copy=False)


def _sym_rel_entr(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """rel_entr(x, y) + rel_entr(y, x), elementwise: (x - y) log(x / y) where both are > 0
    (one log instead of two), the exact definition elsewhere (zeros, negatives, NaN)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = (x - y) * np.log(x / y)
    odd = ~((x > 0) & (y > 0))
    if odd.any():
        xo, yo = x[odd], y[odd]
        out[odd] = rel_entr(xo, yo) + rel_entr(yo, xo)
    return out


def pseudocounts(ref: np.ndarray, tracks: np.ndarray | None = None) -> np.ndarray:
    """The 25th percentile of each track over all output bins: ref (L, T) -> (T,).

    With ``tracks`` only those tracks are computed (the others are NaN).
    """
    rows = np.asarray(ref).T
    n = rows.shape[0]
    if tracks is not None and np.array_equal(tracks, np.arange(n)):
        tracks = None  # every track (Borzoi's gene tasks read them all): no gather copy
    if tracks is not None:
        rows = rows[np.asarray(tracks, dtype=np.int64)]
    q = percentile25_rows(np.ascontiguousarray(rows))
    if tracks is None:
        return q
    out = np.full(np.asarray(ref).shape[1], np.nan, dtype=q.dtype)
    out[np.asarray(tracks, dtype=np.int64)] = q
    return out


def percentile25_rows(x: np.ndarray) -> np.ndarray:
    """``np.percentile(x, 25, axis=-1)`` of a contiguous (T, L) array, equal to it bit for bit
    and faster: one ``np.partition`` along the last axis around the lower order statistic
    of numpy's 'linear' rule, a min over the values above it for the upper one (numpy moves
    the axis and partitions around both, plus the first and last values), then numpy's own
    interpolation (``_lerp``: ``a + (b - a) g``, or ``b - (b - a)(1 - g)`` for g >= 0.5).
    Rows holding a NaN give NaN. x: (T, L) -> (T,)."""
    x = np.asarray(x)
    n = x.shape[-1]
    virtual = np.asarray(0.25 * (n - 1))  # numpy's linear rule: q (n - 1), float64
    lo = int(np.floor(virtual))
    hi = min(lo + 1, n - 1)
    # One selection (kth = lo) and a min over the rest: the (lo + 1)-th order statistic
    # without a second partition pass (about 1.6x faster than kth = [lo, hi]).
    part = np.partition(x, lo, axis=-1)
    a = part[..., lo]
    b = part[..., lo + 1 :].min(axis=-1) if hi != lo else a
    gamma = np.asarray(virtual - lo, dtype=np.float64)
    diff = b - a
    if gamma >= 0.5:
        out = b - diff * (1 - gamma)
    else:
        out = a + diff * gamma
    # A NaN sorts last: it is b (or a, for one bin), so the row's result is NaN, as numpy's.
    out = np.asarray(out, dtype=x.dtype if x.dtype.kind == "f" else np.float64)
    return out


def gene_stats(
    ref: np.ndarray,
    alt: np.ndarray,
    bins: GeneBins,
    gene_minus: np.ndarray,
    tasks: GeneTasks,
    stats: Sequence[str] = DEFAULT_STATS,
    pseudo: np.ndarray | None = None,
    block_elements: int = 1 << 18,
) -> dict[str, np.ndarray]:
    """Statistics of one allele pair for every gene of a window and every gene task.

    Args:
        ref, alt: (L, T) float32 untransformed, augmentation-averaged profiles (bins, tracks).
        bins: the genes of the window and their bins (G genes).
        gene_minus: (G,) bool, True for genes read from '-' tracks (``GeneIndex.minus``).
        tasks: the gene tasks (K of them) of the T tracks.
        stats: names from :data:`STATS`.
        pseudo: (T,) precomputed :func:`pseudocounts` of ``ref`` (only the normalised
            statistics use it; computed here when None).
        block_elements: about how many (bin, task) values one block gathers (speed only).

    Returns:
        {stat: (G, K) float32}.
    """
    stats = parse_stats(stats)
    n_genes, k = len(bins), len(tasks)
    out = {s: np.empty((n_genes, k), dtype=np.float32) for s in stats}
    if n_genes == 0:
        return out
    gene_minus = np.asarray(gene_minus, dtype=bool)
    if _NORMALISED & set(stats) and pseudo is None:
        pseudo = pseudocounts(ref)
    if set(stats) <= _SUMS:
        sums = {"r": _gene_sums(ref, bins), "a": _gene_sums(alt, bins)}
        cols = tasks.columns(gene_minus)
        r_sum = np.take_along_axis(sums["r"], cols, axis=1)
        a_sum = np.take_along_axis(sums["a"], cols, axis=1)
        for name, value in _sum_stats(r_sum, a_sum, stats).items():
            out[name][:] = value
        return out
    counts = bins.counts
    # Genes of one strand read the same tracks: one (bins, tasks) gather per strand, in blocks
    # of tasks so that the float64 temporaries stay in cache (2-3x faster on 5,951 tasks).
    for minus in (False, True):
        sel = np.flatnonzero(gene_minus == minus)
        if len(sel) == 0:
            continue
        entries, group_offsets = ragged_rows(bins.offsets, sel)
        rows = bins.bins[entries]
        offs = group_offsets[:-1]
        lengths = counts[sel]
        all_cols = tasks.minus if minus else tasks.plus
        step = max(1, block_elements // max(1, len(rows)))
        for c0 in range(0, k, step):
            cols = all_cols[c0 : c0 + step]
            r = ref[np.ix_(rows, cols)]
            a = alt[np.ix_(rows, cols)]
            p = None if pseudo is None else np.asarray(pseudo, dtype=np.float64)[cols]
            for name, value in _group_stats(r, a, offs, lengths, stats, p).items():
                out[name][sel, c0 : c0 + step] = value
    return out


def _gene_sums(x: np.ndarray, bins: GeneBins) -> np.ndarray:
    """Sums over each gene's bins of every track: x (L, T) -> (G, T) float64 (the bins' rows
    gathered once, then one ``np.add.reduceat``: faster than reducing runs of x in place,
    whose per-slice cost dominates with thousands of runs)."""
    return np.add.reduceat(x[bins.bins], bins.offsets[:-1], axis=0, dtype=np.float64)


def _sum_stats(r_sum: np.ndarray, a_sum: np.ndarray, stats: Sequence[str]) -> dict[str, np.ndarray]:
    """The statistics that need only the sums over a gene's bins: (G, K) each."""
    res: dict[str, np.ndarray] = {}
    if "SED" in stats:
        res["SED"] = a_sum - r_sum
    if "logSED" in stats:
        res["logSED"] = np.log2(a_sum + 1) - np.log2(r_sum + 1)
    if "REF" in stats:
        res["REF"] = r_sum
    if "ALT" in stats:
        res["ALT"] = a_sum
    return res


def _group_stats(
    r: np.ndarray,
    a: np.ndarray,
    offs: np.ndarray,
    lengths: np.ndarray,
    stats: list[str],
    p: np.ndarray | None,
) -> dict[str, np.ndarray]:
    """The statistics of genes of one strand: r, a (B, K) gathered float32 bins; offs (g,)
    starts of the genes' rows. Sums accumulate in float64 (SED is a small difference of large
    sums); elementwise terms are float64 too (a log difference of close values)."""

    def gsum(x: np.ndarray) -> np.ndarray:
        return np.add.reduceat(x, offs, axis=0, dtype=np.float64)

    res: dict[str, np.ndarray] = {}
    want = set(stats)
    r_sum, a_sum = gsum(r), gsum(a)
    res.update(_sum_stats(r_sum, a_sum, stats))
    if want & (_LOGS | _NORMALISED | {"D1", "D2"}):
        r, a = r.astype(np.float64), a.astype(np.float64)
    if want & {"D1", "D2"}:
        d = a - r
        if "D1" in want:
            res["D1"] = gsum(np.abs(d))
        if "D2" in want:
            res["D2"] = np.sqrt(gsum(d * d))
    if want & _LOGS:
        dl = np.log2(r + 1) - np.log2(a + 1)
        if "logD1" in want:
            res["logD1"] = gsum(np.abs(dl))
        if "logD2" in want:
            res["logD2"] = np.sqrt(gsum(dl * dl))
    if want & _NORMALISED:
        assert p is not None
        rp, ap = r + p, a + p
        per_row = np.repeat(np.arange(len(offs)), lengths)
        with np.errstate(divide="ignore", invalid="ignore"):  # 0/0 -> NaN, as Calico
            rn = rp / gsum(rp)[per_row]
            an = ap / gsum(ap)[per_row]
        dn = rn - an
        if "nD2" in want:
            res["nD2"] = np.sqrt(gsum(dn * dn))
        if "nDi" in want:
            res["nDi"] = np.maximum.reduceat(np.abs(dn), offs, axis=0)
        if "JS" in want:
            res["JS"] = gsum(_sym_rel_entr(rn, an)) / 2
    return res
