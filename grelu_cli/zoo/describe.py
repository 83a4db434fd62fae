"""A plain-data description of a model for ``grelu models info`` (and for provenance).

For a zoo model whose weights are not cached, the description comes from the registry alone;
nothing is downloaded, and asking for the tasks table (which only the weights file holds) is a
missing resource (exit 4) that names the download command. Otherwise the model is loaded
(safely) and described from the checkpoint.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from grelu_cli.errors import MissingResourceError, UsageError
from grelu_cli.zoo import hub, registry
from grelu_cli.zoo.source import download_command


def describe(
    name: str,
    *,
    species: str | None = None,
    replicate: int | None = None,
    trust_checkpoint: bool = False,
    arch: str | None = None,
    params: list[str] | None = None,
    with_tasks: bool = False,
) -> tuple[dict[str, Any], Any]:
    """(info dict, tasks DataFrame or None) for a zoo name, repo, architecture or file."""
    rec = registry.find_record(name)
    if rec is not None and rec.kind == registry.ARCHITECTURE:
        if with_tasks:
            raise UsageError(
                f"--tasks: '{rec.name}' is an architecture, which has no tasks table",
                fix=f"build one with task names, e.g. 'grelu models build {rec.name} --tasks "
                "tasks.txt -o m.ckpt', then run 'grelu models info m.ckpt --tasks'",
            )
        return _describe_architecture(rec), None
    if rec is not None and (rec.kind == registry.EXTERNAL or not rec.files):
        if with_tasks:
            raise UsageError(
                f"--tasks: '{rec.name}' cannot be loaded by grelu-cli, so its tasks table "
                "cannot be read",
                fix=f"see {rec.url}" if rec.url else "drop --tasks",
            )
        return _record_info(rec), None
    if rec is not None and rec.repo_id is not None:
        wf = rec.weights_file(species, replicate)
        if hub.cached_file(rec.repo_id, wf.filename, rec.revision) is None:
            cmd = download_command(rec, wf.species, wf.replicate)
            if with_tasks:  # the tasks table lives in the checkpoint, not in the registry
                raise MissingResourceError(
                    f"the tasks table of '{rec.name}' is read from its weights "
                    f"({rec.repo_id}/{wf.filename}), which are not in the local cache",
                    fix=f"run '{cmd}' first, or drop --tasks for the registry facts",
                )
            facts = _record_info(rec)
            facts["weights"] = f"not cached (run '{cmd}')"
            return facts, None
    from grelu_cli.zoo.build import parse_param
    from grelu_cli.zoo.loader import load_model

    model_params = dict(parse_param(p) for p in (params or [])) if params else None
    lm = load_model(
        name,
        species=species,
        replicate=replicate,
        trust_checkpoint=trust_checkpoint,
        arch=arch,
        model_params=model_params,
        download=False,
    )
    info: dict[str, Any] = {"name": lm.name, "source": lm.source, "path": str(lm.path)}
    if lm.species is not None:
        info["species"] = lm.species
        info["replicate"] = lm.replicate
    geom = lm.geometry
    info.update(
        {
            "sha256": lm.sha256,
            "model_type": lm.model_type,
            "parameters": sum(p.numel() for p in lm.model.parameters()),
            "tasks": lm.n_tasks,
            "task_columns": [str(c) for c in lm.tasks.columns],
            "activation": lm.output_activation.name,
            "train_task": lm.train_params.get("task"),
            "train_loss": lm.train_params.get("loss"),
            "seq_len": lm.seq_len,
            "out_len": geom.out_len(lm.seq_len) if lm.seq_len else None,
            "geometry": asdict(geom),
            "model_params": lm.model_params,
        }
    )
    if rec is not None:
        info["license"] = rec.license
        info["citation"] = rec.citation
    return info, (lm.tasks if with_tasks else None)


def _record_info(rec: registry.ModelRecord) -> dict[str, Any]:
    info: dict[str, Any] = {
        "name": rec.name,
        "kind": rec.kind,
        "summary": rec.summary,
        "repo_id": rec.repo_id,
        "revision": rec.revision,
        "files": [asdict(f) for f in rec.files],
        "architecture": rec.architecture,
        "arch_kwargs": dict(rec.arch_kwargs),
        "input_bp": rec.input_bp,
        "bin_size": rec.bin_size,
        "crop_bins": rec.crop_bins,
        "output_bins": rec.output_bins,
        "tracks": rec.n_tasks,
        "task_type": rec.task_type,
        "genome": rec.genome,
        "license": rec.license,
        "citation": rec.citation,
        "url": rec.url,
        "notes": rec.notes,
    }
    return {k: v for k, v in info.items() if v not in (None, [], {})}


def _describe_architecture(rec: registry.ModelRecord) -> dict[str, Any]:
    """Constructor parameters and defaults of an architecture (imports the model library)."""
    from grelu_cli.zoo.factory import constructor_params, model_class

    cls = model_class(rec.name)
    params = {
        n: ("<required>" if p.default is p.empty else p.default)
        for n, p in constructor_params(cls).items()
    }
    info = _record_info(rec)
    info["parameters"] = params
    info["build"] = f"grelu models build {rec.name} --n-tasks N --param KEY=VALUE -o model.ckpt"
    return info
