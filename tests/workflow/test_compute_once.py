"""Every window is computed once (issue 13): no padding copies, also for tails and shards.

The model's forward is counted in process; the run's tail, shard and chunk boundaries cut
batches of one window and of odd sizes, and the outputs still equal one plain run.
"""

from __future__ import annotations

import pytest

from grelu_cli import api
from grelu_cli.predict.loop import Predictor
from tests.workflow.wf_helpers import read_table


@pytest.fixture
def seen(monkeypatch):
    """Sizes of the batches the model is run on, in order."""
    sizes: list[int] = []
    real = Predictor._forward

    def forward(self, x, member=0):
        sizes.append(int(x.shape[0]))
        return real(self, x, member)

    monkeypatch.setattr(Predictor, "_forward", forward)
    return sizes


def _options(ws, **extra):
    return {
        "model": str(ws.model),
        "bed": str(ws.bed),
        "genome": str(ws.genome),
        "device": "cpu",
        **extra,
    }


@pytest.mark.parametrize(("batch", "rc"), [(6, False), (6, True), (1, False), (4, False)])
def test_each_window_is_computed_once(ws, tmp_path, seen, batch, rc):
    # 67 windows: batches of 6 leave a one-window tail, of 4 a three-window tail.
    summary = api.predict(
        **_options(ws, batch_size=str(batch), rc=rc), output=str(tmp_path / "p.parquet")
    )
    copies = 2 if rc else 1
    assert summary.windows == ws.n_regions
    assert sum(seen) == ws.n_regions * copies == summary.forward_passes
    full, tail = divmod(ws.n_regions, batch)
    want = [batch] * full + ([tail] if tail else [])
    assert seen == [n for n in want for _ in range(copies)]


def test_shards_and_chunks_compute_each_window_once_and_match(ws, tmp_path, seen):
    plain = tmp_path / "plain.parquet"
    api.predict(**_options(ws, batch_size="6"), output=str(plain))
    assert sum(seen) == ws.n_regions
    seen.clear()
    shards = []
    for i in range(3):
        out = tmp_path / f"s{i}.parquet"
        api.predict(
            **_options(ws, batch_size="6", shard=f"{i}/3", resume=True, chunk_windows=5),
            output=str(out),
        )
        shards.append(out)
    assert sum(seen) == ws.n_regions  # shards x chunks: still every window once
    assert max(seen) == 6 and seen[-1] == 1  # chunks of 5 round up to a whole batch of 6
    from grelu_cli.run.merge import merge_shards

    merged = tmp_path / "merged.parquet"
    merge_shards([str(p) for p in shards], str(merged))
    assert read_table(merged).equals(read_table(plain))  # bit for bit
