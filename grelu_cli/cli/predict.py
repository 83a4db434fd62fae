"""``grelu predict``: regions or sequences in, predicted tracks out (parquet, bigWig, zarr).

Its parameters are :func:`grelu_cli.api.job`'s keyword arguments, their options declared in
:mod:`grelu_cli.cli.params`; :func:`~grelu_cli.cli.runlog.execute` builds and runs the job.
"""

from __future__ import annotations

from grelu_cli.cli import params
from grelu_cli.cli.options import examples

EPILOG = examples(
    "grelu predict --model borzoi --bed regions.bed --genome hg38.fa -o preds.parquet",
    "grelu predict -m model.ckpt --bed peaks.bed --genome hg38.fa --format bigwig -o tracks/",
    "grelu predict -m enformer --region chr1:1,000,001-1,200,000 --genome hg38.fa --tile "
    "--tasks-query \"assay == 'CAGE'\" -o 'out/{task}.bw'",
    "grelu predict -m model.ckpt --fasta seqs.fa --layout wide -o preds.parquet",
    "grelu predict -m borzoi --bed regions.bed --genome hg38.fa --dtype float16 -o preds.zarr",
    "grelu predict -m model.ckpt --bed regions.bed --genome hg38.fa --dry-run",
    "grelu predict -m borzoi --genes gencode.gtf.gz --gene-types protein_coding --genome "
    "hg38.fa -o genes.parquet",
    "grelu predict -m model.ckpt --bed regions.bed --genome hg38.fa --shard 0/8 --resume "
    "-o shard-0.parquet --log-format json",
)


def predict(
    *,
    model: params.ModelOpt,
    replicate: params.ReplicateOpt = None,
    species: params.SpeciesOpt = None,
    arch: params.ArchOpt = None,
    param: params.ParamOpt = None,
    trust_checkpoint: params.TrustCheckpointOpt = False,
    bed: params.BedOpt = None,
    fasta: params.FastaOpt = None,
    region: params.RegionOpt = None,
    chrom: params.ChromOpt = None,
    genome: params.GenomeOpt = None,
    chrom_alias: params.ChromAliasOpt = "none",
    seq_len: params.SeqLenOpt = None,
    tile: params.TileOpt = False,
    edge: params.EdgeOpt = "pad",
    output: params.OutputOpt,
    format: params.FormatOpt = None,
    layout: params.LayoutOpt = "long",
    overlap: params.OverlapOpt = "mean",
    overwrite: params.OverwriteOpt = False,
    dtype: params.DtypeOpt = "float32",
    tasks: params.TasksOpt = None,
    tasks_file: params.TasksFileOpt = None,
    tasks_query: params.TasksQueryOpt = None,
    aggregate: params.AggregateOpt = None,
    bins: params.BinsOpt = None,
    rc: params.RcOpt = False,
    shifts: params.ShiftsOpt = 0,
    untransform: params.UntransformOpt = False,
    untransform_mode: params.UntransformModeOpt = "grelu",
    logits: params.LogitsOpt = False,
    genes: params.GenesOpt = None,
    gene_types: params.GeneTypesOpt = None,
    gene_ids: params.GeneIdsOpt = None,
    gene_ids_file: params.GeneIdsFileOpt = None,
    gene_bins: params.GeneBinsOpt = "majority",
    gene_span: params.GeneSpanOpt = False,
    device: params.DeviceOpt = "auto",
    precision: params.PrecisionOpt = "fp32",
    batch_size: params.BatchSizeOpt = "auto",
    threads: params.ThreadsOpt = None,
    num_workers: params.NumWorkersOpt = None,
    compile: params.CompileOpt = False,
    dry_run: params.DryRunOpt = False,
    quiet: params.QuietOpt = False,
    log_format: params.LogFormatOpt = "text",
    shard: params.ShardOpt = None,
    resume: params.ResumeOpt = False,
    chunk_windows: params.ChunkWindowsOpt = 512,
    devices: params.DevicesOpt = None,
) -> None:
    """Predict tracks for regions or sequences, or expression per gene (--genes GTF).

    Inputs: regions (BED, --region, --chrom), sequences (FASTA) or genes (--genes GTF).

    Writes parquet (long or wide layout, with provenance metadata), one bigWig per task, or a
    dense zarr store (window x task x bin). With --genes: one value per gene and task (the
    strand-matched track summed over the gene's exon bins), parquet or zarr (gene x task);
    shards and --resume chunks hold whole genes.
    Outputs appear only when complete; errors leave nothing behind.
    """
    options = dict(locals())  # the parameters: api.job's keywords and the CLI-only ones
    from grelu_cli import api
    from grelu_cli.cli.runlog import execute

    execute(options, api.job)
