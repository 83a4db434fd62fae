"""Load several replicates of a zoo model as one averaging ensemble
(:class:`~grelu_cli.model.ensemble.ReplicateEnsemble`).

Each replicate is resolved, downloaded (or served from the cache) and loaded exactly as
:func:`grelu_cli.zoo.loader.load_model` loads one; the replicates must agree on what they are
(architecture and constructor arguments, tasks table, output activation), else the run stops
with an InputDataError naming the replicate that differs. Only one checkpoint's raw contents
are in memory at a time: the ensemble holds R models' weights.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from grelu_cli.errors import InputDataError, UsageError
from grelu_cli.zoo.loader import LoadedModel, ReplicateFile, load_model


def ensemble_sha256(sha256s: Sequence[str]) -> str:
    """The ensemble's weights checksum: sha256 of the members' sha256 hex digests, one per
    line, in replicate order (the provenance's ``weights_sha256`` and the fingerprint's)."""
    return hashlib.sha256("".join(f"{s}\n" for s in sha256s).encode()).hexdigest()


def load_replicates(spec: str, replicates: Sequence[int], **kwargs: Any) -> LoadedModel:
    """Zoo model ``spec``'s ``replicates`` (two or more) as one ensemble.

    Args:
        spec: a zoo name (``borzoi``) or its repo id.
        replicates: replicate numbers, in the order the ensemble holds them.
        kwargs: :func:`~grelu_cli.zoo.loader.load_model`'s other keywords (``species``,
            ``trust_checkpoint``, ``logits``, ``download``, ``progress``).
    """
    from grelu_cli.model.ensemble import ReplicateEnsemble

    loaded = [load_model(spec, replicate=int(r), **kwargs) for r in replicates]
    first = loaded[0]
    if first.record is None:
        raise UsageError(
            f"--replicate {','.join(map(str, replicates))}: '{spec}' is not a zoo model",
            fix="name a zoo model ('grelu models list') or pass one checkpoint",
        )
    for other in loaded[1:]:
        _check_same(first, other)
    members = tuple(
        ReplicateFile(int(r), lm.path, lm.source, lm.sha256)
        for r, lm in zip(replicates, loaded, strict=True)
    )
    model = ReplicateEnsemble([lm.model for lm in loaded], [m.replicate for m in members])
    model.eval()
    return replace(
        first,
        model=model,
        source=", ".join(m.source for m in members),
        sha256=ensemble_sha256([m.sha256 for m in members]),
        replicate=tuple(m.replicate for m in members),
        members=members,
    )


def _check_same(first: LoadedModel, other: LoadedModel) -> None:
    """``other`` is the same model as ``first`` but for its weights."""
    what = None
    if (first.model_type, first.model_params) != (other.model_type, other.model_params):
        what = "architecture (model_type and model_params)"
    elif first.task_names != other.task_names:
        what = "tasks"
    elif first.activation.name != other.activation.name:
        what = "output activation"
    if what is not None:
        raise InputDataError(
            f"replicate {other.replicate} of {first.name} ({other.path.name}) has another "
            f"{what} than replicate {first.replicate} ({first.path.name}): it cannot be averaged",
            fix="average replicates of one model, or run them separately",
        )
