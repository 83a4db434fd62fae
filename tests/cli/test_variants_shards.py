"""``grelu variants --shard`` + ``grelu merge`` and ``--resume`` as real processes: the merged
shards and a run resumed after SIGKILL equal one plain run exactly (rows, values, row groups,
counts); shards of different runs are refused."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pyarrow.parquet as pq

from tests.cli.predict_helpers import GRELU, metadata
from tests.cli.test_variants_process import _big_vcf
from tests.variants.helpers import REF, copy_genome

CKPT = REF / "checkpoints" / "conv_poisson.ckpt"
BATCH = "8"  # 8 windows per batch -> groups of 4 records


def _mixed_vcf(path: Path, n: int = 150) -> Path:
    """SNVs, multi-allelic sites, duplicates, a deletion and REF mismatches."""
    text = (REF / "inputs" / "genome.fa").read_text().split(">")[1]
    chr1 = "".join(text.splitlines()[1:]).upper()
    lines = ["##fileformat=VCFv4.2", "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    for i in range(n):
        pos = 100 + (i * 37) % 5800
        ref = chr1[pos - 1]
        others = [b for b in "ACGT" if b != ref]
        if i % 11 == 0:
            alt = ",".join(others)
        elif i % 13 == 0:
            ref, alt = chr1[pos - 1 : pos + 2], ref
        elif i % 17 == 0:
            ref, alt = others[0], others[1]  # mismatch: skipped
        else:
            alt = others[i % 3]
        lines.append(f"chr1\t{pos}\tv{i}\t{ref}\t{alt}\t.\t.\t.")
        if i % 7 == 0:
            lines.append(lines[-1])  # a duplicate record
    path.write_text("\n".join(lines) + "\n")
    return path


def _cmd(vcf: Path, genome: Path, out: Path, *extra: str) -> list[str]:
    return [
        str(GRELU),
        "variants",
        "-m",
        str(CKPT),
        "--vcf",
        str(vcf),
        "-g",
        str(genome),
        "-o",
        str(out),
        "--batch-size",
        BATCH,
        "--device",
        "cpu",
        "--threads",
        "1",
        "--scores",
        "diff,log2fc",
        *extra,
    ]


def _run(cmd: list[str]) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return result


def _same_output(a: Path, b: Path) -> None:
    ta, tb = pq.read_table(a), pq.read_table(b)
    assert ta.num_rows > 0 and ta.equals(tb)  # bit-identical values, same rows and order
    ra, rb = pq.ParquetFile(a).metadata, pq.ParquetFile(b).metadata
    groups = [[m.row_group(i).num_rows for i in range(m.num_row_groups)] for m in (ra, rb)]
    assert groups[0] == groups[1]
    assert metadata(a)["counts"] == metadata(b)["counts"]


def test_shards_and_merge_equal_a_plain_run(tmp_path: Path) -> None:
    vcf = _mixed_vcf(tmp_path / "mixed.vcf")
    genome = copy_genome(tmp_path)
    plain = tmp_path / "plain.parquet"
    _run(_cmd(vcf, genome, plain))
    shards = [tmp_path / f"shard-{i}.parquet" for i in range(3)]
    cmds = [_cmd(vcf, genome, s, "--shard", f"{i}/3") for i, s in enumerate(shards)]
    procs = [subprocess.Popen(c, stderr=subprocess.PIPE, text=True) for c in cmds]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    ranges = [metadata(s)["window_range"] for s in shards]
    total = metadata(plain)["counts"]["records"]
    assert ranges[0][0] == 0 and ranges[-1][1] == total
    assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))
    assert all(lo % 4 == 0 for lo, _ in ranges)  # shard boundaries on group boundaries
    sizes = [hi - lo for lo, hi in ranges[:-1]]
    assert max(sizes) - min(sizes) <= 4
    merged = tmp_path / "merged.parquet"
    _run([str(GRELU), "merge", *map(str, reversed(shards)), "-o", str(merged)])
    _same_output(plain, merged)
    meta = metadata(merged)
    assert meta["shard"] is None and meta["command"] == "variants"

    # a shard of another run (other scores) is refused, naming both files
    other = tmp_path / "other-1.parquet"
    cmd = _cmd(vcf, genome, other, "--shard", "1/3")
    cmd[cmd.index("diff,log2fc")] = "diff"
    _run(cmd)
    merge = [str(GRELU), "merge", str(shards[0]), str(other), str(shards[2])]
    bad = subprocess.run(
        [*merge, "-o", str(tmp_path / "x.parquet")], capture_output=True, text=True
    )
    assert bad.returncode == 3, bad.stderr
    assert "come from different runs" in bad.stderr
    assert not (tmp_path / "x.parquet").exists()


def test_resume_after_kill_equals_a_plain_run(tmp_path: Path) -> None:
    vcf = _big_vcf(tmp_path / "big.vcf", n=6000)
    genome = copy_genome(tmp_path)
    plain = tmp_path / "plain.parquet"
    _run(_cmd(vcf, genome, plain))
    out = tmp_path / "out" / "v.parquet"
    out.parent.mkdir()
    cmd = _cmd(vcf, genome, out, "--resume", "--chunk-records", "200")
    manifest = out.parent / ".v.parquet.partial.manifest.json"
    kill_after_two_chunks(cmd, manifest)
    assert not out.exists()
    done = len(json.loads(manifest.read_text())["done"])
    result = _run(cmd)
    assert f"resuming {out}: {done} of" in result.stderr or "resuming" in result.stderr
    _same_output(plain, out)
    assert sorted(os.listdir(out.parent)) == ["v.parquet"]  # parts and manifest removed
    again = _run(cmd)
    assert "already complete" in again.stderr


def kill_after_two_chunks(cmd: list[str], manifest: Path) -> None:
    """Run ``cmd`` (a ``--resume`` run) and SIGKILL it once its manifest lists two committed
    chunks."""
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, "finished before the kill: use a larger input"
            assert time.monotonic() < deadline, "no chunk was committed"
            try:
                if len(json.loads(manifest.read_text())["done"]) >= 2:
                    break
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.01)
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
