"""A variant's reference value is what ``grelu predict`` gives for the same window, also with
``--rc`` on a model with strand-paired tracks (where gReLU itself does not swap), ``--bins`` and
``--tasks``: variants reuse the predict path, they do not copy it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from tests.cli.predict_helpers import invoke
from tests.variants.helpers import REF, copy_genome

STRANDED = REF / "checkpoints" / "borzoi_poisson_multinomial_stranded.ckpt"  # 128 bp, 60 bins


@pytest.mark.parametrize(
    "extra", [[], ["--rc"], ["--rc", "--bins", "8", "--tasks", "cage_hepg2_minus,dnase_k562"]]
)
def test_ref_value_equals_predict_on_the_window(tmp_path: Path, extra: list[str]) -> None:
    genome = copy_genome(tmp_path)
    text = (REF / "inputs" / "genome.fa").read_text().split(">")[1]
    chr1 = "".join(text.splitlines()[1:]).upper()
    pos = 3001  # window [3001 - 64, 3001 + 64) = [2937, 3065)
    ref = chr1[pos - 1]
    alt = next(b for b in "ACGT" if b != ref)
    vcf = tmp_path / "one.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        f"chr1\t{pos}\tv\t{ref}\t{alt}\t.\t.\t.\n"
    )
    out_v = tmp_path / "v.parquet"
    res = invoke(
        "variants",
        "-m",
        STRANDED,
        "--vcf",
        vcf,
        "-g",
        genome,
        "-o",
        out_v,
        "--device",
        "cpu",
        "--scores",
        "diff",
        *extra,
    )
    assert res.exit_code == 0, res.output
    v = pq.read_table(out_v).to_pandas()
    assert (v.window_start.iloc[0], v.window_end.iloc[0]) == (2937, 3065)
    out_p = tmp_path / "p.parquet"
    res = invoke(
        "predict",
        "-m",
        STRANDED,
        "--region",
        "chr1:2,938-3,065",
        "-g",
        genome,
        "-o",
        out_p,
        "--device",
        "cpu",
        "--aggregate",
        "mean",
        *extra,
    )
    assert res.exit_code == 0, res.output
    p = pq.read_table(out_p).to_pandas()
    assert list(p.task) == list(v.task)
    np.testing.assert_allclose(v.ref_value.to_numpy(), p.value.to_numpy(), rtol=1e-5)
