"""One run engine for every job kind (issue 21 item 2, issue 20's resume and shard items).

- resuming ``grelu variants`` with another ``--chunk-records`` names ``--chunk-records``
  (it said ``--chunk-windows``), and a refused resume names the option that differs
  (``--shifts``, ``--layout``...) instead of two opaque fingerprints;
- the "could not be read back" warning of a variants resume reaches the summary;
- ``--shard i/N`` with ``--batch-size auto`` lowers the automatic batch so every shard of a
  small run gets work, and records it; an explicit ``--batch-size`` is kept.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from grelu_cli import api
from grelu_cli.errors import UsageError
from grelu_cli.io.fs.atomic import parts_path
from grelu_cli.run.resume import PartStore
from tests.cli.predict_helpers import Env, metadata
from tests.cli.test_variants_shards import CKPT, _mixed_vcf
from tests.variants.helpers import copy_genome


def _interrupt_after(monkeypatch, n: int) -> None:
    """The run dies (as from Ctrl-C) right after its n-th chunk is committed."""
    real = PartStore.commit
    calls = {"n": 0}

    def commit(self, k, rows):
        real(self, k, rows)
        calls["n"] += 1
        if calls["n"] == n:
            raise KeyboardInterrupt

    monkeypatch.setattr(PartStore, "commit", commit)


@pytest.fixture(scope="module")
def variant_inputs(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("engine-variants")
    return {
        "model": CKPT,
        "vcf": _mixed_vcf(root / "v.vcf", n=60),
        "genome": copy_genome(root),
        "batch_size": "8",
        "device": "cpu",
        "threads": 1,
    }


def test_variants_resume_names_its_options_and_keeps_warnings(
    variant_inputs, tmp_path, monkeypatch
):
    out = tmp_path / "v.parquet"
    opts = {**variant_inputs, "output": out, "resume": True}
    _interrupt_after(monkeypatch, 2)
    with pytest.raises(KeyboardInterrupt):
        api.variants(**opts, chunk_records=16)
    monkeypatch.undo()
    assert not out.exists()

    with pytest.raises(UsageError, match=r"used a different --chunk-records: 16 vs now 32"):
        api.variants(**opts, chunk_records=32)
    with pytest.raises(UsageError) as err:
        api.variants(**opts, chunk_records=16, shifts=1)
    assert "--shifts (0 vs now 1)" in str(err.value)
    with pytest.raises(UsageError) as err:
        api.variants(**opts, chunk_records=16, layout="wide")
    assert "--layout ('long' vs now 'wide')" in str(err.value)

    (parts_path(out) / "part-000000.parquet").write_bytes(b"not parquet")  # a torn part
    summary = api.variants(**opts, chunk_records=16)
    assert any("could not be read back" in w for w in summary.warnings), summary.warnings
    plain = api.variants(**variant_inputs, output=tmp_path / "plain.parquet")
    import pyarrow.parquet as pq

    assert pq.read_table(out).equals(pq.read_table(tmp_path / "plain.parquet"))
    assert summary.counts == plain.counts


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> Env:
    e = Env(tmp_path_factory.mktemp("engine-predict"))
    rows = [("chrA", 100 + 40 * i, 300 + 40 * i, f"r{i}", 0, "+") for i in range(30)]
    e.regions = e.bed("thirty.bed", rows)
    return e


@pytest.mark.parametrize("explicit", [False, True])
def test_auto_batch_is_capped_so_every_shard_gets_work(env, tmp_path, monkeypatch, explicit):
    """A GPU's ``auto`` starts at 1,024 windows: made large here on the CPU. 30 windows over
    3 shards: each shard gets 10 (in batches of 10), recorded in its metadata; with an
    explicit ``--batch-size 1024`` the bit-identity rule stands and shards 1, 2 are empty."""
    from grelu_cli.predict import batch_size

    monkeypatch.setattr(batch_size, "cpu_auto_size", lambda *a, **k: 1024)
    got = []
    for i in range(3):
        out = tmp_path / f"s{i}.parquet"
        api.predict(
            model=env.model,
            bed=env.regions,
            genome=env.genome,
            output=out,
            shard=f"{i}/3",
            batch_size="1024" if explicit else "auto",
        )
        got.append(metadata(out)["shard"])
    if explicit:
        assert [s["windows"] for s in got] == [30, 0, 0]
        assert all(s["batch_size"] == 1024 and "batch_size_auto" not in s for s in got)
    else:
        assert [s["windows"] for s in got] == [10, 10, 10]
        assert all(s["batch_size"] == 10 and s["batch_size_auto"] == 1024 for s in got)


def test_auto_group_is_capped_for_variant_shards(variant_inputs, tmp_path, monkeypatch):
    from grelu_cli.predict import batch_size

    monkeypatch.setattr(batch_size, "cpu_auto_size", lambda *a, **k: 1024)
    opts = {**variant_inputs, "batch_size": "auto"}
    shards = []
    for i in range(3):
        out = tmp_path / f"s{i}.parquet"
        api.variants(**opts, output=out, shard=f"{i}/3")
        shards.append(metadata(out)["shard"])
    assert all(s["records"] > 0 for s in shards), shards
    assert all(s["group_records_auto"] == 512 for s in shards)


def test_one_engine_paths(tmp_path: Path) -> None:
    """Both job kinds run through ``run.job.run_job`` / ``dry_run``; the old names stay."""
    from grelu_cli.run import job, variants

    assert variants.run_variants is not None and variants.dry_run_variants is not None
    vjob = api.variants_job(model="m.ckpt", vcf="v.vcf", genome="g.fa", chunk_records=7)
    pjob = api.job(model="m.ckpt", output="p.parquet", chunk_windows=9)
    assert (vjob.run.chunk_size, vjob.chunk_option) == (7, "--chunk-records")
    assert (pjob.run.chunk_size, pjob.chunk_option) == (9, "--chunk-windows")
    assert vjob.options()["chunk_records"] == 7 and pjob.options()["chunk_windows"] == 9
    assert job.run_job is not None and job.dry_run is not None
