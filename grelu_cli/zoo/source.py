"""Turn what a user typed for ``--model`` into a file on disk.

Three spellings, tried in this order:

1. a local file: ``model.ckpt``, ``weights.safetensors``, ``./state_dict.pt``;
2. a zoo name: ``borzoi`` (with ``species`` and ``replicate``), or its repo id
   ``Genentech/borzoi-model``;
3. any Hugging Face repo: ``Org/repo`` (file ``model.ckpt``) or ``Org/repo/path/file.ckpt``.

Zoo and Hub models are served from the local cache when present (no network), else downloaded
(see :mod:`grelu_cli.zoo.hub`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from grelu_cli.errors import MissingResourceError, UsageError
from grelu_cli.zoo import hub
from grelu_cli.zoo.registry import ARCHITECTURE, EXTERNAL, ModelRecord, find_record

WEIGHT_SUFFIXES = (".ckpt", ".pt", ".pth", ".bin", ".safetensors")
_REPO = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


@dataclass(frozen=True)
class ResolvedSource:
    """Where a model's weights are.

    Attributes:
        path: the local file.
        name: what to call it in output and provenance (``borzoi``, ``model.ckpt``).
        label: the full origin (``Genentech/borzoi-model@9d9e691/human_rep0.ckpt`` or a path).
        record: the zoo record, if the model is in the zoo.
        species, replicate: the zoo file chosen.
    """

    path: Path
    name: str
    label: str
    record: ModelRecord | None = None
    species: str | None = None
    replicate: int | None = None


def split_hub_spec(spec: str) -> tuple[str, str] | None:
    """``Org/repo`` -> (repo, "model.ckpt"); ``Org/repo/sub/f.ckpt`` -> (repo, "sub/f.ckpt")."""
    parts = spec.strip("/").split("/")
    if len(parts) < 2 or not _REPO.match("/".join(parts[:2])):
        return None
    repo = "/".join(parts[:2])
    if repo.lower().endswith(WEIGHT_SUFFIXES):
        return None
    if len(parts) == 2:
        return repo, "model.ckpt"
    return repo, "/".join(parts[2:])


def resolve(
    spec: str,
    *,
    species: str | None = None,
    replicate: int | None = None,
    download: bool = True,
    progress: bool = True,
    force: bool = False,
    settings: hub.HubSettings | None = None,
) -> ResolvedSource:
    """Find (and if needed download) the weights file ``spec`` names.

    ``download=False`` only looks in the cache; ``force=True`` downloads again even when cached
    (to pick up a new revision of an unpinned model, or repair a cache).
    """
    opts = _FetchOptions(download, progress, force, settings or hub.HubSettings.from_env())
    path = Path(spec).expanduser()
    record = None if path.is_file() else find_record(spec)
    if record is not None:
        return _resolve_record(record, species, replicate, opts)
    if species is not None or replicate is not None:
        raise UsageError(
            f"--species/--replicate choose among zoo weights, but '{spec}' is not a zoo model",
            fix="drop --species/--replicate, or name a zoo model ('grelu models list')",
        )
    if path.is_file():
        return ResolvedSource(path=path, name=path.name, label=str(path))
    hub_spec = None if spec.startswith(("/", ".", "~")) else split_hub_spec(spec)
    if hub_spec is not None and not Path(spec.split("/")[0]).exists():
        repo_id, filename = hub_spec
        try:
            local = _fetch(repo_id, filename, None, spec, opts)
        except MissingResourceError as e:
            if not path.suffix:
                raise
            # 'dir/file.ckpt' may be a mistyped local path as well as a Hub file: say both.
            raise type(e)(f"no local file {spec}, and as a Hub file: {e.message}", e.fix) from None
        return ResolvedSource(path=local, name=spec, label=f"{repo_id}/{filename}")
    if looks_like_path(spec) or path.exists():
        raise missing_file(spec, path)
    # Unknown bare name: reuse the registry's suggestion message.
    from grelu_cli.zoo.registry import get_record

    get_record(spec)
    raise AssertionError("unreachable")  # pragma: no cover


def looks_like_path(spec: str) -> bool:
    """Whether ``spec`` names a file rather than a zoo model: it has a file extension
    (``model.ckp``, ``weights.bin``) or a path separator, or starts with ``.``/``~``.
    Zoo names never contain a dot."""
    return bool(Path(spec).suffix) or "/" in spec or os.sep in spec or spec.startswith((".", "~"))


def missing_file(spec: str, path: Path) -> MissingResourceError:
    """The error for a model path that is not a file, suggesting a close name beside it."""
    if path.exists():
        return MissingResourceError(f"model {spec} is not a file", fix="give the weights file")
    import difflib

    try:
        names = [p.name for p in path.parent.iterdir() if p.is_file()]
    except OSError:  # the folder is missing or unreadable
        names = []
    close = difflib.get_close_matches(path.name, names, n=1, cutoff=0.8)
    fix = f"did you mean {path.with_name(close[0])}?" if close else "check the path"
    return MissingResourceError(f"model file {spec} does not exist", fix=fix)


def _resolve_record(
    record: ModelRecord,
    species: str | None,
    replicate: int | None,
    opts: _FetchOptions,
) -> ResolvedSource:
    if record.kind == ARCHITECTURE:
        raise UsageError(
            f"'{record.name}' is an architecture without trained weights",
            fix=f"build one with 'grelu models build {record.name} --n-tasks N -o model.ckpt'",
        )
    if record.kind == EXTERNAL or not record.files or record.repo_id is None:
        raise UsageError(
            f"model '{record.name}' cannot be loaded by grelu-cli: "
            f"{record.notes or record.summary}",
            fix=f"see {record.url}" if record.url else "see 'grelu models info'",
        )
    wf = record.weights_file(species, replicate)
    cmd = download_command(record, wf.species, wf.replicate)
    local = _fetch(record.repo_id, wf.filename, record.revision, record.name, opts, cmd)
    commit = hub.snapshot_commit(local) or record.revision
    rev = f"@{commit[:7]}" if commit else ""
    return ResolvedSource(
        path=local,
        name=record.name,
        label=f"{record.repo_id}{rev}/{wf.filename}",
        record=record,
        species=wf.species,
        replicate=wf.replicate,
    )


def download_command(record: ModelRecord, species: str, replicate: int) -> str:
    """The ``grelu models download`` line that fetches exactly this file."""
    cmd = f"grelu models download {record.name}"
    if len(record.species) > 1 and species != record.species[0]:
        cmd += f" --species {species}"
    if len(record.replicates) > 1 and replicate != 0:
        cmd += f" --replicate {replicate}"
    return cmd


@dataclass(frozen=True)
class _FetchOptions:
    download: bool
    progress: bool
    force: bool
    settings: hub.HubSettings


def _fetch(
    repo_id: str,
    filename: str,
    revision: str | None,
    model: str,
    opts: _FetchOptions,
    cmd: str | None = None,
) -> Path:
    settings = opts.settings
    cmd = cmd or f"grelu models download {model}"
    if not opts.download:
        hit = hub.cached_file(repo_id, filename, revision, settings)
        if hit is None:
            raise hub.missing_error(
                model, repo_id, filename, settings, cmd, "downloading was not allowed"
            )
        return hit
    return hub.fetch(
        repo_id,
        filename,
        revision=revision,
        model=model,
        download_cmd=cmd,
        settings=settings,
        progress=opts.progress,
        force=opts.force,
    )
