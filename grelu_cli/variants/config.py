"""What a variants job adds to the shared job parts: the variant file and how alleles are scored.

:class:`VariantConfig` is the variants job kind's own record; the model, genome, prediction,
output and run options are the shared parts of :mod:`grelu_cli.run.config`, composed into a
:class:`~grelu_cli.run.variant_job.VariantJob`. :func:`check_variant_config` checks its values
(cheap: no file is read, torch is not imported).
"""

from __future__ import annotations

from dataclasses import dataclass

from grelu_cli.core.choices import CHROM_ALIASES, check_choice
from grelu_cli.variants.alleles import DEFAULT_MAX_INDEL_LEN
from grelu_cli.variants.scores import AGGREGATES, DEFAULT_SCORES, parse_scores

REF_MISMATCH = ("skip", "warn", "error", "swap")

#: The option that sets a variants run's chunk size (messages name it).
CHUNK_OPTION = "--chunk-records"


@dataclass(frozen=True)
class VariantConfig:
    """Which variants and how their effects are scored (CLI.md "variants").

    Attributes:
        vcf: the VCF/BCF (or tab-separated) variant file.
        scores: score names (:mod:`grelu_cli.variants.scores`).
        ref_mismatch: what to do with an allele whose REF does not match the genome.
        max_indel_len: longer indels are skipped.
        pseudocount: ``c`` of ``log2fc``.
        aggregate: how ``ref_value``/``alt_value`` reduce the kept bins (after averaging).
        region, chrom: only records inside these (``--region``, ``--chrom``).
    """

    vcf: str
    scores: tuple[str, ...] = DEFAULT_SCORES
    ref_mismatch: str = "skip"
    max_indel_len: int = DEFAULT_MAX_INDEL_LEN
    pseudocount: float = 0.0
    aggregate: str = "mean"
    region: tuple[str, ...] = ()
    chrom: tuple[str, ...] = ()


def check_variant_config(v: VariantConfig, chrom_alias: str) -> None:
    """Cheap checks of the variant options' choices (UsageError); their numeric ranges
    (``max_indel_len``, ``pseudocount``) are checked with the job's (run/limits.py)."""
    check_choice(chrom_alias, CHROM_ALIASES, "--chrom-alias")
    check_choice(v.ref_mismatch, REF_MISMATCH, "--ref-mismatch")
    check_choice(v.aggregate, AGGREGATES, "--aggregate")
    parse_scores(v.scores)
