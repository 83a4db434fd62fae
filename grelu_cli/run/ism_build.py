"""Set a ``grelu ism`` job up: model, predictor, windows, producer, provenance, fingerprint.

:class:`BuiltISM` is to ``grelu ism`` what :class:`~grelu_cli.run.build.BuiltRun` is to
``grelu predict`` (and is built with it: the same model load, window plan and predictor);
:meth:`BuiltISM.blocks` yields the regions' ISM blocks for the engine's loops
(:mod:`grelu_cli.run.ism_run`, :mod:`grelu_cli.run.ism_work`).
"""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import Any

from grelu_cli.run.ism_job import ISMJob
from grelu_cli.run.observer import RunObserver


class BuiltISM:
    """An ISM job set up: model, predictor, windows, producer, provenance, fingerprint."""

    def __init__(self, job: ISMJob, observer: RunObserver | None) -> None:
        from grelu_cli.ism.producer import ISMProducer, choose_method

        self.job = job
        pj = job.predict_job()
        built = _build(job, pj, observer)
        self.loaded, self.seq_len, self.source, self.genome, self.predictor, self.gene = built
        self.tasks = list(self.gene.names if self.gene else self.predictor.task_names)
        self.method, self.why_not_fast = choose_method(self.predictor, job.ism.ism_method)
        batch = max(1, int(self.predictor.sizer.size))
        gene, layout = self.gene, self.predictor.layout
        target_for = (lambda w: gene.reducer(layout, w)) if gene is not None else None
        self.producer = ISMProducer(self.predictor, job.ism, self.method, batch, target_for)
        c = job.ism
        width = (
            (c.ism_end - c.ism_start)
            if c.ism_start is not None and c.ism_end is not None
            else c.ism_width
        )
        self.positions = int(min(width, self.seq_len))
        from grelu_cli.io.formats.registry import output_paths

        self.finals = output_paths(job.output.format, job.output.output, self.tasks, kind="ism")
        self.target = {
            "format": job.output.format,
            "dtype": job.output.dtype if job.output.format == "zarr" else None,
            "overlap": job.output.overlap if job.output.format == "bigwig" else None,
        }
        self.inputs = _inputs(self)
        self.record = _provenance(self)

    def blocks(self, lo: int, hi: int) -> Any:
        """ISM blocks of regions ``[lo, hi)``, in order."""
        for w in self.source.window_list(lo, hi):
            yield self.producer.region(w, self.source.encode(w), self.source.span(w))


def build_ism(job: ISMJob, observer: RunObserver | None = None) -> BuiltISM:
    return BuiltISM(job, observer)


def _build(job: ISMJob, pj: Any, observer: RunObserver | None) -> tuple[Any, ...]:
    """(loaded model, seq_len, windows, genome, predictor, gene target or None)."""
    from grelu_cli.genome.genome import Genome
    from grelu_cli.run.build import (
        finish_build,
        input_length,
        load,
        load_and_prepare,
        make_predictor,
    )
    from grelu_cli.run.ism_input import RegionWindows, variant_windows

    flank = int(job.predict.shifts)
    source: Any
    if job.ism.vcf is None:
        loaded, seq_len, inp = load_and_prepare(pj, observer)
        genome = inp.genome
        source = RegionWindows(inp, flank)
    else:
        genome = Genome(str(job.input.genome), job.input.chrom_alias)
        loaded = load(pj, show_downloads=bool(getattr(observer, "show_downloads", False)))
        seq_len = input_length(pj, loaded)
    gene = None
    if job.genes.active:
        from grelu_cli.run.ism_genes import gene_target

        assert genome is not None  # --genes with --fasta is refused by check_ism_job
        gene = gene_target(job, loaded.tasks, list(genome.chroms))
        # Predict exactly the tracks the gene reads, in gene-task order.
        p = replace(pj.predict, tasks=tuple(gene.tracks), tasks_file=None, tasks_query=None)
        pj = replace(pj, predict=p)
    if job.ism.vcf is None:
        predictor = finish_build(pj, loaded, seq_len, inp, observer).predictor
    else:
        from grelu_cli.predict.tasks import resolve_tasks

        p = pj.predict
        selected = resolve_tasks(
            loaded.tasks,
            names=list(p.tasks) if p.tasks is not None else None,
            file=p.tasks_file,
            query=p.tasks_query,
            model=job.model.model,
        )
        predictor = make_predictor(pj, loaded, seq_len, selected, job.run.device)
        c = job.ism
        source = variant_windows(
            str(c.vcf), genome, seq_len, flank, c.allele, job.input.edge, c.ism_width
        )
    return loaded, seq_len, source, genome, predictor, gene


def _inputs(built: BuiltISM) -> dict[str, Any]:
    from grelu_cli.io.formats.provenance import sha256_file
    from grelu_cli.run.identity import fingerprint_inputs, table_digest

    job = built.job
    options = job.options()
    for run_only in ("chunk_regions", "vcf", "ism_method"):
        options.pop(run_only, None)
    if job.ism.vcf is not None:
        digest = sha256_file(job.ism.vcf)
    else:
        inp = built.source.inp
        digest = table_digest(inp.table)
        if inp.table.fasta_path is not None:
            digest += ":" + sha256_file(inp.table.fasta_path)
    genome = built.genome
    return fingerprint_inputs(
        weights_sha256=built.loaded.sha256,
        input_digest=digest,
        genome_index_sha256=genome.index_sha256() if genome is not None else None,
        tasks=built.tasks,
        options=options,
        target=built.target,
    )


def _provenance(built: BuiltISM) -> dict[str, Any]:
    import torch

    from grelu_cli.io.formats.provenance import build_provenance

    job, loaded = built.job, built.loaded
    c = job.ism
    return build_provenance(
        model=loaded.name,
        model_path=loaded.path,
        weights_sha256=loaded.sha256,
        genome=built.genome.path if built.genome is not None else None,
        options=job.options(),
        counts=built.source.counts(),
        tasks=built.tasks,
        extra={
            "command": "ism",
            "model_info": loaded.provenance(),
            "input": built.source.provenance(),
            "seq_len": built.seq_len,
            "geometry": asdict(loaded.geometry),
            "torch": str(torch.__version__),
            "ism": {
                "method": built.method,
                "why_not_fast": built.why_not_fast,
                "score": c.ism_score,
                "pseudocount": c.pseudocount,
                "positions": built.positions,
                "ism_width": c.ism_width,
                "ism_start": c.ism_start,
                "ism_end": c.ism_end,
                "aggregate": job.predict.aggregate,
                "bases": "A, C, G, T (genome orientation); NaN at the reference base",
                "allele": c.allele if c.vcf is not None else None,
                "target": "gene" if built.gene is not None else "aggregate",
                "gene": built.gene.provenance() if built.gene is not None else None,
            },
        },
    )
