"""The run fingerprint of each job kind, and the check that a finished output is this run's.

A fingerprint (:mod:`grelu_cli.run.identity`) covers the weights, the input's contents, the
genome index, the tasks, the value-deciding options and the output target. Outputs record it
(``fingerprint``) with what it covers (``fingerprint_inputs``, compact), so that ``--resume``
on a finished output of *another* run is refused naming the option or input that differs
(:func:`check_finished`), instead of keeping a stale result.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grelu_cli.errors import InputDataError, MissingResourceError, UsageError

if TYPE_CHECKING:
    from grelu_cli.run.build import BuiltRun
    from grelu_cli.run.config import PredictJob
    from grelu_cli.run.variant_job import VariantJob

#: How messages name each job kind's input when its contents differ.
INPUT_LABELS = {
    "predict": "the input's contents (--bed, --fasta, --region, --chrom)",
    "variants": "the variant file's contents (--vcf)",
    "ism": "the input's contents (--bed, --fasta, --region, --vcf)",
}


def predict_inputs(job: PredictJob, run: BuiltRun, target: dict[str, Any]) -> dict[str, Any]:
    """What a ``grelu predict`` run's fingerprint covers."""
    from grelu_cli.io.formats.provenance import sha256_file
    from grelu_cli.run.identity import fingerprint_inputs, table_digest

    inp = run.inp
    digest = table_digest(inp.table)
    if inp.table.fasta_path is not None:  # record names and lengths are not the sequences
        digest += ":" + sha256_file(inp.table.fasta_path)
    return fingerprint_inputs(
        weights_sha256=run.loaded.sha256,
        input_digest=digest,
        genome_index_sha256=inp.genome.index_sha256() if inp.genome is not None else None,
        tasks=run.predictor.task_names,
        options=job.options(),
        target=target,
    )


def variant_inputs(
    job: VariantJob, loaded: Any, genome: Any, tasks: list[str], target: dict[str, Any]
) -> dict[str, Any]:
    """What a ``grelu variants`` run's fingerprint covers: the variant file's contents (not
    its path) instead of a region table."""
    from grelu_cli.io.formats.provenance import sha256_file
    from grelu_cli.run.identity import fingerprint_inputs

    options = job.options()
    for run_only in ("vcf", "chunk_records"):
        options.pop(run_only, None)
    g = job.genes
    if g.active:  # the annotation's (and background's) contents, not only their paths
        assert g.genes is not None
        options["genes_sha256"] = sha256_file(g.genes)
        if g.gene_ids_file is not None:
            options["gene_ids_file_sha256"] = sha256_file(g.gene_ids_file)
        if g.background is not None and Path(g.background).is_file():
            options["background_sha256"] = sha256_file(g.background)
    return fingerprint_inputs(
        weights_sha256=loaded.sha256,
        input_digest=sha256_file(job.variant.vcf),
        genome_index_sha256=genome.index_sha256(),
        tasks=tasks,
        options=options,
        target=target,
    )


def record_fingerprint(record: dict[str, Any], inputs: dict[str, Any]) -> str:
    """Put the fingerprint of ``inputs`` and the compact inputs into a provenance record."""
    from grelu_cli.run.identity import compact_inputs, fingerprint_of
    from grelu_cli.run.resume import INPUTS_KEY

    fp = fingerprint_of(inputs)
    record["fingerprint"] = fp
    record[INPUTS_KEY] = compact_inputs(inputs)
    return fp


def read_output_record(path: Path) -> dict[str, Any] | None:
    """The provenance record of a finished parquet file, zarr store or gene h5 file (None for
    files that carry none, such as bigWig tracks, or that cannot be read)."""
    from grelu_cli.io.formats.merge import read_record
    from grelu_cli.io.formats.registry import has_suffix

    if has_suffix(path, "h5") and path.is_file():  # gene scores in Calico's layout
        try:
            import h5py

            with h5py.File(path, "r") as f:
                raw = f.attrs.get("grelu")
            return json.loads(raw) if isinstance(raw, str) else None
        except (OSError, ValueError):
            return None
    if not (path.is_dir() or has_suffix(path, "parquet")):
        return None
    try:
        return read_record(path)
    except (InputDataError, MissingResourceError, OSError, ValueError):
        return None


def check_finished(
    path: Path, record: dict[str, Any] | None, inputs: dict[str, Any], kind: str
) -> None:
    """Raise UsageError when ``record`` (a finished output's) is of another run than the one
    ``inputs`` describe. An output recording no fingerprint (or none readable) is kept."""
    from grelu_cli.run.identity import compact_inputs, fingerprint_differences, fingerprint_of
    from grelu_cli.run.resume import INPUTS_KEY

    old = (record or {}).get("fingerprint")
    if old is None or old == fingerprint_of(inputs):
        return
    named = fingerprint_differences(
        (record or {}).get(INPUTS_KEY) or {}, compact_inputs(inputs), INPUT_LABELS[kind]
    )
    what = "; ".join(named) if named else "model, input or options"
    raise UsageError(
        f"--resume: {path} is a finished output of another run (different {what})",
        fix="rerun with the options and inputs that made it to keep it, or pass --overwrite "
        "(or another -o) to predict this run",
    )
