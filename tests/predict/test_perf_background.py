"""BackgroundWriter: blocks written in order on another thread, errors surface, cleanup runs."""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from grelu_cli.io.formats.parquet import ParquetWriter
from grelu_cli.predict.background import BackgroundWriter
from grelu_cli.predict.loop import PredictOptions, Predictor
from tests.predict.predict_testkit import BinConv, make_windows, random_genome


class Recorder:
    """A writer that records what it was given, on which thread, and how it was closed."""

    def __init__(self, fail_at: int | None = None, delay: float = 0.0) -> None:
        self.items: list[Any] = []
        self.threads: set[str] = set()
        self.fail_at = fail_at
        self.delay = delay
        self.entered = False
        self.exit_args: tuple | None = None
        self.metadata = {"k": 1}

    def __enter__(self) -> Recorder:
        self.entered = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.exit_args = (exc_type, exc)

    def write(self, item: Any) -> None:
        time.sleep(self.delay)
        if self.fail_at is not None and len(self.items) == self.fail_at:
            raise OSError(f"disk full at item {item}")
        self.threads.add(threading.current_thread().name)
        self.items.append(item)


def test_writes_in_order_on_another_thread() -> None:
    inner = Recorder(delay=0.001)
    with BackgroundWriter(inner, max_pending=2) as w:
        for i in range(50):
            w.write(i)
        assert w.metadata == {"k": 1}  # attributes are the inner writer's
    assert inner.items == list(range(50))
    assert inner.threads == {"grelu-writer"}
    assert inner.exit_args == (None, None)


def test_writer_error_reaches_the_caller_and_closes_with_it() -> None:
    inner = Recorder(fail_at=3)
    with pytest.raises(OSError, match="disk full"), BackgroundWriter(inner) as w:
        for i in range(100):
            w.write(i)
    assert inner.items == [0, 1, 2]
    assert inner.exit_args is not None and inner.exit_args[0] is OSError


def test_error_in_the_last_write_raises_at_exit() -> None:
    inner = Recorder(fail_at=0)
    with pytest.raises(OSError), BackgroundWriter(inner) as w:
        w.write("only")
    assert inner.exit_args is not None and inner.exit_args[0] is OSError


def test_caller_exception_drops_queued_blocks_and_cleans_up() -> None:
    inner = Recorder(delay=0.01)
    with pytest.raises(KeyboardInterrupt), BackgroundWriter(inner, max_pending=4) as w:
        for i in range(6):
            w.write(i)
        raise KeyboardInterrupt
    assert len(inner.items) < 6  # queued blocks were dropped, not written
    assert inner.exit_args is not None and inner.exit_args[0] is KeyboardInterrupt


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        BackgroundWriter(Recorder(), max_pending=0)
    with pytest.raises(RuntimeError):
        BackgroundWriter(Recorder()).write(1)


def test_parquet_through_the_background_equals_direct(tmp_path) -> None:
    genome = random_genome(4000, seed=5)
    x, wins = make_windows(genome, list(range(0, 3000, 37))[:60], 64, ["+", "-"] * 30)
    paths = {}
    for label, wrap in (("direct", lambda w: w), ("background", BackgroundWriter)):
        pred = Predictor(
            BinConv(n_tasks=2), seq_len=64, options=PredictOptions(device="cpu", batch_size=7)
        )
        path = tmp_path / f"{label}.parquet"
        with wrap(ParquetWriter(path, pred.task_names)) as writer:
            for block in pred.blocks([(x[i : i + 9], wins[i : i + 9]) for i in range(0, 60, 9)]):
                writer.write(block)
        paths[label] = path
    a = pq.read_table(paths["direct"]).to_pandas()
    b = pq.read_table(paths["background"]).to_pandas()
    assert len(a) == 60 * 2 * 16
    assert a.equals(b)
    assert np.isfinite(b["value"]).all()
