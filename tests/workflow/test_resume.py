"""``--resume``: SIGKILL a real run after a committed chunk, resume, compare with a plain run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import numpy as np
import pytest

from grelu_cli.io.fs.atomic import manifest_path, partial_files, parts_path
from grelu_cli.io.fs.lock import lock_path
from grelu_cli.run.resume import PartStore
from tests.workflow.wf_helpers import (
    bigwig_values,
    grelu_cmd,
    invoke,
    metadata,
    ok,
    read_table,
    subprocess_env,
)

DENSE = {"chrB": 2500, "chrA": 4000}


@pytest.fixture(scope="module")
def dense_bed(ws, tmp_path_factory):
    """Many windows (one region every ~10 bp), so a batch-size-1 run takes a while."""
    path = tmp_path_factory.mktemp("dense") / "dense.bed"
    lines = []
    for chrom, n in DENSE.items():
        for i, s in enumerate(range(0, n - 50, 3)):
            lines.append(f"{chrom}\t{s}\t{s + 40}\td{len(lines)}\t0\t{'+-'[i % 2]}\n")
    path.write_text("".join(lines))
    return path


def _wait_for_chunk(proc: subprocess.Popen, manifest, timeout_s: float = 120.0) -> dict:
    """Poll the manifest until it lists a committed chunk (or the process ends)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the run ended (exit {proc.returncode}) before it was killed")
        try:
            data = json.loads(manifest.read_text())
        except (FileNotFoundError, ValueError):
            data = {}
        if data.get("done"):
            return data
        time.sleep(0.01)
    raise AssertionError("no chunk was committed in time")


def test_sigkill_then_resume_equals_uninterrupted(ws, dense_bed, tmp_path):
    out = tmp_path / "preds.parquet"
    base = [
        "-m",
        ws.model,
        "--bed",
        dense_bed,
        "-g",
        ws.genome,
        "--device",
        "cpu",
        "-q",
        "--batch-size",
        "2",
    ]
    # Batches of 2 make the killed run slow enough to catch after its first chunks; the
    # resumed and the plain run must use the same batch size (chunks hold whole batches).
    slow = [
        *grelu_cmd(),
        "predict",
        *map(str, base),
        "-o",
        str(out),
        "--resume",
        "--chunk-windows",
        "16",
        "--num-workers",
        "0",
    ]
    proc = subprocess.Popen(slow, env=subprocess_env(), stderr=subprocess.PIPE)
    try:
        seen = _wait_for_chunk(proc, manifest_path(out))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    total = seen["chunks"]
    # Killed mid-run: nothing at the final path, the committed chunks kept.
    assert not out.exists()
    left = json.loads(manifest_path(out).read_text())
    assert 0 < len(left["done"]) < total
    assert all((parts_path(out) / f"part-{int(k):06d}.parquet").is_file() for k in left["done"])

    # Other options than the interrupted run's: refused, partial kept.
    bad = invoke("predict", *base, "-o", out, "--resume", "--chunk-windows", "16", "--rc")
    assert bad.exit_code == 2 and "different model, input or prediction options" in bad.output
    assert manifest_path(out).is_file()

    # Resume: finishes from the committed chunks.
    resumed = invoke(
        "predict", *base, "-o", out, "--resume", "--chunk-windows", "16", "--log-format", "json"
    )
    assert resumed.exit_code == 0, resumed.output
    assert f"{len(left['done'])} of {total} chunks already done" in resumed.stderr
    progress = [e for e in map(json.loads, resumed.stderr.splitlines()) if e["event"] == "progress"]
    assert progress[-1]["done"] == progress[-1]["total"]
    assert not manifest_path(out).exists() and not parts_path(out).exists()
    assert partial_files(out) == [] and not lock_path(out).exists()

    plain = tmp_path / "plain.parquet"
    ok("predict", *base, "-o", plain)
    assert read_table(out).equals(read_table(plain))
    got, want = metadata(out), metadata(plain)
    for key in set(got) | set(want):
        if key not in ("created", "options"):
            assert got.get(key) == want.get(key), key

    # A finished output with --resume: exit 0, untouched.
    before = (out.read_bytes(), os.stat(out).st_mtime_ns)
    again = invoke("predict", *base, "-o", out, "--resume", "--log-format", "json")
    assert again.exit_code == 0
    events = [json.loads(line) for line in again.stderr.splitlines()]
    assert events[-1]["event"] == "summary" and events[-1]["already_complete"] is True
    assert (out.read_bytes(), os.stat(out).st_mtime_ns) == before


def _interrupt_after(monkeypatch, n: int) -> None:
    """Make the run die (like a kill) right after its n-th chunk is committed."""
    real = PartStore.commit
    calls = {"n": 0}

    def commit(self, k, rows):
        real(self, k, rows)
        calls["n"] += 1
        if calls["n"] == n:
            raise KeyboardInterrupt

    monkeypatch.setattr(PartStore, "commit", commit)


@pytest.mark.parametrize("layout", ["wide"])
def test_interrupt_and_resume_wide(ws, unsharded, tmp_path, monkeypatch, layout):
    out = tmp_path / "w.parquet"
    args = ["predict", *ws.base(), "--layout", layout, "-o", out, "--resume", "--chunk-windows", 7]
    _interrupt_after(monkeypatch, 3)
    assert invoke(*args).exit_code == 130
    assert not out.exists() and len(json.loads(manifest_path(out).read_text())["done"]) == 3
    monkeypatch.undo()
    ok(*args)
    assert read_table(out).equals(read_table(unsharded[layout]))


def test_interrupt_and_resume_bigwig_shard_and_bigwig(ws, unsharded, tmp_path, monkeypatch):
    """bigWig output resumes too; so does a bigWig shard, whose merge equals unsharded."""
    out = tmp_path / "bw"
    args = ["predict", *ws.base(), "-o", f"{out}/", "--resume", "--chunk-windows", 5]
    _interrupt_after(monkeypatch, 2)
    assert invoke(*args).exit_code == 130
    assert not (out / "t_a.bw").exists()
    assert manifest_path(out / "t_a.bw").is_file()
    monkeypatch.undo()
    ok(*args)
    for task in ("t_a", "t_b", "t_c"):
        want = bigwig_values(unsharded["bigwig"] / f"{task}.bw")
        got = bigwig_values(out / f"{task}.bw")
        for chrom in want:
            np.testing.assert_array_equal(got[chrom], want[chrom])

    shards = [tmp_path / f"s{i}.parquet" for i in range(2)]
    for i, s in enumerate(shards):
        shard_args = [
            "predict",
            *ws.base(),
            "-f",
            "bigwig",
            "--shard",
            f"{i}/2",
            "-o",
            s,
            "--resume",
            "--chunk-windows",
            4,
        ]
        if i == 1:
            _interrupt_after(monkeypatch, 1)
            assert invoke(*shard_args).exit_code == 130
            monkeypatch.undo()
        ok(*shard_args)
    ok("merge", *shards, "-o", f"{tmp_path}/merged/")
    for task in ("t_a", "t_b", "t_c"):
        assert (tmp_path / "merged" / f"{task}.bw").read_bytes() == (
            unsharded["bigwig"] / f"{task}.bw"
        ).read_bytes()


def test_unlisted_part_is_predicted_again_and_fresh_run_discards_partial(ws, unsharded, tmp_path):
    out = tmp_path / "p.parquet"
    args = ["predict", *ws.base(), "-o", out, "--resume", "--chunk-windows", 9]
    ok(*args)
    # Fake a kill between writing a part and listing it: a stray part with garbage rows.
    store_dir = parts_path(out)
    store_dir.mkdir()
    (store_dir / "part-000000.parquet").write_text("garbage, not listed in any manifest")
    out.unlink()
    ok(*args)
    assert read_table(out).equals(read_table(unsharded["long"]))
    # A run without --resume starts again, discarding a stale partial run.
    out2 = tmp_path / "q.parquet"
    manifest_path(out2).write_text('{"version": 1, "fingerprint": "other", "done": {"0": 5}}')
    ok("predict", *ws.base(), "-o", out2)
    assert not manifest_path(out2).exists()
    assert read_table(out2).equals(read_table(unsharded["long"]))
    ok("predict", *ws.base(), "-o", tmp_path / "r.parquet", "--resume")
    bad = invoke("predict", *ws.base(), "-o", tmp_path / "s.parquet", "--resume", "--overwrite")
    assert bad.exit_code == 2


def test_existing_bigwig_refused_before_predicting(ws, tmp_path, monkeypatch):
    out = tmp_path / "bw"
    out.mkdir()
    (out / "t_b.bw").write_text("someone else's file")
    from grelu_cli.predict.loop import Predictor

    def forward(self, x, member=0):
        raise AssertionError("predicted although the output exists")

    monkeypatch.setattr(Predictor, "_forward", forward)
    for extra in ([], ["--resume"], ["--devices", "cpu,cpu"]):
        base = ws.base(device=not extra or extra[0] != "--devices")
        result = invoke("predict", *base, "-o", f"{out}/", *extra)
        assert result.exit_code == 2 and "already exists" in result.stderr, result.output
        assert (out / "t_b.bw").read_text() == "someone else's file"


@pytest.mark.parametrize("damage", ["truncate", "short"])
def test_corrupt_committed_part_is_predicted_again(ws, unsharded, tmp_path, monkeypatch, damage):
    """A listed part that does not read back whole (cut footer, or fewer rows than the
    manifest says) is predicted again on resume, alone, with a warning (issue 11, item 12)."""
    import pyarrow.parquet as pq

    out = tmp_path / "c.parquet"
    args = ["predict", *ws.base(), "-o", out, "--resume", "--chunk-windows", 7]
    _interrupt_after(monkeypatch, 3)
    assert invoke(*args).exit_code == 130
    monkeypatch.undo()
    part = parts_path(out) / "part-000001.parquet"
    if damage == "truncate":
        part.write_bytes(part.read_bytes()[:-20])
    else:
        table = pq.read_table(part)
        pq.write_table(table.slice(0, table.num_rows - 1), part)
    commits = []
    real = PartStore.commit
    monkeypatch.setattr(PartStore, "commit", lambda s, k, r: (commits.append(k), real(s, k, r)))
    total = json.loads(manifest_path(out).read_text())["chunks"]
    result = invoke(*[a for a in args if a != "-q"])
    assert result.exit_code == 0, result.output
    assert "1 committed chunk(s) could not be read back (chunks 1)" in result.stderr
    assert commits == [1, *range(3, total)]  # chunk 1 again, then the rest; not 0 or 2
    assert read_table(out).equals(read_table(unsharded["long"]))
