"""``grelu variants``: variant effect prediction from a VCF (or table) against a genome.

Its parameters are :func:`grelu_cli.api.variants_job`'s keyword arguments, their options declared in
:mod:`grelu_cli.cli.params`; :func:`~grelu_cli.cli.runlog.execute` builds and runs the job.
"""

from __future__ import annotations

from grelu_cli.cli import params
from grelu_cli.cli.options import examples

EPILOG = examples(
    "grelu variants -m model.ckpt --vcf calls.vcf.gz --genome hg38.fa -o effects.parquet",
    "grelu variants -m borzoi --vcf gtex.vcf.gz -g hg38.fa --chrom-alias auto "
    "--scores diff,log2fc,sad --rc --tasks-query \"assay == 'CAGE'\" -o eqtl.parquet",
    "grelu variants -m borzoi --vcf gwas.vcf.gz -g hg38.fa --scores logsed -o effects.zarr",
    "grelu variants -m model.ckpt --vcf calls.vcf.gz -g hg38.fa --region chr1:1-2,000,000 "
    "--ref-mismatch swap -o part.parquet",
    "grelu variants -m model.ckpt --vcf variants.tsv -g hg38.fa --dry-run",
    "grelu variants -m borzoi --vcf gtex.vcf.gz -g hg38.fa --chrom-alias auto --genes "
    "gencode.gtf.gz --gene-types protein_coding --gene-stats SED,logSED,JS "
    "--untransform-mode calico --rc -o sed.h5",
    "grelu variants -m model.ckpt --vcf calls.vcf.gz -g hg38.fa --shard 0/8 --resume "
    "-o shard-0.parquet  # then: grelu merge shard-*.parquet -o effects.parquet",
)


def variants(
    *,
    model: params.ModelOpt,
    replicate: params.ReplicateOpt = None,
    species: params.SpeciesOpt = None,
    trust_checkpoint: params.TrustCheckpointOpt = False,
    vcf: params.VcfOpt,
    genome: params.GenomeOpt,
    region: params.VariantRegionOpt = None,
    chrom: params.VariantChromOpt = None,
    chrom_alias: params.ChromAliasOpt = "none",
    seq_len: params.SeqLenOpt = None,
    edge: params.EdgeOpt = "pad",
    ref_mismatch: params.RefMismatchOpt = "skip",
    max_indel_len: params.MaxIndelLenOpt = 50,
    output: params.VariantOutputOpt = None,
    layout: params.VariantLayoutOpt = "long",
    overwrite: params.OverwriteOpt = False,
    scores: params.ScoresOpt = "diff",
    pseudocount: params.PseudocountOpt = 0.0,
    aggregate: params.VariantAggregateOpt = "mean",
    bins: params.VariantBinsOpt = None,
    tasks: params.TasksOpt = None,
    tasks_file: params.TasksFileOpt = None,
    tasks_query: params.TasksQueryOpt = None,
    rc: params.RcOpt = False,
    shifts: params.ShiftsOpt = 0,
    untransform: params.UntransformOpt = False,
    untransform_mode: params.UntransformModeOpt = "grelu",
    genes: params.GenesOpt = None,
    gene_types: params.GeneTypesOpt = None,
    gene_ids: params.GeneIdsOpt = None,
    gene_ids_file: params.GeneIdsFileOpt = None,
    gene_bins: params.GeneBinsOpt = "majority",
    gene_span: params.GeneSpanOpt = False,
    gene_stats: params.GeneStatsOpt = "SED,logSED",
    background: params.BackgroundOpt = None,
    device: params.DeviceOpt = "auto",
    precision: params.PrecisionOpt = "fp32",
    batch_size: params.BatchSizeOpt = "auto",
    threads: params.ThreadsOpt = None,
    shard: params.VariantShardOpt = None,
    resume: params.VariantResumeOpt = False,
    chunk_records: params.ChunkRecordsOpt = 4096,
    dry_run: params.VariantDryRunOpt = False,
    quiet: params.QuietOpt = False,
    log_format: params.LogFormatOpt = "text",
) -> None:
    """Score variant effects: ref and alt windows through the model, compared per task.

    One row per ALT allele x task with ref_value, alt_value and the requested scores; with
    --genes, one row per allele x gene x task with the gene statistics of the gene's exon bins
    (Calico's borzoi_sed.py). REF is always checked against the genome (ref_status). Outputs
    appear only when complete.
    """
    options = dict(locals())  # the parameters: api.variants_job's keywords and CLI-only ones
    from grelu_cli import api
    from grelu_cli.cli.runlog import execute

    execute(options, api.variants_job)
