"""What a gene-level job adds: the annotation, which genes, which bins, which statistics.

:class:`GeneConfig` is shared by every job kind that answers per gene (``grelu variants
--genes``, ``grelu predict --genes``, ``grelu ism --genes``); :func:`check_gene_config` checks
its values cheaply (no file is read, torch is not imported) and :func:`load_genes` reads the
annotation into a :class:`~grelu_cli.genome.genes.GeneIndex` spelled like the genome.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from grelu_cli.core.choices import check_choice
from grelu_cli.errors import InputDataError, MissingResourceError, UsageError

if TYPE_CHECKING:
    from grelu_cli.genome.genes import GeneIndex, SkippedGene

#: ``--gene-bins``: Calico's majority-overlap rule, or any overlap (floor/ceil).
GENE_BIN_RULES = ("majority", "any")


@dataclass(frozen=True)
class GeneConfig:
    """The gene options (CLI.md "genes").

    Attributes:
        genes: the GTF/GFF3 (gzip ok); None: the job is not gene-level.
        gene_types: keep genes of these ``gene_type``/``gene_biotype`` values.
        gene_ids: keep genes named here (gene_id with or without ``.N``, or gene_name).
        gene_ids_file: the same, one per line (``#`` comments and blank lines ignored).
        gene_bins: ``majority`` or ``any`` (:data:`GENE_BIN_RULES`).
        gene_span: the gene's whole span instead of its exons.
        gene_stats: statistics of ``grelu variants --genes`` (:data:`~grelu_cli.genes.stats.STATS`).
        background: a finished ``grelu variants --genes`` output of a null set
            (``{stat}_quantile`` columns).
    """

    genes: str | None = None
    gene_types: tuple[str, ...] | None = None
    gene_ids: tuple[str, ...] | None = None
    gene_ids_file: str | None = None
    gene_bins: str = "majority"
    gene_span: bool = False
    gene_stats: tuple[str, ...] = ("SED", "logSED")
    background: str | None = None

    @property
    def active(self) -> bool:
        """Whether the job answers per gene (``--genes`` was given)."""
        return self.genes is not None


#: Options that mean nothing without ``--genes`` (their CLI names).
_NEEDS_GENES = {
    "gene_types": "--gene-types",
    "gene_ids": "--gene-ids",
    "gene_ids_file": "--gene-ids-file",
    "gene_span": "--gene-span",
    "background": "--background",
}


def check_gene_config(g: GeneConfig) -> None:
    """Cheap checks (UsageError exit 2; a missing file is MissingResourceError exit 4)."""
    from grelu_cli.genes.stats import parse_stats

    check_choice(g.gene_bins, GENE_BIN_RULES, "--gene-bins")
    parse_stats(g.gene_stats)
    if not g.active:
        given = [flag for name, flag in _NEEDS_GENES.items() if getattr(g, name)]
        if given:
            raise UsageError(
                f"{', '.join(given)} given without --genes",
                fix="pass --genes FILE (a GTF or GFF3), or drop the gene options",
            )
        return
    if g.gene_ids is not None and g.gene_ids_file is not None:
        raise UsageError("--gene-ids and --gene-ids-file were both given", fix="pass one of them")
    for flag, path in (
        ("--genes", g.genes),
        ("--gene-ids-file", g.gene_ids_file),
        ("--background", g.background),
    ):
        if path is not None and not Path(path).exists():
            raise MissingResourceError(f"{flag} {path}: no such file", fix="check the path")


def read_gene_ids(path: str) -> tuple[str, ...]:
    """The selectors of ``--gene-ids-file``: one per line; blank lines and ``#`` comments
    skipped. InputDataError (exit 3) when it names none."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise InputDataError(
            f"--gene-ids-file {path} is not UTF-8 text ({e.reason} at byte {e.start})",
            fix="give a text file of gene ids or names, one per line",
        ) from e
    ids = [ln.split("#", 1)[0].strip() for ln in text.splitlines()]
    out = tuple(dict.fromkeys(i for i in ids if i))
    if not out:
        raise InputDataError(
            f"--gene-ids-file {path} names no gene", fix="one gene id or name per line"
        )
    return out


@dataclass(frozen=True)
class LoadedGenes:
    """The selected genes and what was left out on the way.

    Attributes:
        index: the genes, chromosomes spelled as the genome spells them.
        skipped: genes whose exons disagree on chrom or strand (not in ``index``).
        unmatched: ``--gene-ids`` selectors that matched no gene.
        missing_chroms: annotation chromosomes the genome lacks (their genes dropped).
        total: genes read from the annotation (before selection; skipped ones included).
    """

    index: GeneIndex
    skipped: list[SkippedGene]
    unmatched: list[str]
    missing_chroms: list[str]
    total: int = 0


def load_genes(g: GeneConfig, genome_chroms: Collection[str], chrom_alias: str) -> LoadedGenes:
    """Read ``--genes``, select by ``--gene-types``/``--gene-ids[-file]`` and spell the
    chromosomes as the genome does. InputDataError (exit 3) on a bad line, or when no gene
    is left."""
    from grelu_cli.genome.genes import load_gene_index, rename_chroms, select_genes

    assert g.genes is not None
    full = load_gene_index(g.genes)
    ids = read_gene_ids(g.gene_ids_file) if g.gene_ids_file is not None else g.gene_ids
    chosen, unmatched = select_genes(full, g.gene_types, ids)
    index, missing = rename_chroms(chosen, genome_chroms, chrom_alias)
    if len(index) == 0:
        why = []
        if g.gene_types:
            why.append(f"--gene-types {','.join(g.gene_types)}")
        if ids is not None:
            why.append("--gene-ids")
        if missing:
            why.append(f"chromosomes not in the genome: {', '.join(missing[:3])}")
        raise InputDataError(
            f"--genes {g.genes}: no gene left to score" + (f" ({'; '.join(why)})" if why else ""),
            fix="check the gene selection and --chrom-alias",
        )
    return LoadedGenes(
        index, list(full.skipped), unmatched, missing, total=len(full) + len(full.skipped)
    )
