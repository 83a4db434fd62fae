"""``--devices``: one worker process per device over interleaved chunks, one ordered output.

No GPU here: ``--devices cpu,cpu`` runs the same process and ordering logic with two CPU
worker processes. GPU-only checks are marked ``gpu``.
"""

from __future__ import annotations

import numpy as np
import pytest

from grelu_cli.run.devices import WorkerError, parse_devices, run_workers
from tests.workflow.wf_helpers import bigwig_values, invoke, metadata, ok, read_table


def test_parse_devices():
    assert parse_devices("cuda:0,cuda:1") == ["cuda:0", "cuda:1"]
    assert parse_devices("cpu, cpu") == ["cpu", "cpu"]
    assert parse_devices("cuda") == ["cuda:0"]
    for bad in ("gpu0", "cuda:0,cuda:0", ",", "cuda:x"):
        with pytest.raises(ValueError):
            parse_devices(bad)


def test_two_cpu_workers_equal_one_run(ws, unsharded, tmp_path):
    """Parquet (interleaved chunks of 5 windows over 2 processes) and bigWig, in one go."""
    out = tmp_path / "p.parquet"
    ok("predict", *ws.base(device=False), "--devices", "cpu,cpu", "--chunk-windows", "5", "-o", out)
    assert read_table(out).equals(read_table(unsharded["long"]))
    assert metadata(out)["counts"] == metadata(unsharded["long"])["counts"]
    # a shard of a multi-device run, written as a bigWig shard, merged with a plain shard
    s0, s1 = tmp_path / "s0.parquet", tmp_path / "s1.parquet"
    ok("predict", *ws.base(), "-f", "bigwig", "--shard", "0/2", "-o", s0)
    ok(
        "predict",
        *ws.base(device=False),
        "-f",
        "bigwig",
        "--shard",
        "1/2",
        "-o",
        s1,
        "--devices",
        "cpu,cpu",
        "--chunk-windows",
        "3",
    )
    ok("merge", s0, s1, "-o", f"{tmp_path}/bw/")
    for task in ("t_a", "t_b", "t_c"):
        want = bigwig_values(unsharded["bigwig"] / f"{task}.bw")
        got = bigwig_values(tmp_path / "bw" / f"{task}.bw")
        for chrom in want:
            np.testing.assert_array_equal(got[chrom], want[chrom])


def test_device_and_devices_conflict(ws, tmp_path):
    result = invoke("predict", *ws.base(), "--devices", "cpu,cpu", "-o", tmp_path / "x.parquet")
    assert result.exit_code == 2 and "--devices" in result.stderr  # ws.base() has --device cpu


def _fail(job, queue):
    if job == 1:
        queue.put(("error", 3, "bad input in worker 1"))
    else:
        queue.put(("done", job))


def _messages(job, queue):
    for k in range(3):
        queue.put(("done", job, k))


def test_run_workers_relays_messages_and_errors():
    got = []
    run_workers(_messages, [0, 1], got.append)
    assert sorted(got) == [("done", j, k) for j in (0, 1) for k in range(3)]
    with pytest.raises(WorkerError) as err:
        run_workers(_fail, [0, 1], lambda msg: None)
    assert err.value.exit_code == 3 and "worker 1" in str(err.value)


@pytest.mark.gpu
def test_all_gpus_equal_one_gpu(ws, tmp_path):
    one, many = tmp_path / "one.parquet", tmp_path / "many.parquet"
    base = ws.base(device=False)
    ok("predict", *base, "--device", "cuda:0", "-o", one)
    ok("predict", *base, "--devices", "all", "--chunk-windows", "7", "-o", many)
    assert read_table(many).equals(read_table(one))


def test_chunks_are_interleaved_over_workers(tmp_path):
    from grelu_cli import api
    from grelu_cli.run.resume import PartStore
    from grelu_cli.run.workers import worker_jobs

    job = api.job(model="m.ckpt", output=str(tmp_path / "o.parquet"), devices="cuda:0,cuda:1")
    store = PartStore(tmp_path / "o.parquet", {}, 5, resume=False)
    chunks = [(k, 10 * k, 10 * k + 10) for k in range(5)]
    jobs = worker_jobs(job, ["cuda:0", "cuda:1"], chunks, store, "long", "fp")
    assert [j.job.run.device for j in jobs] == ["cuda:0", "cuda:1"]
    assert [[c[0] for c in j.chunks] for j in jobs] == [[0, 2, 4], [1, 3]]
    assert all(j.job.run.devices is None for j in jobs)
    assert jobs[1].parts == {1: str(store.part(1)), 3: str(store.part(3))}


def test_chunk_blocks_split_at_chunk_boundaries():
    from grelu_cli.core.block import Block
    from grelu_cli.core.window import Window
    from grelu_cli.run.chunked import chunk_blocks

    def block(lo, hi):
        n = hi - lo
        wins = [Window(i, i, "r", "c", 0, 1, "+", 0, 1) for i in range(lo, hi)]
        vals = np.arange(lo, hi, dtype=np.float32).reshape(n, 1, 1)
        return Block(
            wins, vals, np.zeros(1, np.int64), np.zeros((n, 1), np.int64), np.ones((n, 1), np.int64)
        )

    chunks = [(0, 0, 4), (1, 4, 8), (2, 8, 10)]
    got = list(chunk_blocks([block(0, 3), block(3, 9), block(9, 10)], chunks))
    assert [k for k, *_ in got] == [0, 1, 2]
    for _k, lo, hi, blocks in got:
        idx = [w.index for b in blocks for w in b.windows]
        assert idx == list(range(lo, hi))
        assert np.concatenate([b.values[:, 0, 0] for b in blocks]).tolist() == idx
    with pytest.raises(RuntimeError):
        list(chunk_blocks([block(0, 3)], chunks))


@pytest.mark.parametrize("fmt", ["p.parquet", "bw/"])
def test_missing_devices_refused_before_anything_is_created(ws, tmp_path, fmt):
    """cuda:99 exists nowhere (with or without CUDA): exit 4 (a missing resource, issue 20),
    and no partial manifest or parts directory is left behind (issue 11, item 9)."""
    out = tmp_path / "out"
    out.mkdir()
    result = invoke(
        "predict", *ws.base(device=False), "--devices", "cuda:0,cuda:99", "-o", f"{out}/{fmt}"
    )
    assert result.exit_code == 4 and "--devices cuda:0,cuda:99" in result.stderr, result.output
    assert list(out.iterdir()) == []
