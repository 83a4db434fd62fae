"""ISM targets and scores: model output -> one target per task -> delta per mutant -> the
``delta (position, base, task)`` layout and the per-position importance track.

* Target: the model output over the kept bins reduced by ``--aggregate`` (predict's own
  :func:`grelu_cli.predict.transform.reduce_bins` with the run's :class:`BinLayout`), one value
  per task. (Gene targets, ``--genes``, are the gene issue's bins; the engine supplies them.)
* Score (CLI.md): ``diff``: ``target(mutant) - target(reference)``; ``log2fc``:
  ``log2((m + c) / (r + c))`` with ``c = --pseudocount``. Arithmetic in float64, results float32;
  a zero denominator gives inf/NaN as numpy does.
* Layout: ``delta (P, 4, T)`` with NaN at the reference base (an N position has all four).
* Importance (bigWig): per position and task, minus the mean of its mutations' deltas
  (three at an A/C/G/T position, four at an N).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from grelu_cli.errors import UsageError
from grelu_cli.ism.mutants import Mutants

if TYPE_CHECKING:
    import torch

    from grelu_cli.genome.bins import BinLayout

ISM_SCORES = ("diff", "log2fc")


def targets(y: torch.Tensor, layout: BinLayout) -> torch.Tensor:
    """Model output ``y: (N, T, L_out)`` (after the output activation) -> targets ``(N, T)``.

    The layout's kept bins reduced by its ``aggregate``; without an aggregate the layout must
    keep exactly one bin (a pooled head, or ``--bins 1``), else UsageError.
    """
    from grelu_cli.predict.transform import reduce_bins

    if layout.aggregate is None and layout.n_keep != 1:
        raise UsageError(
            f"ISM needs one target per task, but {layout.n_keep} bins are kept and no "
            "aggregate is set",
            fix="use --aggregate mean|sum|max|min or --bins 1",
        )
    return reduce_bins(y, layout)[..., 0]


def score(
    mutant: np.ndarray, reference: np.ndarray, how: str = "diff", pseudocount: float = 0.0
) -> np.ndarray:
    """``mutant: (M, T)`` and ``reference: (T,)`` targets -> ``(M, T)`` float32 scores."""
    if how not in ISM_SCORES:
        raise UsageError(f"--ism-score {how!r} is not one of {', '.join(ISM_SCORES)}")
    m = np.asarray(mutant, dtype=np.float64)
    r = np.asarray(reference, dtype=np.float64)[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        if how == "diff":
            out = m - r
        else:
            c = float(pseudocount)
            out = np.log2((m + c) / (r + c))
    return out.astype(np.float32)


def delta_layout(scores: np.ndarray, mutants: Mutants) -> np.ndarray:
    """``scores: (M, T)`` in mutant order -> ``delta: (P, 4, T)`` float32, NaN where a base is
    not a mutant (the reference base)."""
    scores = np.asarray(scores)
    if scores.shape[0] != len(mutants):
        raise ValueError(f"{scores.shape[0]} score rows for {len(mutants)} mutants")
    out = np.full((mutants.positions.size, 4, scores.shape[1]), np.nan, dtype=np.float32)
    out[mutants.index, mutants.base] = scores
    return out


def importance(delta: np.ndarray) -> np.ndarray:
    """``delta: (P, 4, T)`` -> ``(P, T)`` float32: minus the mean of each position's mutation
    deltas (NaN entries, the reference base, are left out)."""
    delta = np.asarray(delta, dtype=np.float64)
    n = np.sum(~np.isnan(delta), axis=1)
    total = np.nansum(delta, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (-(total / n)).astype(np.float32)
