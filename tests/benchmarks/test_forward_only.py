"""benchmarks/forward_only.py runs against the library as it is (it imports the loader and the
predictor directly, so a changed signature would break the benchmark silently otherwise)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_forward_only_reports_a_rate(tmp_path: Path, data_dir: Path, precision: str) -> None:
    ckpt = tmp_path / "conv.ckpt"
    build = [sys.executable, "-m", "grelu_cli", "models", "build", "ConvModel"]
    build += ["--n-tasks", "2", "--seq-len", "64", "--seed", "0", "-o", str(ckpt)]
    subprocess.run(build, check=True, capture_output=True)
    genome = tmp_path / "tiny.fa"
    genome.write_bytes((data_dir / "input" / "tiny.fa").read_bytes())
    bed = tmp_path / "r.bed"
    bed.write_text("".join(f"chr1\t{s}\t{s + 64}\n" for s in range(0, 640, 64)))
    cmd = [sys.executable, str(ROOT / "benchmarks" / "forward_only.py"), "--ckpt", str(ckpt)]
    cmd += ["--bed", str(bed), "--genome", str(genome), "--regions", "20"]
    cmd += ["--precision", precision, "--threads", "1"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    report = json.loads(out.strip().splitlines()[-1])
    assert report["regions"] >= 20 and report["regions_per_s"] > 0
    assert report["batch_size"] >= 1 and report["peak_rss_mb"] > 0
