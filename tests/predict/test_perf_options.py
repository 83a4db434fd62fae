"""Speed options of the predictor keep outputs: inference rewrites, compile fallback, CPU
batch size, glibc memory reuse. GPU-only paths are marked ``gpu`` (skipped without CUDA)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from grelu_cli.model.models import ConvModel, DilatedConvModel
from grelu_cli.predict.batch_size import CPU_AUTO, cpu_auto_size
from grelu_cli.predict.device import keep_freed_memory
from grelu_cli.predict.loop import PredictOptions, Predictor
from tests.predict.predict_testkit import make_windows, random_genome

GENOME = random_genome(6000, seed=11)


def _model(kind: str) -> torch.nn.Module:
    torch.manual_seed(0)
    if kind == "dilated":
        return DilatedConvModel(3, channels=8, n_conv=4, final_pool_func=None)
    return ConvModel(3, stem_channels=8, channel_init=8, norm=True, residual=True)


def _run(kind: str, length: int, **opts) -> np.ndarray:
    starts = list(range(0, 5000, 173))
    strands = ["+-"[i % 2] for i in range(len(starts))]
    x, wins = make_windows(GENOME, starts, length, strands)
    p = Predictor(
        _model(kind),
        seq_len=length,
        activation="exp",
        options=PredictOptions(device="cpu", batch_size=8, rc=True, **opts),
    )
    return np.concatenate([v for v, _ in p.predict([(x, wins)])])


@pytest.mark.parametrize(("kind", "length"), [("conv", 128), ("dilated", 160)])
def test_optimized_model_gives_the_same_predictions(kind: str, length: int) -> None:
    plain = _run(kind, length, optimize=False)
    fast = _run(kind, length, keep_memory=True)
    np.testing.assert_allclose(fast, plain, rtol=1e-5, atol=1e-6 * np.abs(plain).max())


def test_bf16_on_cpu_tracks_fp32() -> None:
    ref = _run("dilated", 160)
    got = _run("dilated", 160, precision="bf16")
    for t in range(ref.shape[1]):
        assert np.corrcoef(ref[:, t].ravel(), got[:, t].ravel())[0, 1] > 0.999


def test_compile_failure_falls_back_to_eager(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_compile(module, **kwargs):
        def call(*args):
            raise RuntimeError("no C++ compiler found\nmore detail")

        return call

    monkeypatch.setattr(torch, "compile", broken_compile)
    x, wins = make_windows(GENOME, [0, 100, 200], 128, ["+", "-", "+"])
    p = Predictor(_model("conv"), seq_len=128, options=PredictOptions(compile=True))
    got = next(p.predict([(x, wins)]))[0]
    assert p.compile_error == "RuntimeError: no C++ compiler found"
    ref = Predictor(_model("conv"), seq_len=128, options=PredictOptions())
    np.testing.assert_allclose(got, next(ref.predict([(x, wins)]))[0], rtol=1e-6)


def test_cpu_auto_batch_size_follows_input_length() -> None:
    assert cpu_auto_size(2048) == CPU_AUTO
    assert cpu_auto_size(8192) == CPU_AUTO * 2048 // 8192
    assert cpu_auto_size(524_288) == 1
    assert cpu_auto_size(None) == CPU_AUTO
    p = Predictor(_model("conv"), seq_len=16_384, options=PredictOptions(device="cpu"))
    assert p.sizer.size == cpu_auto_size(16_384)


def test_keep_freed_memory_is_idempotent_and_respects_the_environment() -> None:
    first = keep_freed_memory()
    assert keep_freed_memory() is first  # no error, same answer
    code = "from grelu_cli.predict.device import keep_freed_memory as k; print(k())"
    env = {**os.environ, "MALLOC_MMAP_MAX_": "65536"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"  # the user's malloc settings win


@pytest.mark.gpu
def test_compile_on_cuda_matches_eager() -> None:
    x, wins = make_windows(GENOME, list(range(0, 4000, 250)), 128, ["+"] * 16)
    eager = Predictor(_model("conv"), seq_len=128, options=PredictOptions(device="cuda"))
    comp = Predictor(
        _model("conv"), seq_len=128, options=PredictOptions(device="cuda", compile=True)
    )
    a = next(eager.predict([(x.to(torch.uint8), wins)]))[0]
    b = next(comp.predict([(x.to(torch.uint8), wins)]))[0]
    assert comp.compile_error is None
    np.testing.assert_allclose(b, a, rtol=1e-3, atol=1e-5)


@pytest.mark.gpu
def test_cuda_bf16_tracks_fp32_on_a_transformer_model() -> None:
    from grelu_cli.model.models import EnformerModel

    def model() -> torch.nn.Module:
        torch.manual_seed(0)
        return EnformerModel(
            3,
            n_conv=3,
            channels=384,
            n_transformers=1,
            n_heads=2,
            key_len=8,
            crop_len=1,
            final_pool_func=None,
        )

    x, wins = make_windows(GENOME, list(range(0, 4000, 250)), 128, ["+"] * 16)
    x = x.to(torch.uint8).pin_memory()  # the loader's CUDA batches: uint8, page-locked
    outs = {}
    for precision in ("fp32", "bf16"):
        p = Predictor(
            model(), seq_len=128, options=PredictOptions(device="cuda", precision=precision)
        )
        outs[precision] = next(p.predict([(x, wins)]))[0]
    for t in range(outs["fp32"].shape[1]):
        r = np.corrcoef(outs["fp32"][:, t].ravel(), outs["bf16"][:, t].ravel())[0, 1]
        assert r > 0.999
