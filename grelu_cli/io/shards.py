"""Shards and chunks of a run's windows, and the fingerprint that ties them to one run.

A run predicts windows ``0 .. W-1`` in input order, in model batches of ``B`` windows counted
from window 0 (batch ``k`` holds windows ``[k*B, (k+1)*B)``; the last one may be shorter).
``--shard i/N`` takes the ``i``-th of ``N`` contiguous, balanced ranges of whole batches (sizes
differ by at most one batch; the first shards get the extra batch). Inside a shard, resumable
and multi-device runs cut the range into chunks of whole batches (the unit that is committed to
disk, resumed, or handed to a device).

Why whole batches: on these CPUs (torch 2.13, oneDNN) the same window can give results that
differ in the last bit depending on the size of the batch it is computed in. With every
boundary on a batch boundary, each window sits in the same batch in a plain, sharded, resumed
or chunked run, so all of them give identical bits, and no window is ever computed twice
(the earlier design padded small batches with copies: 8x the work for one-window batches).

The *fingerprint* is a sha256 over everything that decides the predicted values and their
layout: the model weights, the region table's contents (not its path), the genome index, the
selected tasks and every option except those that only say where or how fast to run
(:data:`RUN_ONLY_OPTIONS`). Shards of one run share it; ``grelu merge`` and ``--resume``
refuse inputs whose fingerprints differ.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from grelu_cli.errors import UsageError

_SHARD = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")

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


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count`` (0-based), as given by ``--shard index/count``."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str) -> Shard:
    """``"2/8"`` -> ``Shard(2, 8)``; UsageError (exit 2) for anything else."""
    m = _SHARD.match(text)
    if m is None:
        raise UsageError(
            f"--shard {text!r} is not of the form i/N",
            fix="pass --shard i/N with 0 <= i < N, e.g. --shard 0/4",
        )
    index, count = int(m.group(1)), int(m.group(2))
    if count < 1:
        raise UsageError(f"--shard {text!r}: N must be at least 1", fix="e.g. --shard 0/4")
    if index >= count:
        raise UsageError(
            f"--shard {text!r}: shard index {index} is not below N={count} (indices are 0-based)",
            fix=f"use --shard 0/{count} .. --shard {count - 1}/{count}",
        )
    return Shard(index, count)


def shard_range(total: int, shard: Shard | None, batch: int = 1) -> tuple[int, int]:
    """Window range ``[lo, hi)`` of ``shard`` over ``total`` windows (all of them for None).

    Shards hold whole batches of ``batch`` windows (see the module docstring): the
    ``ceil(total / batch)`` batches are split into ``shard.count`` balanced parts, so ``lo``
    is a multiple of ``batch`` and only the run's last shard may end inside a batch. With
    fewer batches than shards, the last shards are empty.
    """
    if batch < 1:
        raise ValueError(f"batch size {batch}; must be >= 1")
    if shard is None:
        return 0, total
    n_batches = -(-total // batch)
    q, r = divmod(n_batches, shard.count)
    first = shard.index * q + min(shard.index, r)
    last = first + q + (1 if shard.index < r else 0)
    return min(first * batch, total), min(last * batch, total)


def chunk_ranges(lo: int, hi: int, size: int, batch: int = 1) -> list[tuple[int, int]]:
    """``[lo, hi)`` cut into consecutive ranges of about ``size`` windows (the last may be
    shorter). ``size`` is rounded up to whole batches of ``batch`` windows, so that with ``lo``
    on a batch boundary every chunk starts on one."""
    if size < 1 or batch < 1:
        raise ValueError(f"chunk size {size}, batch size {batch}; both must be >= 1")
    size = -(-size // batch) * batch
    return [(a, min(a + size, hi)) for a in range(lo, hi, size)]


def interleave(n_items: int, n_workers: int) -> list[list[int]]:
    """Item ``k`` goes to worker ``k % n_workers``: balanced work, each worker's items in order."""
    return [list(range(w, n_items, n_workers)) for w in range(n_workers)]


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
    from grelu_cli.io.provenance import jsonable

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
