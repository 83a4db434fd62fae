"""--device, --precision, --threads; GPU-only checks are marked ``gpu``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from grelu_cli.errors import MissingResourceError, UsageError
from grelu_cli.model.models import ConvModel
from grelu_cli.predict.device import autocast_dtype, resolve_device, set_threads
from grelu_cli.predict.loop import PredictOptions, Predictor
from tests.predict.predict_testkit import BinConv, make_windows, random_genome

GENOME = random_genome(3000, seed=3)


def test_device_specs() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    auto = resolve_device("auto")
    assert auto.type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(UsageError, match="'tpu' is not auto, cpu, cuda or cuda:N"):
        resolve_device("tpu")
    if not torch.cuda.is_available():  # a device that does not exist here: exit 4
        with pytest.raises(MissingResourceError, match="no CUDA device"):
            resolve_device("cuda:0")


def test_precisions() -> None:
    cpu = torch.device("cpu")
    assert autocast_dtype("fp32", cpu) is None
    assert autocast_dtype("bf16", cpu) is torch.bfloat16
    with pytest.raises(UsageError, match="fp16 is for CUDA"):
        autocast_dtype("fp16", cpu)
    with pytest.raises(UsageError, match="'fp8'"):
        autocast_dtype("fp8", cpu)


def test_threads() -> None:
    before = torch.get_num_threads()
    try:
        set_threads(1)
        assert torch.get_num_threads() == 1
        with pytest.raises(UsageError):
            set_threads(0)
    finally:
        torch.set_num_threads(before)


def conv_model() -> ConvModel:
    torch.manual_seed(0)
    return ConvModel(
        n_tasks=4,
        stem_channels=16,
        channel_init=16,
        n_conv=3,
        pool_func="max",
        pool_size=2,
        final_pool_func=None,
        norm=True,
    )


def test_bf16_on_cpu_is_close_to_fp32_with_fp32_head() -> None:
    x, wins = make_windows(GENOME, list(range(0, 2000, 97)), 256, (["+", "-"] * 11)[:21])
    outs = {}
    for prec in ("fp32", "bf16"):
        p = Predictor(
            conv_model(),
            seq_len=256,
            activation="none",
            options=PredictOptions(device="cpu", precision=prec),
        )
        outs[prec] = next(p.predict([(x, wins)]))[0]
        assert outs[prec].dtype == np.float32
    a, b = outs["fp32"].ravel(), outs["bf16"].ravel()
    assert not np.array_equal(a, b)  # autocast did run in bf16
    assert np.corrcoef(a, b)[0, 1] > 0.999


def test_select_tasks_and_slicing_agree_on_a_library_model() -> None:
    x, wins = make_windows(GENOME, [10, 500, 1000], 256, ["+", "-", "+"])
    import pandas as pd

    tasks = pd.DataFrame({"name": ["a", "b", "c", "d"], "strand_pair": [1, 0, 2, 3]})
    full = Predictor(
        conv_model(),
        seq_len=256,
        tasks=tasks,
        activation="exp",
        options=PredictOptions(device="cpu", rc=True),
    )
    ref = next(full.predict([(x, wins)]))[0]
    sel = Predictor(
        conv_model(),
        seq_len=256,
        tasks=tasks,
        selected=[3, 0],
        activation="exp",
        options=PredictOptions(device="cpu", rc=True),
    )
    assert sel.plan is not None and sel.plan.use_select_tasks and sel.model.n_tasks == 3
    got = next(sel.predict([(x, wins)]))[0]
    np.testing.assert_allclose(got, ref[:, [3, 0]], rtol=1e-5, atol=1e-6)


@pytest.mark.gpu
@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16"])
def test_cuda_matches_cpu(precision: str) -> None:
    x, wins = make_windows(GENOME, list(range(0, 2000, 97)), 256, (["+", "-"] * 11)[:21])
    cpu = Predictor(
        conv_model(), seq_len=256, activation="exp", options=PredictOptions(device="cpu", rc=True)
    )
    ref = next(cpu.predict([(x, wins)]))[0]
    gpu = Predictor(
        conv_model(),
        seq_len=256,
        activation="exp",
        options=PredictOptions(device="cuda", precision=precision, rc=True, batch_size="auto"),
    )
    batches = [(x[i : i + 8].to(torch.uint8), wins[i : i + 8]) for i in range(0, 21, 8)]
    got = np.concatenate([v for v, _ in gpu.predict(batches)])
    if precision == "fp32":
        np.testing.assert_allclose(got, ref, rtol=1e-3, atol=1e-5)
    else:
        assert np.corrcoef(got.ravel(), ref.ravel())[0, 1] > 0.999


@pytest.mark.gpu
def test_cuda_oom_halving_on_a_real_device() -> None:
    model = BinConv(n_tasks=2)
    p = Predictor(model, seq_len=64, options=PredictOptions(device="cuda", batch_size="auto"))
    x, wins = make_windows(GENOME, list(range(0, 2000, 20)), 64, ["+"] * 100)
    out = np.concatenate([v for v, _ in p.predict([(x, wins)])])
    assert out.shape[0] == 100 and np.isfinite(out).all()
