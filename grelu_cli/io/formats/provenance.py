"""Provenance: the JSON-serialisable record of how an output was made.

Writers store it with the data (parquet: file metadata key ``grelu``). The record holds the
tool version, the model (registry name and/or checkpoint path, file name, weights sha256),
the genome (path, ``.fai`` index path and sha256), every option, and run counts::

    {
      "tool": "grelu-cli", "version": "0.1.0", "created": "2026-11-24T13:00:00Z",
      "python": "3.11.9",
      "model": {"name": "borzoi-human", "path": "/abs/model.ckpt", "file": "model.ckpt",
                "weights_sha256": "..."},
      "genome": {"path": "/abs/hg38.fa", "index": "/abs/hg38.fa.fai", "index_sha256": "..."},
      "options": {...}, "counts": {"regions": 10, "windows": 10, ...}
    }

Options may hold paths, enums, tuples, sets, numpy scalars or arrays: :func:`jsonable`
turns them into plain JSON values.
"""

from __future__ import annotations

import datetime as _dt
import enum
import hashlib
import json
import math
import platform
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePath
from typing import Any

from grelu_cli import __version__


def sha256_file(path: str | Path, chunk_size: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def genome_index_path(genome: str | Path) -> Path:
    """The samtools/pyfaidx index of a FASTA: ``genome.fa`` -> ``genome.fa.fai``."""
    genome = Path(genome)
    return genome.with_name(genome.name + ".fai")


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON types (dict, list, str, int, float, bool, None)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)  # JSON has no NaN/inf
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted((jsonable(v) for v in value), key=repr)
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    tolist = getattr(value, "tolist", None)  # numpy scalars and arrays
    if callable(tolist):
        return jsonable(tolist())
    return str(value)


def model_record(
    name: str | None = None,
    path: str | Path | None = None,
    weights_sha256: str | None = None,
    hash_file: bool = False,
) -> dict[str, Any]:
    """Model part of the record. ``hash_file`` computes the sha256 of ``path`` if not given."""
    record: dict[str, Any] = {"name": name}
    if path is not None:
        path = Path(path)
        record["path"] = str(path.absolute())
        record["file"] = path.name
        if weights_sha256 is None and hash_file and path.is_file():
            weights_sha256 = sha256_file(path)
    record["weights_sha256"] = weights_sha256
    return record


def genome_record(genome: str | Path | None) -> dict[str, Any] | None:
    """Genome part of the record: FASTA path, index path and the index's sha256.

    The index (a few KB) identifies the assembly's sequence names and lengths; hashing the
    FASTA itself (GBs) would cost more than a short prediction run.
    """
    if genome is None:
        return None
    genome = Path(genome)
    index = genome_index_path(genome)
    return {
        "path": str(genome.absolute()),
        "index": str(index.absolute()),
        "index_sha256": sha256_file(index) if index.is_file() else None,
    }


def build_provenance(
    *,
    model: str | None = None,
    model_path: str | Path | None = None,
    weights_sha256: str | None = None,
    genome: str | Path | None = None,
    options: Mapping[str, Any] | None = None,
    counts: Mapping[str, Any] | None = None,
    tasks: Sequence[str] | None = None,
    extra: Mapping[str, Any] | None = None,
    created: str | None = None,
) -> dict[str, Any]:
    """The provenance record as a JSON-serialisable dict.

    Args:
        model: registry name of the model, or None for a checkpoint given by path.
        model_path: checkpoint file (its absolute path and file name are recorded).
        weights_sha256: checksum of the weights; computed from ``model_path`` when None.
        genome: FASTA path; the ``.fai`` next to it is hashed if present.
        options: every option of the run (converted with :func:`jsonable`).
        counts: run counts (regions, windows, padded, dropped, ...); may be filled in later
            by updating ``record["counts"]``.
        tasks: names of the predicted tasks, in output order.
        extra: further top-level keys (e.g. ``{"torch": "2.13.0"}``).
        created: UTC timestamp; defaults to now.
    """
    if created is None:
        now = _dt.datetime.now(_dt.UTC).replace(microsecond=0)
        created = now.isoformat().replace("+00:00", "Z")
    record: dict[str, Any] = {
        "tool": "grelu-cli",
        "version": __version__,
        "created": created,
        "python": platform.python_version(),
        "model": model_record(model, model_path, weights_sha256, hash_file=True),
        "genome": genome_record(genome),
        "options": jsonable(dict(options or {})),
        "counts": jsonable(dict(counts or {})),
    }
    if tasks is not None:
        record["tasks"] = [str(t) for t in tasks]
    if extra:
        record.update(jsonable(dict(extra)))
    return record


def to_json(record: Mapping[str, Any]) -> str:
    """Compact, key-order-preserving JSON of a record (values passed through :func:`jsonable`)."""
    return json.dumps(jsonable(record), separators=(",", ":"), allow_nan=False)
