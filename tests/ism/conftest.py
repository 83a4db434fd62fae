"""ISM-test fixtures: warm transcendental ops once and keep fp32 matmuls exact."""

from __future__ import annotations

import pytest
import torch

from grelu_cli.model.warmup import warm_up


@pytest.fixture(scope="session", autouse=True)
def _warm_ops() -> None:
    """First calls of exp & co. can be slightly off in a fresh process (README: warm-up)."""
    warm_up("cpu", ())


@pytest.fixture(autouse=True)
def _fp32_highest():
    before = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("highest")
    yield
    torch.set_float32_matmul_precision(before)
