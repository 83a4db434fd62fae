"""mean_of_results: the field-by-field mean of per-replicate result dataclasses, for the
allele results of today and any result type a job kind adds (gene statistics...)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

from grelu_cli.variants.replicate_mean import mean_of_results
from grelu_cli.variants.scorer import AlleleResults


@dataclass
class _Inner:
    stat: np.ndarray


@dataclass
class _GeneLike:
    """What a gene-level result might hold: float statistics, integer bins, names, a count."""

    gene_ids: list[str]
    gene_bins: np.ndarray  # int: shared by the replicates
    stats: dict[str, np.ndarray]
    value: np.ndarray
    inner: _Inner
    windows: int = 0
    label: str = "x"
    cache: list[int] = field(default_factory=list)


def _gene(k: int) -> _GeneLike:
    rng = np.random.default_rng(k)
    return _GeneLike(
        gene_ids=["g1", "g2"],
        gene_bins=np.array([3, 5]),
        stats={"SED": rng.random((2, 3), dtype=np.float32), "logSED": rng.random((2, 3))},
        value=rng.random((2, 3), dtype=np.float32),
        inner=_Inner(rng.random(4, dtype=np.float32)),
        windows=7,
        label=f"rep{k}",
    )


def test_float_arrays_are_averaged_and_the_rest_comes_from_the_first():
    reps = [_gene(k) for k in range(3)]
    got = mean_of_results(reps)
    for name in ("SED", "logSED"):
        want = np.mean([r.stats[name].astype(np.float64) for r in reps], axis=0)
        np.testing.assert_allclose(got.stats[name], want, rtol=1e-7)
        assert got.stats[name].dtype == reps[0].stats[name].dtype
    np.testing.assert_allclose(got.value, np.mean([r.value for r in reps], axis=0), rtol=1e-6)
    np.testing.assert_allclose(got.inner.stat, np.mean([r.inner.stat for r in reps], 0), 1e-6)
    assert got.gene_bins is reps[0].gene_bins and got.gene_ids is reps[0].gene_ids
    assert got.label == "rep0"
    assert got.windows == 21  # predictions made: distinct inputs x replicates
    assert reps[0].value is not got.value  # the inputs are left as they were
    assert mean_of_results(reps[:1]) is reps[0]


def test_allele_results():
    a = AlleleResults([], np.ones((2, 3), np.float32), np.zeros((2, 3), np.float32),
                      {"log2fc": np.full((2, 3), 1.0, np.float32)}, 4)  # fmt: skip
    b = AlleleResults([], np.full((2, 3), 3, np.float32), np.ones((2, 3), np.float32),
                      {"log2fc": np.full((2, 3), 2.0, np.float32)}, 4)  # fmt: skip
    m = mean_of_results([a, b])
    assert (m.ref_value == 2).all() and (m.alt_value == 0.5).all()
    assert (m.scores["log2fc"] == 1.5).all() and m.windows == 8


def test_only_dataclasses():
    with pytest.raises(TypeError):
        mean_of_results([(1.0,), (2.0,)])
    with pytest.raises(ValueError):
        mean_of_results([])
