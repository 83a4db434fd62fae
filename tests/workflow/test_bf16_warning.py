"""--precision bf16 on a CPU without bf16 hardware warns that it is slower than fp32."""

from __future__ import annotations

import pytest

from grelu_cli import api
from grelu_cli.predict import device


@pytest.mark.parametrize("fast", [False, True])
def test_bf16_without_hardware_warns(ws, tmp_path, monkeypatch, fast):
    monkeypatch.setattr(device, "cpu_has_fast_bf16", lambda: fast)
    inputs = {"model": str(ws.model), "bed": str(ws.bed), "genome": str(ws.genome)}
    summary = api.predict(**inputs, device="cpu", precision="bf16", output=str(tmp_path / "p.pq"))
    slow = [w for w in summary.warnings if "no bf16 hardware" in w]
    assert bool(slow) is not fast
    fp32 = api.predict(**inputs, device="cpu", output=str(tmp_path / "q.parquet"))
    assert not [w for w in fp32.warnings if "bf16" in w]


def test_cpu_has_fast_bf16_answers_a_bool():
    assert device.cpu_has_fast_bf16() in (True, False)
