"""The shipped demo VCF: variants that break planted motifs drop the motif's task sharply,
controls far from every motif move nothing; ``make_variants.py`` is deterministic."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq

from tests.cli.predict_helpers import invoke

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo"


def test_make_variants_is_deterministic(tmp_path: Path) -> None:
    out = tmp_path / "variants.vcf"
    subprocess.run([sys.executable, str(DEMO / "make_variants.py"), str(out)], check=True)
    assert out.read_bytes() == (DEMO / "variants.vcf").read_bytes()


def test_demo_variants_break_motifs_and_nothing_else(tmp_path: Path) -> None:
    out = tmp_path / "v.parquet"
    result = invoke(
        "variants",
        "-m",
        DEMO / "model.ckpt",
        "--vcf",
        DEMO / "variants.vcf",
        "-g",
        DEMO / "genome.fa",
        "--scores",
        "diff,sad",
        "-o",
        out,
        "--device",
        "cpu",
    )
    assert result.exit_code == 0, result.output
    df = pq.read_table(out).to_pandas()
    breaks = df[df.id.str.startswith("break")]
    own = breaks[[i.endswith(t) for i, t in zip(breaks.id, breaks.task, strict=True)]]
    assert len(own) == 12 and (own.sad < -150).all(), own[["id", "sad"]]
    assert (own["diff"] < -0.15).all()
    controls = df[df.id.str.startswith("bg")]
    assert len(controls) == 2 * 10  # 9 records + one with two ALTs; <DEL> skipped
    assert (controls.sad.abs() < 0.5).all(), controls[["id", "sad"]]
    assert set(df.variant_type) == {"snv", "mnv", "ins", "del"}
