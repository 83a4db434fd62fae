"""Scores against hand-written loops of CLI.md's formulas (independent of the numpy code)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from grelu_cli.errors import UsageError
from grelu_cli.variants.scores import SCORES, compute_scores, parse_scores


def _hand(ref: list[float], alt: list[float], name: str, c: float, agg: str) -> float:
    red = {
        "mean": lambda v: sum(v) / len(v),
        "sum": sum,
        "max": max,
        "min": min,
    }[agg]
    r, a = red(ref), red(alt)
    d = [x - y for x, y in zip(alt, ref, strict=True)]
    if name == "diff":
        return a - r
    if name == "ratio":
        return a / r
    if name == "log2fc":
        return math.log2((a + c) / (r + c))
    if name == "logit_diff":
        return math.log(a / (1 - a)) - math.log(r / (1 - r))
    if name == "sad":
        return sum(d)
    if name == "logsed":
        return math.log2(sum(alt) + 1) - math.log2(sum(ref) + 1)
    if name == "d1":
        return sum(abs(x) for x in d)
    if name == "d2":
        return math.sqrt(sum(x * x for x in d))
    if name == "sax":
        best = 0
        for j, x in enumerate(d):
            if abs(x) > abs(d[best]):
                best = j
        return d[best]
    raise AssertionError(name)


@pytest.mark.parametrize("agg", ["mean", "sum", "max", "min"])
def test_scores_equal_the_formulas(agg: str) -> None:
    rng = np.random.default_rng(3)
    ref = rng.uniform(0.05, 0.95, size=(4, 3, 7)).astype(np.float32)
    alt = rng.uniform(0.05, 0.95, size=(4, 3, 7)).astype(np.float32)
    if agg in ("sum",):  # keep logit_diff defined: sums exceed 1
        names = [s for s in SCORES if s != "logit_diff"]
    else:
        names = list(SCORES)
    ref_v, _alt_v, out = compute_scores(ref, alt, names, aggregate=agg, pseudocount=0.5)
    assert ref_v.dtype == np.float32 and ref_v.shape == (4, 3)
    for name in names:
        assert out[name].dtype == np.float32 and out[name].shape == (4, 3)
        for i in range(4):
            for t in range(3):
                want = _hand(
                    ref[i, t].astype(float).tolist(),
                    alt[i, t].astype(float).tolist(),
                    name,
                    0.5,
                    agg,
                )
                assert out[name][i, t] == pytest.approx(want, rel=1e-5, abs=1e-6), (name, i, t)


def test_sax_keeps_the_sign_and_single_bin_profiles() -> None:
    ref = np.array([[[1.0, 5.0, 2.0]]], dtype=np.float32)
    alt = np.array([[[1.5, 1.0, 2.0]]], dtype=np.float32)
    _, _, out = compute_scores(ref, alt, ["sax", "d1", "sad"])
    assert out["sax"][0, 0] == pytest.approx(-4.0)
    assert out["d1"][0, 0] == pytest.approx(4.5)
    assert out["sad"][0, 0] == pytest.approx(-3.5)
    one_r, one_a = ref[..., 1:2], alt[..., 1:2]
    _, _, out = compute_scores(one_r, one_a, ["diff", "sad", "sax"])
    assert out["diff"][0, 0] == out["sad"][0, 0] == out["sax"][0, 0] == pytest.approx(-4.0)


def test_zero_reference_gives_inf_not_an_error() -> None:
    ref = np.zeros((1, 1, 2), dtype=np.float32)
    alt = np.ones((1, 1, 2), dtype=np.float32)
    _, _, out = compute_scores(ref, alt, ["ratio", "log2fc"])
    assert np.isinf(out["ratio"][0, 0]) and np.isinf(out["log2fc"][0, 0])
    _, _, out = compute_scores(ref, alt, ["log2fc"], pseudocount=1.0)
    assert out["log2fc"][0, 0] == pytest.approx(1.0)


def test_parse_scores() -> None:
    assert parse_scores(["diff", "LOG2FC", "diff", " sad"]) == ("diff", "log2fc", "sad")
    with pytest.raises(UsageError, match="'bogus' is not a score"):
        parse_scores(["bogus"])
    with pytest.raises(UsageError, match="logit_diff needs a binary model"):
        parse_scores(["logit_diff"], activation="exp")
    assert parse_scores(["logit_diff"], activation="sigmoid") == ("logit_diff",)
