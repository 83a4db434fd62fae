"""``grelu ism``: in-silico mutagenesis of regions (or around variants), streamed to zarr,
parquet or bigWig.

Its parameters are :func:`grelu_cli.api.ism_job`'s keyword arguments, their options declared
in :mod:`grelu_cli.cli.params`; :func:`~grelu_cli.cli.runlog.execute` builds and runs the job.
"""

from __future__ import annotations

from grelu_cli.cli import params
from grelu_cli.cli.options import examples

EPILOG = examples(
    "grelu ism -m model.ckpt --bed peaks.bed -g hg38.fa -o ism.zarr",
    "grelu ism -m model.ckpt --region chr1:1,001-1,200 -g hg38.fa --ism-width 50 "
    "--tasks K562 -o ism.parquet",
    "grelu ism -m model.ckpt --bed peaks.bed -g hg38.fa --format bigwig -o importance/",
    "grelu ism -m borzoi --vcf eqtl.vcf.gz -g hg38.fa --allele alt --ism-width 100 "
    "--tasks-query \"assay == 'CAGE'\" -o ism.zarr",
    "grelu ism -m model.ckpt --bed peaks.bed -g hg38.fa --shard 0/4 -o ism.zarr "
    "# every shard, then: grelu merge ism.zarr",
    "grelu ism -m borzoi --region chr11:5,248,000-5,249,000 -g hg38.fa --genes gencode.gtf "
    "--gene-ids HBB --tasks-query \"assay == 'CAGE'\" -o hbb.zarr",
    "grelu ism -m model.ckpt --bed peaks.bed -g hg38.fa --dry-run",
)


def ism(
    *,
    model: params.ModelOpt,
    replicate: params.ReplicateOpt = None,
    species: params.SpeciesOpt = None,
    trust_checkpoint: params.TrustCheckpointOpt = False,
    seq_len: params.SeqLenOpt = None,
    bed: params.BedOpt = None,
    fasta: params.FastaOpt = None,
    region: params.RegionOpt = None,
    vcf: params.IsmVcfOpt = None,
    allele: params.AlleleOpt = "ref",
    genome: params.GenomeOpt = None,
    chrom_alias: params.ChromAliasOpt = "none",
    edge: params.EdgeOpt = "pad",
    ism_width: params.IsmWidthOpt = 200,
    ism_start: params.IsmStartOpt = None,
    ism_end: params.IsmEndOpt = None,
    ism_score: params.IsmScoreOpt = "diff",
    pseudocount: params.IsmPseudocountOpt = 0.0,
    ism_method: params.IsmMethodOpt = "auto",
    genes: params.IsmGenesOpt = None,
    gene_ids: params.GeneIdsOpt = None,
    gene_ids_file: params.GeneIdsFileOpt = None,
    gene_bins: params.GeneBinsOpt = "majority",
    gene_span: params.GeneSpanOpt = False,
    output: params.IsmOutputOpt,
    format: params.FormatOpt = None,
    overlap: params.OverlapOpt = "mean",
    overwrite: params.OverwriteOpt = False,
    dtype: params.DtypeOpt = "float32",
    tasks: params.TasksOpt = None,
    tasks_file: params.TasksFileOpt = None,
    tasks_query: params.TasksQueryOpt = None,
    aggregate: params.IsmAggregateOpt = "mean",
    bins: params.BinsOpt = None,
    rc: params.RcOpt = False,
    shifts: params.ShiftsOpt = 0,
    untransform: params.UntransformOpt = False,
    device: params.DeviceOpt = "auto",
    precision: params.PrecisionOpt = "fp32",
    batch_size: params.BatchSizeOpt = "auto",
    threads: params.ThreadsOpt = None,
    shard: params.IsmShardOpt = None,
    resume: params.ResumeOpt = False,
    chunk_regions: params.ChunkRegionsOpt = 64,
    dry_run: params.IsmDryRunOpt = False,
    quiet: params.QuietOpt = False,
    log_format: params.LogFormatOpt = "text",
) -> None:
    """In-silico mutagenesis: every base of each region's ISM span mutated to each other base.

    Windows are placed as grelu predict places them (as grelu variants for --vcf). Per task,
    the target is the model output over the kept bins reduced by --aggregate (with --genes:
    the sum over one gene's bins of its strand-matched track); delta =
    target(mutant) - target(reference) (or log2fc). Fast ISM (only the receptive field of
    each mutation recomputed) serves convolution-only models; others run plain ISM.
    Outputs appear only when complete.
    """
    options = dict(locals())  # the parameters: api.ism_job's keywords and CLI-only ones
    from grelu_cli import api
    from grelu_cli.cli.runlog import execute

    execute(options, api.ism_job)
