"""Average per-replicate results field by field: the scores of a replicate ensemble.

``grelu variants --replicate 0,1,2,3`` scores every group of alleles once per replicate and
averages the *statistics* (Calico's fold ensembles), not the predictions: for a nonlinear
score such as ``log2fc`` the mean of the replicates' scores differs from the score of their
mean prediction. :func:`mean_of_results` does it for any result dataclass, so that a job
kind's new result type (gene-level statistics...) is averaged without code of its own:

* a floating-point numpy array field: the elementwise mean over replicates (float64
  accumulation, cast back to the field's dtype);
* a dict (or a nested dataclass) of such arrays: the same, per entry;
* a field named in ``summed`` (``windows``: the predictions made, so a run's count is
  distinct inputs x replicates): the sum;
* anything else (the alleles, integer or string arrays, names): taken from the first
  replicate's result (the replicates share them).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")

#: The fields counted once per replicate (added up, not averaged).
SUMMED = ("windows",)


def mean_of_results(results: Sequence[T], summed: Sequence[str] = SUMMED) -> T:
    """The field-by-field mean of ``results`` (dataclass instances of one type, one per
    replicate, in replicate order); see the module docstring for each kind of field."""
    if not results:
        raise ValueError("no results to average")
    first = results[0]
    if len(results) == 1:
        return first
    if not dataclasses.is_dataclass(first) or isinstance(first, type):
        raise TypeError(f"cannot average {type(first).__name__}: not a dataclass instance")
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(first):
        if not f.init:
            continue
        values = [getattr(r, f.name) for r in results]
        if f.name in summed and all(isinstance(v, (int, np.integer)) for v in values):
            changes[f.name] = sum(int(v) for v in values)
        else:
            changes[f.name] = _mean(values)
    return dataclasses.replace(first, **changes)


def _mean(values: list[Any]) -> Any:
    """The mean of one field's per-replicate values (or the first where it is no number)."""
    first = values[0]
    if isinstance(first, np.ndarray) and np.issubdtype(first.dtype, np.floating):
        total = np.zeros(first.shape, dtype=np.float64)
        for v in values:
            total += v
        return (total / len(values)).astype(first.dtype, copy=False)
    if isinstance(first, dict):
        return {k: _mean([v[k] for v in values]) for k in first}
    if dataclasses.is_dataclass(first) and not isinstance(first, type):
        return mean_of_results(values, summed=())
    return first
