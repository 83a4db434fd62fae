"""Same numbers as gReLU 1.1.0's ``predict_variant_effects`` (goldens made by
tests/data/reference/make_variant_reference.py): diff/ratio/log2fc vs compare_func
subtract/divide/log2FC, plain, ``rc=True``, ``max_seq_shift`` and both, within 1e-5 relative;
profile scores and logit_diff against hand numpy on gReLU's own ref/alt predictions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.variants.helpers import REF, copy_genome, golden, golden_vcf, run_library

CONV = REF / "checkpoints" / "conv_poisson.ckpt"
BINARY = REF / "checkpoints" / "transformer_binary.ckpt"
COMPARE = {"diff": "subtract", "ratio": "divide", "log2fc": "log2FC"}


def _close(ours: np.ndarray, theirs: np.ndarray, scale: float) -> None:
    # 1e-5 relative to the values compared (differences near 0 are judged on the scale of
    # the predictions they come from).
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5 * scale)


@pytest.mark.parametrize(("rc", "shift"), [(False, 0), (True, 0), (False, 2), (True, 2)])
def test_conv_poisson_matches_grelu(tmp_path: Path, rc: bool, shift: int) -> None:
    meta, g = golden()
    vcf = golden_vcf(tmp_path, meta["variants"])
    scores = ("diff", "ratio", "log2fc", "sad", "logsed", "d1", "d2", "sax")
    alleles, ref, alt, out, counts = run_library(
        CONV, vcf, copy_genome(tmp_path), scores, rc=rc, shifts=shift
    )
    assert [(a.allele.record.pos, a.allele.alt) for a in alleles] == [
        (v["pos"], v["alt"]) for v in meta["variants"]
    ]
    assert all(a.ref_status == "match" for a in alleles)
    case = f"conv_poisson/rc{int(rc)}_shift{shift}"
    both = g[f"{case}/none"][..., 0]  # (n, 2, T): gReLU's ref / alt, Aggregate(mean)
    scale = float(np.abs(both).max())
    _close(ref, both[:, 0], scale)
    _close(alt, both[:, 1], scale)
    for ours, theirs in COMPARE.items():
        _close(out[ours], g[f"{case}/{theirs}"][..., 0], scale)
    # Profile scores over gReLU's own augmentation-averaged profiles (n, 2, T, 32).
    prof = g[f"{case}/profiles"].astype(np.float64)
    r, a = prof[:, 0], prof[:, 1]
    d = a - r
    hand = {
        "sad": d.sum(-1),
        "logsed": np.log2(a.sum(-1) + 1) - np.log2(r.sum(-1) + 1),
        "d1": np.abs(d).sum(-1),
        "d2": np.sqrt((d**2).sum(-1)),
        "sax": np.take_along_axis(d, np.abs(d).argmax(-1)[..., None], -1)[..., 0],
    }
    for name, want in hand.items():
        _close(out[name], want, float(np.abs(prof).max()) * 32)
    # One reference window per site: the multi-allelic site shares its ref.
    n_sites = len({(v["chrom"], v["pos"]) for v in meta["variants"]})
    assert counts.windows == n_sites + len(meta["variants"])


@pytest.mark.parametrize("rc", [False, True])
def test_binary_model_matches_grelu(tmp_path: Path, rc: bool) -> None:
    meta, g = golden()
    vcf = golden_vcf(tmp_path, meta["variants"])
    scores = ("diff", "ratio", "log2fc", "logit_diff")
    _, ref, alt, out, _ = run_library(BINARY, vcf, copy_genome(tmp_path), scores, rc=rc)
    case = f"transformer_binary/rc{int(rc)}_shift0"
    both = g[f"{case}/none"][..., 0]
    _close(ref, both[:, 0], 1.0)
    _close(alt, both[:, 1], 1.0)
    for ours, theirs in COMPARE.items():
        _close(out[ours], g[f"{case}/{theirs}"][..., 0], 1.0)
    # logit_diff amplifies float32 rounding of p ~ 0.5 by 1/(p(1-p)) >= 4, so it is checked
    # on our ref/alt values (which equal gReLU's, above), not on gReLU's.
    p_r, p_a = ref.astype(np.float64), alt.astype(np.float64)
    logit = np.log(p_a / (1 - p_a)) - np.log(p_r / (1 - p_r))
    _close(out["logit_diff"], logit, float(np.abs(logit).max()))
