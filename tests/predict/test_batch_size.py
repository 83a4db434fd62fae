"""--batch-size: fixed sizes, auto halving on out-of-memory (with a fake OOM on the CPU)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from grelu_cli.errors import OutOfMemoryError, UsageError
from grelu_cli.predict.batch_size import CPU_AUTO, BatchSizer, parse_batch_size
from grelu_cli.predict.loop import PredictOptions, Predictor
from tests.predict.predict_testkit import BinConv, make_windows, random_genome

GENOME = random_genome(3000, seed=2)


class OomAbove(BinConv):
    """Raises torch's OutOfMemoryError for batches larger than ``limit``; records sizes."""

    def __init__(self, limit: int) -> None:
        super().__init__(n_tasks=2)
        self.limit = limit
        self.sizes: list[int] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.sizes.append(x.shape[0])
        if x.shape[0] > self.limit:
            raise torch.OutOfMemoryError(f"CUDA out of memory. Tried to allocate {x.shape[0]} GiB")
        return super().forward(x)


def test_parse() -> None:
    assert parse_batch_size("auto") is None
    assert parse_batch_size(" 32 ") == 32 and parse_batch_size(8) == 8
    for bad in ("0", "-1", "x", 0):
        with pytest.raises(UsageError):
            parse_batch_size(bad)


def test_auto_halves_and_retries_the_failed_batch() -> None:
    starts = list(range(0, 2900, 29))[:100]
    x, wins = make_windows(GENOME, starts, 64, ["+", "-"] * 50)
    model = OomAbove(limit=10)
    p = Predictor(
        model,
        seq_len=64,
        activation="exp",
        options=PredictOptions(device="cpu", batch_size="auto", rc=True),
    )
    got = np.concatenate([v for v, _ in p.predict([(x, wins)])])
    start = min(100, CPU_AUTO)  # the CPU auto size, or the whole batch when smaller
    assert model.sizes[0] == start
    fits = start
    while fits > model.limit:  # e.g. 100 -> 50 -> 25 -> 12 -> 6, then kept
        fits //= 2
    assert p.sizer.size == fits
    assert max(s for s in model.sizes if s <= model.limit) == fits
    ref_model = BinConv(n_tasks=2)
    ref = Predictor(
        ref_model,
        seq_len=64,
        activation="exp",
        options=PredictOptions(device="cpu", batch_size=100, rc=True),
    )
    np.testing.assert_allclose(got, next(ref.predict([(x, wins)]))[0], rtol=1e-5, atol=1e-6)


def test_auto_gives_up_at_one_window() -> None:
    x, wins = make_windows(GENOME, [0, 100], 64, ["+", "+"])
    p = Predictor(
        OomAbove(limit=0), seq_len=64, options=PredictOptions(device="cpu", batch_size="auto")
    )
    with pytest.raises(OutOfMemoryError, match="one window per batch") as e:
        list(p.predict([(x, wins)]))
    assert e.value.exit_code == 5


def test_fixed_size_reports_oom_with_a_hint() -> None:
    x, wins = make_windows(GENOME, [0, 100, 200], 64, ["+"] * 3)
    p = Predictor(OomAbove(limit=2), seq_len=64, options=PredictOptions(device="cpu", batch_size=3))
    with pytest.raises(OutOfMemoryError, match=r"--batch-size 3.*smaller --batch-size"):
        list(p.predict([(x, wins)]))


def test_sizer_covers_every_window_once() -> None:
    sizer = BatchSizer(7, torch.device("cpu"))
    seen: list[tuple[int, int]] = []
    sizer.run(20, lambda i, j: seen.append((i, j)))
    assert seen == [(0, 7), (7, 14), (14, 20)]


def test_cpu_auto_keeps_attention_logits_small() -> None:
    """gReLU's default ConvTransformerModel (one head over 2,048 positions: 32 MiB of logits
    per window) gets 8 windows per CPU batch, not 128; convolution-only models keep 128; a
    fixed --batch-size is never changed."""
    from grelu_cli.model.models import ConvModel, ConvTransformerModel
    from grelu_cli.predict.batch_size import (
        CPU_ATTENTION_BYTES,
        attention_logit_bytes,
        cpu_auto_size,
    )

    attn = ConvTransformerModel(n_tasks=2)
    assert attention_logit_bytes(attn, 2048) == 1 * 2048 * 4096 * 4
    assert attention_logit_bytes(ConvModel(n_tasks=2), 2048) == 0
    assert cpu_auto_size(2048, 2048 * 4096 * 4) == CPU_ATTENTION_BYTES // (2048 * 4096 * 4) == 8
    assert cpu_auto_size(2048, 1 << 40) == 1
    cpu = {"device": "cpu"}
    assert Predictor(attn, seq_len=2048, options=PredictOptions(**cpu)).sizer.size == 8
    assert (
        Predictor(ConvModel(n_tasks=2), seq_len=2048, options=PredictOptions(**cpu)).sizer.size
        == CPU_AUTO
    )
    fixed = PredictOptions(batch_size=64, **cpu)
    assert Predictor(ConvTransformerModel(n_tasks=2), seq_len=2048, options=fixed).sizer.size == 64
