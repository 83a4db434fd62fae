"""``grelu variants --genes`` with ``--shard`` + ``grelu merge`` and ``--resume`` as real
processes: merged shards (into parquet, zarr and h5) and a run resumed after SIGKILL equal one
plain run; the dense outputs' percentiles are over the whole run."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pyarrow.parquet as pq
import pytest
import xarray as xr

from tests.cli.predict_helpers import GRELU, metadata
from tests.cli.test_variants_shards import kill_after_two_chunks
from tests.genes import variant_case as vc


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return vc.write_case(tmp_path_factory.mktemp("genes_shards"))


def _vcf(case: dict[str, Path], n: int) -> Path:
    """n SNVs on chr1 between 600 and 1,700 (most near a gene, some with none nearby) and a
    few far away (no gene)."""
    chr1 = vc.chrom_seqs(case["genome"])["chr1"]
    lines = ["##fileformat=VCFv4.2", "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    for i in range(n):
        pos = 600 + (i * 7) % 1100 if i % 9 else 4000 + i % 1500
        r = chr1[pos - 1]
        alt = [b for b in "ACGT" if b != r][i % 3]
        lines.append(f"chr1\t{pos}\tv{i}\t{r}\t{alt}\t.\t.\t.")
    path = case["dir"] / f"many-{n}.vcf"
    path.write_text("\n".join(lines) + "\n")
    return path


def _cmd(case: dict[str, Path], vcf: Path, out: Path, *extra: str) -> list[str]:
    return [
        str(GRELU), "variants", "-m", str(case["model"]), "--vcf", str(vcf),
        "-g", str(case["genome"]), "--genes", str(case["gtf"]), "-o", str(out),
        "--gene-stats", "SED,logSED,JS,REF", "--batch-size", "8", "--device", "cpu",
        "--threads", "1", *extra,
    ]  # fmt: skip


def _run(cmd: list[str]) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    return result


def _same_h5(a: Path, b: Path) -> None:
    with h5py.File(a, "r") as fa, h5py.File(b, "r") as fb:
        assert sorted(fa) == sorted(fb)
        for name in fa:
            np.testing.assert_array_equal(fa[name][...], fb[name][...], err_msg=name)


def test_shards_merge_into_parquet_zarr_and_h5(case: dict[str, Path]) -> None:
    vcf = _vcf(case, 120)
    d = case["dir"]
    plain = d / "plain.parquet"
    _run(_cmd(case, vcf, plain))
    shards = [d / f"shard-{i}.parquet" for i in range(3)]
    procs = [
        subprocess.Popen(_cmd(case, vcf, s, "--shard", f"{i}/3"), stderr=subprocess.PIPE, text=True)
        for i, s in enumerate(shards)
    ]
    for p in procs:
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
    merged = d / "merged.parquet"
    _run([str(GRELU), "merge", *map(str, reversed(shards)), "-o", str(merged)])
    assert pq.read_table(merged).equals(pq.read_table(plain))
    assert metadata(merged)["counts"] == metadata(plain)["counts"]
    assert metadata(plain)["counts"]["no_gene"] > 0

    # into Calico's h5 and a zarr store: the same as plain runs writing them
    for suffix in ("h5", "zarr"):
        direct = d / f"plain.{suffix}"
        _run(_cmd(case, vcf, direct))
        out = d / f"merged.{suffix}"
        _run([str(GRELU), "merge", *map(str, shards), "-o", str(out)])
        if suffix == "h5":
            _same_h5(direct, out)
        else:
            a, b = xr.open_zarr(direct), xr.open_zarr(out)
            for name in ("SED", "JS", "SED_pct", "JS_pct", "percentiles", "gene_id"):
                np.testing.assert_array_equal(a[name].values, b[name].values, err_msg=name)


def test_resume_after_kill_equals_a_plain_run(case: dict[str, Path]) -> None:
    vcf = _vcf(case, 1500)
    d = case["dir"]
    plain = d / "plain-big.h5"
    _run(_cmd(case, vcf, plain))
    out = d / "resumed" / "sed.h5"
    out.parent.mkdir()
    cmd = _cmd(case, vcf, out, "--resume", "--chunk-records", "40")
    kill_after_two_chunks(cmd, out.parent / ".sed.h5.partial.manifest.json")
    assert not out.exists()
    result = _run(cmd)
    assert "resuming" in result.stderr
    _same_h5(plain, out)
    with h5py.File(out, "r") as f:
        record = json.loads(f.attrs["grelu"])
    assert record["counts"]["no_gene"] > 0
    assert "already complete" in _run(cmd).stderr  # a finished h5 is kept...
    other = cmd.copy()
    other[other.index("SED,logSED,JS,REF")] = "SED"
    bad = subprocess.run(other, capture_output=True, text=True, timeout=600)
    assert bad.returncode == 2 and "--gene-stats" in bad.stderr  # ...when it is this run's
