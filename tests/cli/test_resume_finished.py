"""``--resume`` on a finished output keeps it only when it is this run's (issue 20, item 3).

Real processes. A finished output made from ``big.bed`` (or ``big.vcf``), then the same
command on another input with ``--resume``: exit 2 naming what differs, the output untouched
(it said "already complete (--resume); nothing to do", exit 0, keeping the stale result).
The same command again stays exit 0 and leaves the output as it was.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.cli.predict_helpers import GRELU, Env
from tests.cli.test_variants_shards import _cmd, _mixed_vcf
from tests.variants.helpers import copy_genome


def _grelu(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(GRELU), *map(str, args)], capture_output=True, text=True, timeout=300
    )


def _state(path: Path) -> list[tuple[str, int, int]]:
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    return [(str(p), os.stat(p).st_mtime_ns, p.stat().st_size) for p in files]


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> Env:
    e = Env(tmp_path_factory.mktemp("finished"))
    e.big = e.bed(
        "big.bed", [("chrA", 100 + 50 * i, 300 + 50 * i, f"b{i}", 0, "+") for i in range(12)]
    )
    e.small = e.bed("regions.bed", [("chrA", 100, 300, "r0", 0, "+")])
    return e


@pytest.mark.parametrize("name", ["out.parquet", "out.zarr"])
def test_predict_resume_on_a_finished_output_of_another_run(env, tmp_path, name):
    out = tmp_path / name
    base = ["predict", "-m", env.model, "-g", env.genome, "--device", "cpu", "-o", out]
    done = _grelu(*base, "--bed", env.big)
    assert done.returncode == 0, done.stderr
    before = _state(out)
    other = _grelu(*base, "--bed", env.small, "--resume")
    assert other.returncode == 2, other.stderr
    assert "finished output of another run" in other.stderr
    assert "the input's contents (--bed, --fasta, --region, --chrom)" in other.stderr
    option = _grelu(*base, "--bed", env.big, "--resume", "--rc")
    assert option.returncode == 2 and "--rc (False vs now True)" in option.stderr, option.stderr
    same = _grelu(*base, "--bed", env.big, "--resume")
    assert same.returncode == 0 and "already complete (--resume)" in same.stderr, same.stderr
    assert _state(out) == before


def test_predict_resume_on_finished_bigwig_tracks_says_they_were_not_compared(env, tmp_path):
    # bigWig files hold no provenance, so no fingerprint to compare: the tracks are kept (the
    # contract's --resume on a finished output) and the summary says they were not compared.
    out = tmp_path / "tracks"
    base = ["predict", "-m", env.model, "-g", env.genome, "--device", "cpu", "-o", f"{out}/"]
    done = _grelu(*base, "--bed", env.big, "--format", "bigwig")
    assert done.returncode == 0, done.stderr
    before = _state(out)
    again = _grelu(*base, "--bed", env.small, "--format", "bigwig", "--resume")
    assert again.returncode == 0, again.stderr
    assert "already complete (--resume)" in again.stderr
    assert "not compared with this run: bigWig tracks record no run fingerprint" in again.stderr
    assert _state(out) == before


@pytest.mark.parametrize("name", ["v.parquet", "v.zarr"])
def test_variants_resume_on_a_finished_output_of_another_run(tmp_path, name):
    genome = copy_genome(tmp_path)
    big, small = _mixed_vcf(tmp_path / "big.vcf", n=40), _mixed_vcf(tmp_path / "s.vcf", n=5)
    out = tmp_path / name
    done = subprocess.run(_cmd(big, genome, out), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    before = _state(out)
    for vcf, extra, want in (
        (small, [], "the variant file's contents (--vcf)"),
        (big, ["--shifts", "1"], "--shifts (0 vs now 1)"),
    ):
        cmd = _cmd(vcf, genome, out, "--resume", *extra)
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert result.returncode == 2 and want in result.stderr, result.stderr
    same = subprocess.run(
        _cmd(big, genome, out, "--resume"), capture_output=True, text=True, timeout=300
    )
    assert same.returncode == 0 and "already complete" in same.stderr, same.stderr
    assert _state(out) == before
