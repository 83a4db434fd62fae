"""The models part of the Python API: what ``grelu models list|download|info|build`` do.

Thin, typed functions over :mod:`grelu_cli.zoo`; ``list_models`` reads only the registry and
the cache folder (no torch, no network). Re-exported by :mod:`grelu_cli.api`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from grelu_cli.errors import UsageError

_PathLike = str | Path


def list_models(pattern: str | None = None, kind: str | None = None) -> list[dict[str, Any]]:
    """Zoo records matching ``pattern`` (glob or substring) as plain dicts, with how many of
    their weight files are cached. Reads the registry and the cache only (no torch)."""
    from grelu_cli.zoo.listing import model_rows

    return model_rows(pattern, kind)


def download_model(
    name: str,
    *,
    species: str | None = None,
    replicate: int | None = None,
    all_files: bool = False,
    progress: bool = True,
    force: bool = False,
) -> list[Path]:
    """Download a zoo model's (or Hub repo's) weights into the cache; their local paths.
    ``all_files`` takes every species and replicate of a zoo model."""
    from grelu_cli.zoo import registry
    from grelu_cli.zoo.source import resolve

    rec = registry.find_record(name)
    targets: list[tuple[str | None, int | None]] = [(species, replicate)]
    if all_files:
        if rec is None or not rec.files:
            raise UsageError(f"--all needs a zoo model with weights, not '{name}'")
        targets = [(f.species, f.replicate) for f in rec.files]
    paths = []
    for sp, rep in targets:
        src = resolve(
            name, species=sp, replicate=rep, download=True, progress=progress, force=force
        )
        paths.append(Path(src.path))
    return paths


def model_info(
    name: str,
    *,
    species: str | None = None,
    replicate: int | None = None,
    trust_checkpoint: bool = False,
    arch: str | None = None,
    param: Sequence[str] = (),
    tasks: bool = False,
) -> tuple[dict[str, Any], Any]:
    """(description dict, tasks DataFrame or None) of a zoo name, repo, architecture or file;
    an uncached zoo model is described from the registry (its tasks need the weights)."""
    from grelu_cli.zoo.describe import describe

    return describe(
        name,
        species=species,
        replicate=replicate,
        trust_checkpoint=trust_checkpoint,
        arch=arch,
        params=list(param),
        with_tasks=tasks,
    )


def build_model(
    arch: str,
    output: _PathLike,
    *,
    n_tasks: int | None = None,
    param: Sequence[str] = (),
    tasks_file: _PathLike | None = None,
    seq_len: int | None = None,
    task_type: str = "regression",
    loss: str | None = None,
    seed: int = 0,
    overwrite: bool = False,
) -> tuple[Any, str | None]:
    """Build a randomly initialised ``arch`` and save it as a gReLU checkpoint at ``output``:
    (what was written, the registry's note on the architecture or None)."""
    from grelu_cli.zoo.build import build_checkpoint_file, parse_param, read_task_file
    from grelu_cli.zoo.listing import build_note

    params = dict(parse_param(p) for p in param)
    names = read_task_file(Path(tasks_file)) if tasks_file is not None else None
    built = build_checkpoint_file(
        arch,
        Path(output),
        n_tasks=n_tasks,
        params=params,
        tasks=names,
        seq_len=seq_len,
        task_type=task_type,
        loss=loss,
        seed=seed,
        overwrite=overwrite,
    )
    return built, build_note(built.model_type)
