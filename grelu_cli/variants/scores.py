"""Variant scores from ref and alt predictions (numpy), exactly as CLI.md defines them.

Inputs are the augmentation-averaged profiles ``ref, alt: (N, T, B)`` float32 over the kept
bins. On the values reduced over the bins by ``--aggregate`` (``ref_value``, ``alt_value``,
each ``(N, T)``):

    diff = alt - ref        ratio = alt / ref        log2fc = log2((alt + c) / (ref + c))
    logit_diff = logit(alt) - logit(ref)               (binary models: values in (0, 1))

Over the kept bins of the profiles (before reduction):

    sad = sum(alt - ref)    logsed = log2(sum(alt) + 1) - log2(sum(ref) + 1)
    d1 = sum |alt - ref|    d2 = sqrt(sum (alt - ref)^2)
    sax = (alt - ref) at the bin where |alt - ref| is largest (the first such bin)

Arithmetic runs in float64 and results are float32. ``ratio``/``log2fc`` of a zero reference
give inf or NaN as numpy does (no silent clipping); ``c = --pseudocount``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from grelu_cli.errors import UsageError

VALUE_SCORES = ("diff", "ratio", "log2fc", "logit_diff")
PROFILE_SCORES = ("sad", "logsed", "d1", "d2", "sax")
SCORES = VALUE_SCORES + PROFILE_SCORES
AGGREGATES = ("mean", "sum", "max", "min")
DEFAULT_SCORES = ("diff",)


def parse_scores(names: Sequence[str], activation: str | None = None) -> tuple[str, ...]:
    """Validate ``--scores`` (order kept, repeats dropped).

    ``logit_diff`` needs probabilities: a model whose activation is ``sigmoid``.
    """
    out: list[str] = []
    for name in names:
        name = name.strip().lower()
        if name not in SCORES:
            raise UsageError(
                f"--scores {name!r} is not a score", fix=f"use some of {', '.join(SCORES)}"
            )
        if name not in out:
            out.append(name)
    if not out:
        raise UsageError("--scores is empty", fix=f"use some of {', '.join(SCORES)}")
    if "logit_diff" in out and activation is not None and activation != "sigmoid":
        raise UsageError(
            f"--scores logit_diff needs a binary model (sigmoid outputs); this model's "
            f"activation is {activation!r}",
            fix="use diff, ratio or log2fc",
        )
    return tuple(out)


def reduce_bins(profile: np.ndarray, aggregate: str = "mean") -> np.ndarray:
    """(N, T, B) -> (N, T) float32 by ``aggregate`` over the bins."""
    if aggregate not in AGGREGATES:
        raise UsageError(
            f"--aggregate {aggregate!r} is not one of {', '.join(AGGREGATES)}",
            fix="use mean, sum, max or min",
        )
    wide = profile.astype(np.float64)
    if aggregate == "mean":
        out = wide.mean(axis=-1)
    elif aggregate == "sum":
        out = wide.sum(axis=-1)
    elif aggregate == "max":
        out = wide.max(axis=-1)
    else:
        out = wide.min(axis=-1)
    return np.asarray(out).astype(np.float32)


def compute_scores(
    ref: np.ndarray,
    alt: np.ndarray,
    names: Sequence[str],
    *,
    aggregate: str = "mean",
    pseudocount: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """``ref, alt: (N, T, B)`` -> ``(ref_value, alt_value, {score: (N, T)})``, float32."""
    ref_value = reduce_bins(ref, aggregate)
    alt_value = reduce_bins(alt, aggregate)
    r = ref_value.astype(np.float64)
    a = alt_value.astype(np.float64)
    c = float(pseudocount)
    out: dict[str, np.ndarray] = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        for name in names:
            if name == "diff":
                v = a - r
            elif name == "ratio":
                v = a / r
            elif name == "log2fc":
                v = np.log2((a + c) / (r + c))
            elif name == "logit_diff":
                v = (np.log(a) - np.log1p(-a)) - (np.log(r) - np.log1p(-r))
            else:
                v = _profile_score(name, ref.astype(np.float64), alt.astype(np.float64))
            out[name] = np.asarray(v, dtype=np.float32)
    return ref_value, alt_value, out


def _profile_score(name: str, ref: np.ndarray, alt: np.ndarray) -> np.ndarray:
    d = alt - ref
    if name == "sad":
        return d.sum(axis=-1)
    if name == "logsed":
        return np.log2(alt.sum(axis=-1) + 1) - np.log2(ref.sum(axis=-1) + 1)
    if name == "d1":
        return np.abs(d).sum(axis=-1)
    if name == "d2":
        return np.sqrt((d * d).sum(axis=-1))
    if name == "sax":
        at = np.abs(d).argmax(axis=-1)
        return np.take_along_axis(d, at[..., None], axis=-1)[..., 0]
    raise ValueError(f"unknown score {name!r}")
