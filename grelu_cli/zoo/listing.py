"""Rows of ``grelu models list``: registry records with their cache status (no torch or network)."""

from __future__ import annotations

from typing import Any

from grelu_cli.errors import UsageError
from grelu_cli.zoo import registry

KINDS = (registry.PRETRAINED, registry.ARCHITECTURE, registry.EXTERNAL)


def cache_status(rec: registry.ModelRecord) -> tuple[int, int]:
    """(cached files, files) for a pretrained record; (0, 0) for anything else."""
    from grelu_cli.zoo.hub import HubSettings, cached_file

    if not rec.files or rec.repo_id is None:
        return 0, 0
    settings = HubSettings.from_env()
    hits = sum(
        cached_file(rec.repo_id, f.filename, rec.revision, settings) is not None for f in rec.files
    )
    return hits, len(rec.files)


def model_rows(pattern: str | None = None, kind: str | None = None) -> list[dict[str, Any]]:
    """One plain dict per matching record (name, kind, species, geometry, cache status)."""
    if kind is not None and kind not in KINDS:
        raise UsageError(f"--kind '{kind}'", fix=f"choose {', '.join(KINDS)}")
    recs = registry.list_models(pattern, kind=kind)
    if not recs:
        raise UsageError(f"no model matches '{pattern}'", fix="run 'grelu models list'")
    rows = []
    for rec in recs:
        hits, total = cache_status(rec)
        rows.append(
            {
                "name": rec.name,
                "kind": rec.kind,
                "species": list(rec.species),
                "input_bp": rec.input_bp,
                "bin_size": rec.bin_size,
                "tracks": rec.n_tasks,
                "architecture": rec.architecture,
                "repo_id": rec.repo_id,
                "cached_files": hits,
                "files": total,
                "cached": None if total == 0 else hits > 0,
                "summary": rec.summary,
            }
        )
    return rows


def build_note(model_type: str) -> str | None:
    """The registry's note on an architecture (shown after ``grelu models build``)."""
    return registry.get_record(model_type).notes or None
