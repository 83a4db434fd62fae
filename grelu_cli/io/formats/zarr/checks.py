"""Cheap checks of a zarr output before anything is predicted: may this run write it?

:func:`check_zarr_output` for ``grelu predict``'s dense stores (shards join one store;
``resume`` keeps a finished one), :func:`check_variant_store_output` for ``grelu
variants``' stores. A directory that is not a grelu store is never replaced.
"""

from __future__ import annotations

from pathlib import Path

from grelu_cli.errors import InputDataError, OutputExistsError, UsageError
from grelu_cli.io.formats.zarr.read import is_complete, read_record


def check_zarr_output(
    path: str | Path, *, overwrite: bool = False, sharded: bool = False, resume: bool = False
) -> bool:
    """Cheap check before predicting; True when ``path`` is a finished store and ``resume``
    says to leave it alone (nothing to do).

    Raises OutputExistsError for an existing output the run may not replace: any existing
    path without ``overwrite`` (unsharded), a finished store (sharded: shards never delete a
    store other shards write into), or something that is not a grelu store.
    """
    path = Path(path)
    if path.is_file():
        raise UsageError(f"output {path} is a file, not a zarr store", fix="choose another -o")
    if not path.exists():
        return False
    try:
        complete: bool | None = is_complete(path)
    except (InputDataError, OSError):
        complete = None  # not a grelu store (or not a zarr store at all)
    if complete and resume:
        return True
    if complete is None:
        # Never replaced or joined, even with --overwrite: it may be someone else's data.
        raise OutputExistsError(
            f"output {path} already exists and is not a grelu zarr store",
            fix="choose another -o, or delete it yourself",
        )
    if not sharded:
        if overwrite:
            return False
        raise OutputExistsError(
            f"output {path} already exists", fix="use --overwrite to replace it"
        )
    if complete:
        raise OutputExistsError(
            f"output {path} is already complete (finalized by grelu merge)",
            fix="use --resume to leave it as it is, or delete it to predict again",
        )
    return False


def check_variant_store_output(path: str | Path, *, overwrite: bool = False) -> None:
    """Raise if ``path`` cannot be written: a file, a directory that is not a grelu variant
    store (never replaced: it may be someone else's data), or a store without ``overwrite``."""
    from grelu_cli.errors import OutputExistsError

    path = Path(path)
    if path.is_file():
        raise UsageError(f"output {path} is a file, not a zarr store", fix="choose another -o")
    if not path.exists():
        return
    try:
        is_ours = read_record(path).get("command") == "variants"
    except (InputDataError, OSError):
        is_ours = False
    if not is_ours:
        raise OutputExistsError(
            f"output {path} already exists and is not a grelu variants store",
            fix="choose another -o, or delete it yourself",
        )
    if not overwrite:
        raise OutputExistsError(
            f"output {path} already exists", fix="use --overwrite to replace it"
        )
