"""Every option of the job commands (``grelu predict``, ``grelu variants``, ``grelu ism``),
declared once.

Each option is an ``Annotated`` type (huggingface_hub's ``cli/_cli_utils.py`` habit): a command
writes ``rc: RcOpt = False`` and gets the flag, its help panel and its help text (one per
option, in :data:`HELP`), so commands cannot drift. The option ``--tasks-query`` is the
parameter ``tasks_query``, the Python API's keyword (``tests/cli/test_api_cli_parity.py``).
A ``Variant*Opt`` (``Ism*Opt``) is the option as ``grelu variants`` (``grelu ism``) shows
it: with its own help where it means something else there (``--region``, ``--output``,
``--shard``...), or in another panel.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from grelu_cli.cli.options import one_of
from grelu_cli.core import choices as c

MODEL, INPUT, OUTPUT, PREDICTION = "Model", "Input", "Output", "Prediction"
SCORES, GENES, RUN, WORKFLOWS = "Scores", "Genes", "Run", "Workflows"
ISM = "ISM"

#: Parameters of a job command that the Python API does not take (how the CLI reports).
CLI_ONLY = ("dry_run", "quiet", "log_format")

#: Help texts by option (``variant_*``: what the option means in ``grelu variants``).
HELP = {
    # Model
    "model": "Zoo name (borzoi), Hub repo (Org/repo or Org/repo/file) or checkpoint file.",
    "replicate": "Zoo replicate (default 0), or several averaged: 0,1,2,3 or all (predict: "
    "mean prediction; variants: mean of the per-replicate scores).",
    "species": "Zoo species: human or mouse.",
    "arch": "Architecture for weights-only files (.pt state dicts, .safetensors).",
    "param": "KEY=VALUE constructor argument for --arch (repeatable).",
    "trust_checkpoint": "Allow arbitrary pickled objects in the checkpoint (only for files you "
    "trust).",
    # Input
    "bed": "BED file of regions (0-based), '-' for stdin.",
    "fasta": "FASTA of sequences, one input per record.",
    "vcf": "VCF, VCF.gz or BCF; or a TSV/CSV/parquet table with chrom, pos, ref, alt[, id].",
    "genome": "Genome FASTA (.fai built if missing).",
    "region": "chr:start-end or chr:start-end:-, 1-based inclusive like samtools (repeatable).",
    "variant_region": "Only variants in chr:start-end (1-based inclusive; repeatable). Uses the "
    "tabix/CSI index when present.",
    "chrom": "A whole chromosome, tiled (repeatable).",
    "variant_chrom": "Only variants on this chromosome (repeatable).",
    "chrom_alias": f"{one_of(c.CHROM_ALIASES)}; auto matches chr1/1 and chrM/MT between input "
    "and genome.",
    "seq_len": "Model input length in bp (default: the model's training length).",
    "tile": "Cover each region with windows whose output bins abut (a contiguous track).",
    "edge": f"Windows past a chromosome end: {one_of(c.EDGES)} (pad fills with N).",
    "ref_mismatch": "REF differs from the genome: skip (count), warn (score with the VCF's REF), "
    "error (exit 3), swap (score swapped REF/ALT with the sign of VCF ALT - REF).",
    "max_indel_len": "Longest indel scored (bp of length change); longer ones are skipped.",
    # Output
    "output": "X.parquet, X.zarr (dense store), DIR/ (one DIR/{task}.bw per task) or a "
    "'out/{task}.bw' template.",
    "variant_output": "Output .parquet file, or .zarr for a dense (variant, task) store; with "
    "--genes also .h5 (Calico's sed.h5 layout).",
    "format": f"{one_of(c.FORMATS)} (default: from -o).",
    "layout": f"Parquet layout: {one_of(c.LAYOUTS)} (long: row per region x task x bin; wide: "
    "column per task).",
    "variant_layout": "Parquet: long (row per allele x task) or wide (row per allele, "
    "{task}_{value} columns).",
    "overlap": f"bigWig: overlapping predictions of a base: {one_of(c.OVERLAPS)}.",
    "overwrite": "Replace existing outputs.",
    "dtype": f"zarr: stored values, {one_of(c.DTYPES)} (half the size; finite values beyond "
    "+-65,504 are clipped and counted).",
    # Prediction
    "tasks": "Comma-separated task names to keep.",
    "tasks_file": "File of task names, one per line.",
    "tasks_query": "Select tasks by an expression over the tasks table's columns (comparisons, "
    "and/or/not, in, .str.contains/startswith...), e.g. \"assay == 'CAGE'\"; not Python.",
    "aggregate": f"One value per region and task: {one_of(c.AGGREGATES)} over bins.",
    "bins": "Keep only the central K output bins.",
    "rc": "Average with the reverse complement (strand-paired tracks swapped).",
    "shifts": "Average over shifts of -N..+N bp.",
    "untransform": "Borzoi: undo the published track squashing (scale, clip_soft, 3/4 power).",
    "logits": "Raw model outputs, no activation.",
    "untransform_mode": "With --untransform: grelu (counts: y/scale, soft clip undone, ^(4/3)) "
    "or calico (the same, times scale: Calico's untransform_preds1, borzoi_sed.py -u).",
    # Genes
    "genes": "GTF or GFF3 (gzip ok): answer per gene (exon bins of the strand-matched track).",
    "gene_types": "Only genes of these types, comma-separated (e.g. protein_coding,lncRNA).",
    "gene_ids": "Only these genes, comma-separated: gene_id (with or without .N) or gene_name.",
    "gene_ids_file": "Only the genes listed in this file, one gene_id or gene_name per line.",
    "gene_bins": "Exon bins: majority (over half the bin inside an exon: Calico) or any "
    "(any overlap).",
    "gene_span": "Use the gene's whole span (first exon start to last exon end), not its exons.",
    "gene_stats": "Comma-separated: SED, logSED, D1, logD1, D2, logD2, nD2, nDi, JS, REF, ALT.",
    "background": "A finished grelu variants --genes output of a null set: adds "
    "{stat}_quantile columns (fraction of its scores with a smaller absolute value).",
    # Scores
    "scores": "Comma-separated: diff, ratio, log2fc, logit_diff, sad, logsed, d1, d2, sax.",
    "pseudocount": "c in log2((alt + c) / (ref + c)).",
    "variant_aggregate": f"ref_value/alt_value over the kept bins: {one_of(c.AGGREGATES)}.",
    # Run
    "device": f"{', '.join(c.DEVICES)} or cuda:N.",
    "precision": f"{one_of(c.PRECISIONS)} (autocast).",
    "batch_size": "Windows per forward pass, or auto (GPU: largest that fits).",
    "threads": "CPU threads for torch.",
    "num_workers": "Processes reading and encoding sequences (default: by CPU count).",
    "compile": "torch.compile the model (pays off on GPUs for long runs; falls back to eager).",
    "dry_run": "Check the input against the genome and model, report, and exit.",
    "variant_dry_run": "Check every variant against the genome (REF, chromosomes, positions), "
    "report, and exit.",
    "quiet": "No progress bar or summary.",
    "log_format": "text, or json: one JSON object per line on stderr (start, progress, warning, "
    "summary, error).",
    # Workflows
    "shard": "i/N: predict only the i-th (0-based) of N contiguous parts of the windows, "
    "balanced in whole batches (give every shard the same --batch-size); join the N outputs "
    "with grelu merge. bigWig shards write a per-window .parquet (-o shard-i.parquet); zarr "
    "shards all write into one store (-o preds.zarr), then grelu merge preds.zarr.",
    "variant_shard": "i/N: score the i-th (0-based) of N contiguous parts of the records (whole "
    "groups of records); join the N outputs with grelu merge.",
    "resume": "Commit the run chunk by chunk and continue an interrupted run from its last "
    "committed chunk; a finished output is left as it is (exit 0).",
    "chunk_windows": "Windows per committed chunk (--resume) or per work item (--devices), "
    "rounded up to whole batches.",
    "chunk_records": "Records per committed chunk (--resume; rounded up to whole groups).",
    "devices": "cuda:0,cuda:1,... or all: one worker process per device over interleaved "
    "chunks, one output in input order.",
    # ISM (``ism_*``: what the option means in ``grelu ism``)
    "ism_vcf": "VCF/table of variants: mutate around each SNV/MNV, its window placed as "
    "grelu variants places it.",
    "allele": "With --vcf: mutate the ref or the alt sequence of each variant's window.",
    "ism_width": "Mutate the central W bases of each region (the whole region when shorter; "
    "with --vcf, W bases around the variant).",
    "ism_start": "Mutate window offsets from S (0-based, genome orientation; with --ism-end).",
    "ism_end": "Mutate window offsets up to E (exclusive; with --ism-start).",
    "ism_score": "diff: target(mutant) - target(ref); log2fc: log2((m + c) / (r + c)).",
    "ism_pseudocount": "c in log2((m + c) / (r + c)) (--ism-score log2fc).",
    "ism_method": "auto (fast ISM for convolution-only models, plain otherwise), fast or plain.",
    "ism_output": "X.zarr (delta (region, position, base, task)), X.parquet (long rows) or "
    "DIR/ (one DIR/{task}.bw per task: minus the mean delta per base).",
    "ism_aggregate": f"One target per region and task: {one_of(c.AGGREGATES)} over the kept bins.",
    "ism_shard": "i/N: mutate only the i-th (0-based) of N contiguous parts of the regions "
    "(whole regions). zarr shards all write into one store (-o ism.zarr), then grelu merge "
    "ism.zarr; parquet shards are joined with grelu merge.",
    "ism_genes": "GTF or GFF3 (gzip ok): the target is one gene's (--gene-ids) sum over its "
    "exon bins of the strand-matched track, instead of --aggregate.",
    "chunk_regions": "Regions per committed chunk (--resume of parquet and bigWig output).",
    "ism_dry_run": "Check the input against the genome and model, report the plan (regions, "
    "positions, fast or plain ISM), and exit.",
}


def option(panel: str, name: str, *flags: str) -> Any:
    """The option ``name`` in help panel ``panel``, with its help from :data:`HELP` and its
    flags: ``flags``, else ``--name`` (``variant_region`` -> ``--region``). Flags are always
    given, so a boolean is one flag (``--rc``), not typer's ``--rc/--no-rc`` pair."""
    flags = flags or ("--" + name.removeprefix("variant_").replace("_", "-"),)
    return typer.Option(*flags, rich_help_panel=panel, help=HELP[name])


ModelOpt = Annotated[str, option(MODEL, "model", "--model", "-m")]
ReplicateOpt = Annotated[str | None, option(MODEL, "replicate")]
SpeciesOpt = Annotated[str | None, option(MODEL, "species")]
ArchOpt = Annotated[str | None, option(MODEL, "arch")]
ParamOpt = Annotated[list[str] | None, option(MODEL, "param")]
TrustCheckpointOpt = Annotated[bool, option(MODEL, "trust_checkpoint")]

BedOpt = Annotated[str | None, option(INPUT, "bed")]
FastaOpt = Annotated[str | None, option(INPUT, "fasta")]
VcfOpt = Annotated[str, option(INPUT, "vcf")]
GenomeOpt = Annotated[str | None, option(INPUT, "genome", "--genome", "-g")]
RegionOpt = Annotated[list[str] | None, option(INPUT, "region")]
VariantRegionOpt = Annotated[list[str] | None, option(INPUT, "variant_region")]
ChromOpt = Annotated[list[str] | None, option(INPUT, "chrom")]
VariantChromOpt = Annotated[list[str] | None, option(INPUT, "variant_chrom")]
ChromAliasOpt = Annotated[str, option(INPUT, "chrom_alias")]
SeqLenOpt = Annotated[int | None, option(INPUT, "seq_len")]
TileOpt = Annotated[bool, option(INPUT, "tile")]
EdgeOpt = Annotated[str, option(INPUT, "edge")]
RefMismatchOpt = Annotated[str, option(INPUT, "ref_mismatch")]
MaxIndelLenOpt = Annotated[int, option(INPUT, "max_indel_len")]

OutputOpt = Annotated[str, option(OUTPUT, "output", "--output", "-o")]
VariantOutputOpt = Annotated[str | None, option(OUTPUT, "variant_output", "--output", "-o")]
FormatOpt = Annotated[str | None, option(OUTPUT, "format", "--format", "-f")]
LayoutOpt = Annotated[str, option(OUTPUT, "layout")]
VariantLayoutOpt = Annotated[str, option(OUTPUT, "variant_layout")]
OverlapOpt = Annotated[str, option(OUTPUT, "overlap")]
OverwriteOpt = Annotated[bool, option(OUTPUT, "overwrite")]
DtypeOpt = Annotated[str, option(OUTPUT, "dtype")]

TasksOpt = Annotated[str | None, option(PREDICTION, "tasks")]
TasksFileOpt = Annotated[Path | None, option(PREDICTION, "tasks_file")]
TasksQueryOpt = Annotated[str | None, option(PREDICTION, "tasks_query")]
AggregateOpt = Annotated[str | None, option(PREDICTION, "aggregate")]
BinsOpt = Annotated[int | None, option(PREDICTION, "bins")]
RcOpt = Annotated[bool, option(PREDICTION, "rc")]
ShiftsOpt = Annotated[int, option(PREDICTION, "shifts")]
UntransformOpt = Annotated[bool, option(PREDICTION, "untransform")]
LogitsOpt = Annotated[bool, option(PREDICTION, "logits")]
UntransformModeOpt = Annotated[str, option(PREDICTION, "untransform_mode")]

GenesOpt = Annotated[str | None, option(GENES, "genes")]
GeneTypesOpt = Annotated[str | None, option(GENES, "gene_types")]
GeneIdsOpt = Annotated[str | None, option(GENES, "gene_ids")]
GeneIdsFileOpt = Annotated[str | None, option(GENES, "gene_ids_file")]
GeneBinsOpt = Annotated[str, option(GENES, "gene_bins")]
GeneSpanOpt = Annotated[bool, option(GENES, "gene_span")]
GeneStatsOpt = Annotated[str, option(GENES, "gene_stats")]
BackgroundOpt = Annotated[str | None, option(GENES, "background")]

ScoresOpt = Annotated[str, option(SCORES, "scores")]
PseudocountOpt = Annotated[float, option(SCORES, "pseudocount")]
VariantAggregateOpt = Annotated[str, option(SCORES, "variant_aggregate")]
VariantBinsOpt = Annotated[int | None, option(SCORES, "bins")]

DeviceOpt = Annotated[str, option(RUN, "device")]
PrecisionOpt = Annotated[str, option(RUN, "precision")]
BatchSizeOpt = Annotated[str, option(RUN, "batch_size", "--batch-size", "-b")]
ThreadsOpt = Annotated[int | None, option(RUN, "threads")]
NumWorkersOpt = Annotated[int | None, option(RUN, "num_workers")]
CompileOpt = Annotated[bool, option(RUN, "compile")]
DryRunOpt = Annotated[bool, option(RUN, "dry_run")]
VariantDryRunOpt = Annotated[bool, option(RUN, "variant_dry_run")]
QuietOpt = Annotated[bool, option(RUN, "quiet", "--quiet", "-q")]
LogFormatOpt = Annotated[str, option(RUN, "log_format")]

ShardOpt = Annotated[str | None, option(WORKFLOWS, "shard")]
VariantShardOpt = Annotated[str | None, option(RUN, "variant_shard")]
ResumeOpt = Annotated[bool, option(WORKFLOWS, "resume")]
VariantResumeOpt = Annotated[bool, option(RUN, "resume")]
ChunkWindowsOpt = Annotated[int, option(WORKFLOWS, "chunk_windows")]
ChunkRecordsOpt = Annotated[int, option(RUN, "chunk_records")]
DevicesOpt = Annotated[str | None, option(WORKFLOWS, "devices")]

IsmVcfOpt = Annotated[str | None, option(INPUT, "ism_vcf", "--vcf")]
AlleleOpt = Annotated[str, option(INPUT, "allele")]
IsmWidthOpt = Annotated[int, option(ISM, "ism_width")]
IsmStartOpt = Annotated[int | None, option(ISM, "ism_start")]
IsmEndOpt = Annotated[int | None, option(ISM, "ism_end")]
IsmScoreOpt = Annotated[str, option(ISM, "ism_score")]
IsmPseudocountOpt = Annotated[float, option(ISM, "ism_pseudocount", "--pseudocount")]
IsmMethodOpt = Annotated[str, option(ISM, "ism_method")]
IsmGenesOpt = Annotated[str | None, option(GENES, "ism_genes", "--genes")]
IsmOutputOpt = Annotated[str, option(OUTPUT, "ism_output", "--output", "-o")]
IsmAggregateOpt = Annotated[str, option(PREDICTION, "ism_aggregate", "--aggregate")]
IsmShardOpt = Annotated[str | None, option(WORKFLOWS, "ism_shard", "--shard")]
ChunkRegionsOpt = Annotated[int, option(WORKFLOWS, "chunk_regions")]
IsmDryRunOpt = Annotated[bool, option(RUN, "ism_dry_run", "--dry-run")]
