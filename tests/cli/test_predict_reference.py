"""``grelu predict`` through the CLI reproduces gReLU 1.1.0's ``predict_on_dataset`` on the
reference checkpoint ``conv_poisson.ckpt`` and ``regions.bed`` (tests/data/reference/README.md):
rc and shift augmentation, and length aggregation, compared at gReLU's own windows.

gReLU keeps minus-strand rows in the orientation of the sequence fed; we write genome
orientation, so binned minus rows are compared flipped.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from tests.cli.predict_helpers import REF, invoke, listing, metadata, ok, read_parquet

PRED = REF / "predictions"
REF_TASKS = ["dnase_k562", "cage_hepg2_plus", "cage_hepg2_minus"]

# reference case -> grelu predict options
CASES = {
    "default": [],
    "rc_mean": ["--rc"],
    "shift2_mean": ["--shifts", "2"],
    "rc_shift1_mean": ["--rc", "--shifts", "1"],
    "length_mean": ["--aggregate", "mean"],
    "rc_length_mean": ["--rc", "--aggregate", "mean"],
    "rc_shift1_length_sum": ["--rc", "--shifts", "1", "--aggregate", "sum"],
}


@pytest.fixture(scope="module")
def ref():
    facts = json.loads((PRED / "predictions.json").read_text())
    arrays = torch.load(PRED / "predictions.pt", weights_only=True)
    return facts, arrays


@pytest.fixture(scope="module")
def genome(tmp_path_factory):
    d = tmp_path_factory.mktemp("ref_genome")
    shutil.copy(REF / "inputs" / "genome.fa", d / "genome.fa")  # indexed there, not in the repo
    return d / "genome.fa"


@pytest.mark.parametrize("case", list(CASES))
def test_matches_grelu_predict_on_dataset(ref, genome, tmp_path, case):
    facts, arrays = ref
    out = tmp_path / "p.parquet"
    ok(
        "predict",
        "-m",
        REF / "checkpoints" / "conv_poisson.ckpt",
        "--bed",
        REF / "inputs" / "regions.bed",
        "-g",
        genome,
        "-o",
        out,
        "--batch-size",
        "5",
        "-q",
        *CASES[case],
    )
    df, _ = read_parquet(out)
    assert list(df["task"].unique()) == REF_TASKS
    want = arrays[case].double().numpy()  # (9, 3, 32) or (9, 3, 1)
    for i, (region, window) in enumerate(zip(facts["regions"], facts["windows"], strict=True)):
        rows = df[df["name"] == region["name"]]
        assert (rows["window_start"].iloc[0], rows["window_end"].iloc[0]) == (
            window["start"],
            window["end"],
        )
        got = np.stack(
            [rows[rows["task"] == t].sort_values("bin")["value"].to_numpy() for t in REF_TASKS]
        )
        if region["strand"] == "-" and want.shape[-1] > 1:
            got = got[:, ::-1]  # gReLU leaves '-' rows in the fed orientation
        np.testing.assert_allclose(got, want[i], rtol=1e-5, atol=1e-7, err_msg=region["name"])
    opts = metadata(out)["options"]
    assert opts["rc"] == ("--rc" in CASES[case])


def test_old_checkpoint_needs_seq_len_then_matches(ref, genome, tmp_path):
    """conv_poisson_old.ckpt has no data_params: no input length and no task names."""
    facts, arrays = ref
    old = REF / "checkpoints" / "conv_poisson_old.ckpt"
    bed = REF / "inputs" / "regions.bed"
    r = invoke("predict", "-m", old, "--bed", bed, "-g", genome, "-o", tmp_path / "p.parquet")
    assert r.exit_code == 2 and "--seq-len" in r.stderr.strip().splitlines()[-1]
    assert listing(tmp_path) == {}
    out = tmp_path / "old.parquet"
    ok("predict", "-m", old, "--bed", bed, "-g", genome, "-o", out, "--seq-len", "64", "-q")
    df, _ = read_parquet(out)
    names = list(df["task"].unique())
    assert len(names) == 3
    for i, region in enumerate(facts["regions"]):
        rows = df[df["name"] == region["name"]]
        got = np.stack([rows[rows["task"] == t].sort_values("bin")["value"] for t in names])
        if region["strand"] == "-":
            got = got[:, ::-1]
        want = arrays["default"][i].double().numpy()
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7, err_msg=region["name"])
