"""What a run is: the fingerprint that ties shards, parts and outputs to one run.

The *fingerprint* is a sha256 over everything that decides the predicted values and their
layout: the model weights, the region table's contents (not its path), the genome index, the
selected tasks and every option except those that only say where or how fast to run
(:data:`RUN_ONLY_OPTIONS`). Shards of one run share it; ``grelu merge`` and ``--resume``
refuse inputs whose fingerprints differ.
The inputs it covers are kept as a dict (``fingerprint_inputs``), so that a refusal names the
option or input that differs (:func:`fingerprint_differences`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

# Options that never change a value or a row: where the output goes, how the run is spread
# over processes and devices, how it reports. Paths of inputs are replaced by content hashes.
RUN_ONLY_OPTIONS = frozenset(
    {
        "output",
        "overwrite",
        "resume",
        "shard",
        "devices",
        "device",
        "batch_size",
        "threads",
        "num_workers",
        "quiet",
        "log_format",
        "dry_run",
        "chunk_windows",
        "model",
        "genome",
        "bed",
        "fasta",
        "tasks_file",
        "fmt",
    }
)


def table_digest(table: Any) -> str:
    """sha256 of a :class:`~grelu_cli.genome.table.RegionTable`'s contents (not its path)."""
    import numpy as np

    digest = hashlib.sha256()
    digest.update(table.kind.encode())
    digest.update(json.dumps(list(table.chrom_names)).encode())
    for column in (table.chrom_sizes, table.chrom, table.start, table.end, table.minus):
        digest.update(np.ascontiguousarray(column).tobytes())
    digest.update(np.ascontiguousarray(table.name_off).tobytes())
    digest.update(bytes(table.name_buf))
    return digest.hexdigest()


def fingerprint_inputs(
    *,
    weights_sha256: str | None,
    input_digest: str,
    genome_index_sha256: str | None,
    tasks: Sequence[str],
    options: Mapping[str, Any],
    target: Mapping[str, Any],
) -> dict[str, Any]:
    """What the run fingerprint covers, as a JSON-ready dict (see the module docstring).

    Args:
        weights_sha256: checksum of the model weights.
        input_digest: :func:`table_digest` of the regions (or the variant file's checksum).
        genome_index_sha256: checksum of the genome's ``.fai`` (None for FASTA input).
        tasks: output task names, in order.
        options: every CLI option; :data:`RUN_ONLY_OPTIONS` are left out.
        target: what the output is (format, layout, overlap mode...).
    """
    from grelu_cli.io.formats.provenance import jsonable

    record = {
        "weights_sha256": weights_sha256,
        "input": input_digest,
        "genome_index_sha256": genome_index_sha256,
        "tasks": list(tasks),
        "options": {k: v for k, v in sorted(options.items()) if k not in RUN_ONLY_OPTIONS},
        "target": dict(target),
    }
    out: dict[str, Any] = jsonable(record)
    return out


def fingerprint_of(inputs: Mapping[str, Any]) -> str:
    """The run fingerprint (hex sha256) of :func:`fingerprint_inputs`' record."""
    text = json.dumps(inputs, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def fingerprint(**inputs: Any) -> str:
    """The run fingerprint (hex sha256): :func:`fingerprint_of` :func:`fingerprint_inputs`."""
    return fingerprint_of(fingerprint_inputs(**inputs))


def compact_inputs(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """``inputs`` as outputs and manifests record it: the task list as its checksum (a
    Borzoi run has thousands), the rest as is; enough to name what differs."""
    tasks = json.dumps(list(inputs.get("tasks", [])), separators=(",", ":"))
    return {**inputs, "tasks": hashlib.sha256(tasks.encode()).hexdigest()}


#: How messages name a fingerprint part, and the option behind a target entry.
_PARTS = {
    "weights_sha256": "the model weights (--model)",
    "genome_index_sha256": "the genome index (--genome)",
    "tasks": "the tasks (--tasks, --tasks-file, --tasks-query)",
}
_TARGET_OPTIONS = {
    "format": "--format",
    "layout": "--layout",
    "overlap": "--overlap",
    "dtype": "--dtype",
    "group_records": "--batch-size",
    "batch_windows": "--batch-size",
}
_OPTION_NAMES = {"fmt": "--format", "compile_model": "--compile"}


def option_name(key: str) -> str:
    """The CLI option of a recorded option key (``chunk_windows`` -> ``--chunk-windows``)."""
    return _OPTION_NAMES.get(key, "--" + key.replace("_", "-"))


def fingerprint_differences(
    old: Mapping[str, Any], new: Mapping[str, Any], input_label: str = "the input's contents"
) -> list[str]:
    """What differs between two recorded :func:`compact_inputs` records, named as the user
    typed it: ``--rc (False vs now True)``, ``the input's contents``... (empty when equal
    or when ``old`` records nothing to compare)."""
    out: list[str] = []
    if not old:
        return out
    if old.get("input") != new.get("input"):
        out.append(input_label)
    for key, label in _PARTS.items():
        if old.get(key) != new.get(key):
            out.append(label)
    seen: set[str] = set()
    for group, names in (("options", None), ("target", _TARGET_OPTIONS)):
        a, b = dict(old.get(group) or {}), dict(new.get(group) or {})
        for key in sorted(set(a) | set(b)):
            if a.get(key) == b.get(key):
                continue
            name = option_name(key) if names is None else names.get(key, f"output {key}")
            if name not in seen:
                seen.add(name)
                out.append(f"{name} ({a.get(key)!r} vs now {b.get(key)!r})")
    return out
