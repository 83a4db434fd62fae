"""Bad coordinates through ``grelu predict``: a window with no base on its chromosome
(exit 3 under ``--edge pad``, listed by ``--dry-run``, dropped and counted under ``--edge
drop``) and integers past int64 in ``--region`` (exit 2) and BED (exit 3), each one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from grelu_cli.cli import app

CKPT = (
    Path(__file__).resolve().parents[1] / "data" / "reference" / "checkpoints" / "conv_poisson.ckpt"
)
FAR = "chr1:140,001-1,000,000,000"  # overlaps chr1 (150 kb); its window is centred at 500 Mb


@pytest.fixture(scope="module")
def genome(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("g") / "g.fa"
    seq = "".join(np.random.default_rng(0).choice(list("ACGT"), size=150_000))
    path.write_text(">chr1\n" + "\n".join(seq[i : i + 60] for i in range(0, len(seq), 60)) + "\n")
    return path


def _predict(genome: Path, out: Path, *args: str):
    argv = ["predict", "-m", str(CKPT), "-g", str(genome), "-o", str(out), *args]
    return CliRunner().invoke(app, argv)


def _error(result, code: int) -> str:
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert result.exit_code == code, result.output
    assert lines[-1].startswith("error: ") and sum(ln.startswith("error:") for ln in lines) == 1
    return lines[-1]


def test_window_off_its_chromosome_is_bad_input(genome, tmp_path):
    out = tmp_path / "o.parquet"
    line = _error(_predict(genome, out, "--region", FAR), 3)
    assert f"--region '{FAR}': the model window 500,069,968-500,070,032" in line
    assert "lies wholly off chr1 (0-150,000), so it would be all N" in line
    assert not out.exists()


def test_dry_run_lists_it(genome, tmp_path):
    result = _predict(genome, tmp_path / "o.parquet", "--region", FAR, "--dry-run")
    assert result.exit_code == 3
    assert "lies wholly off chr1" in result.stdout + result.stderr
    assert "ok: input is valid" not in result.stdout + result.stderr


def test_edge_drop_skips_and_counts_it(genome, tmp_path):
    out = tmp_path / "o.parquet"
    result = _predict(
        genome, out, "--region", "chr1:1,001-2,000", "--region", FAR, "--edge", "drop"
    )
    assert result.exit_code == 0, result.output
    table = pq.read_table(out)
    assert set(table.column("start").to_pylist()) == {1000}
    meta = json.loads(table.schema.metadata[b"grelu"])
    counts = json.dumps(meta)
    assert '"dropped_windows": 1' in counts and '"dropped_regions": 1' in counts


def test_edge_shift_moves_it_inside(genome, tmp_path):
    out = tmp_path / "o.parquet"
    result = _predict(genome, out, "--region", FAR, "--edge", "shift")
    assert result.exit_code == 0, result.output
    table = pq.read_table(out)
    assert set(table.column("window_end").to_pylist()) == {150_000}


@pytest.mark.parametrize(
    "region", ["chr1:1-99999999999999999999", "chr1:99999999999999999999-99999999999999999999"]
)
def test_region_past_int64_is_a_usage_error(genome, tmp_path, region):
    line = _error(_predict(genome, tmp_path / "o.parquet", "--region", region), 2)
    assert line.startswith(f"error: --region '{region}': ") and "larger than any chromosome" in line


def test_bed_coordinate_past_int64_is_bad_input(genome, tmp_path):
    bed = tmp_path / "r.bed"
    bed.write_text("chr1\t10\t99999999999999999999\n")
    line = _error(_predict(genome, tmp_path / "o.parquet", "--bed", str(bed)), 3)
    assert f"{bed} line 1: end 99999999999999999999 is larger than any chromosome" in line
