"""``grelu variants --dry-run``: check the whole input against the genome without predicting."""

from __future__ import annotations

from grelu_cli.errors import GreluCliError, InputDataError
from grelu_cli.run.observer import SilentObserver
from grelu_cli.run.summary import VariantCheck
from grelu_cli.run.variant_job import (
    VariantJob,
    check_variant_job,
    load_variant_model,
    open_input,
)
from grelu_cli.variants.alleles import Skipped


def dry_run_variants(job: VariantJob, limit: int = 50) -> VariantCheck:
    """Check the whole input without predicting.

    Lines list every bad record (one line each, up to ``limit``) and every allele skipped
    for a REF mismatch; a reader-level error (a file htslib cannot go on reading) ends the
    check. The model is loaded for its input length.
    """
    from grelu_cli.genome.genome import Genome
    from grelu_cli.variants.pipeline import plan_variants
    from grelu_cli.variants.plan import AllelePlanner, VariantCounts

    check_variant_job(job)
    v = job.variant
    source = open_input(job)
    genome = Genome(str(job.input.genome), job.input.chrom_alias)
    loaded, seq_len = load_variant_model(job, SilentObserver())
    counts = VariantCounts()
    planner = AllelePlanner(
        genome, seq_len, edge=job.input.edge, ref_mismatch=v.ref_mismatch, counts=counts
    )
    lines: list[str] = [
        f"model: {loaded.name} ({loaded.model_type}, {loaded.n_tasks} tasks, {seq_len:,} bp in)",
        f"variants: {v.vcf} ({source.kind}{', indexed' if source.indexed else ''})",
    ]
    has_gene = None
    if job.genes.active:
        from grelu_cli.run.variant_genes import dry_run_genes

        gene_lines, has_gene = dry_run_genes(job, loaded, genome, seq_len, limit)
        lines += gene_lines
        counts.no_gene = 0
    problems: list[str] = []
    mismatches: list[str] = []

    def note_skip(s: Skipped) -> None:
        if s.reason == "ref_mismatch" and len(mismatches) < limit:
            mismatches.append(
                f"skip: {s.record.where}: REF {s.record.ref} ALT {s.alt} at "
                f"{s.record.chrom}:{s.record.pos} does not match {genome.name} (ref_mismatch)"
            )

    n_errors = 0
    it = iter(source)
    while True:
        try:
            rec = next(it)
        except StopIteration:
            break
        except GreluCliError as err:
            n_errors += 1
            problems.append(f"error: {err}")
            break
        try:
            for p in plan_variants([rec], planner, v.max_indel_len, note_skip):
                if has_gene is not None and not has_gene(p):
                    counts.no_gene = (counts.no_gene or 0) + 1
        except InputDataError as err:
            n_errors += 1
            if len(problems) < limit:
                problems.append(f"error: {err}")
    if counts.records == 0 and n_errors == 0:
        n_errors += 1
        problems.append(f"error: {v.vcf} has no variant records (check the file)")
    c = counts.as_dict()
    skipped = ", ".join(f"{k} {v}" for k, v in c["skipped_by_reason"].items() if v) or "none"
    lines.append(
        f"records: {c['records']:,}, alleles: {c['alleles']:,}, to score: {c['scored']:,}; "
        f"skipped: {skipped}"
    )
    lines.append("ref_status: " + ", ".join(f"{k} {v:,}" for k, v in c["ref_status"].items()))
    if c.get("no_gene") is not None:
        lines.append(f"alleles with no gene in their output span (not scored): {c['no_gene']:,}")
    lines += problems + mismatches
    if n_errors > len(problems):
        lines.append(f"... and {n_errors - len(problems):,} more errors")
    lines.append("ok: input is valid" if n_errors == 0 else f"{n_errors:,} errors")
    return VariantCheck(lines, c, n_errors)
