"""Output transforms: activations, Borzoi's untransform formula, bin aggregation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from grelu_cli.errors import UsageError
from grelu_cli.predict.transform import activate, activation_name, untransform_for

BORZOI_LIKE = pd.DataFrame(
    {
        "name": ["rna+", "rna-", "cage", "dnase"],
        "scale": [0.3, 0.3, 1.0, 0.5],
        "clip_soft": [384.0, 384.0, 320.0, 32.0],
        "sum_stat": ["sum_sqrt", "sum_sqrt", "sum", "mean"],
        "strand_pair": [1, 0, 2, 3],
    }
)


def squash(x: np.ndarray, scale: float, clip_soft: float, sqrt: bool) -> np.ndarray:
    """Borzoi's target transform (the forward direction), in float64."""
    v = x**0.75 if sqrt else x.copy()
    v = np.where(v > clip_soft, clip_soft + np.sqrt(np.maximum(v - clip_soft, 0)), v)
    return scale * v


def test_untransform_inverts_borzoi_squashing() -> None:
    rng = np.random.default_rng(0)
    coverage = rng.uniform(0, 5000, size=(3, 4, 50))
    coverage[0, :, :5] = [0.0, 1.0, 383.0, 385.0, 1e4]
    squashed = np.stack(
        [
            squash(coverage[:, t], r.scale, r.clip_soft, "sqrt" in r.sum_stat)
            for t, r in enumerate(BORZOI_LIKE.itertuples())
        ],
        axis=1,
    )
    un = untransform_for(BORZOI_LIKE, [0, 1, 2, 3])
    got = un(torch.tensor(squashed, dtype=torch.float32)).double().numpy()
    np.testing.assert_allclose(got, coverage, rtol=2e-5, atol=1e-3)


def test_untransform_matches_the_published_formula_on_a_subset() -> None:
    y = torch.tensor([[[0.1, 200.0, 400.0]], [[10.0, 300.0, 600.0]]]).transpose(0, 1)  # (1,2,3)
    un = untransform_for(BORZOI_LIKE, [1, 3])  # rna- (sqrt) and dnase (no power)
    out = un(y)
    for k, row in enumerate(BORZOI_LIKE.iloc[[1, 3]].itertuples()):
        v = y[0, k].double() / row.scale
        v = torch.where(v > row.clip_soft, row.clip_soft + (v - row.clip_soft) ** 2, v)
        v = v ** (4 / 3) if "sqrt" in row.sum_stat else v
        torch.testing.assert_close(out[0, k].double(), v, rtol=1e-5, atol=0)


def test_untransform_without_sum_stat_undoes_the_power_everywhere() -> None:
    un = untransform_for(BORZOI_LIKE.drop(columns="sum_stat"), [2])
    y = torch.tensor([[[8.0]]])
    torch.testing.assert_close(un(y), torch.tensor([[[16.0]]]))


def test_untransform_needs_borzoi_columns() -> None:
    with pytest.raises(UsageError, match=r"needs the columns scale and clip_soft.*it has name"):
        untransform_for(pd.DataFrame({"name": ["a"]}), [0])
    with pytest.raises(UsageError, match="no tasks table"):
        untransform_for(None, [0])


def test_activations() -> None:
    y = torch.randn(2, 3, 5)
    torch.testing.assert_close(activate(y, "exp"), torch.exp(y))
    torch.testing.assert_close(activate(y, "sigmoid"), torch.sigmoid(y))
    torch.testing.assert_close(activate(y, "softmax").sum(1), torch.ones(2, 5))
    assert activate(y, "none") is y

    class Act:
        name = "sigmoid"

    assert activation_name(Act()) == "sigmoid" and activation_name(None) == "none"
    with pytest.raises(UsageError, match="'relu' is not one of"):
        activation_name("relu")
