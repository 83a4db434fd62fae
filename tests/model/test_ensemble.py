"""The replicate ensemble: its forward is the mean of its members, ``select(r)`` is member
``r`` alone, and the predictor averages activated outputs of the members (with augmentation,
task selection, bf16 autocast and the inference rewrites), one member at a time."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from grelu_cli.model.ensemble import ReplicateEnsemble
from grelu_cli.model.models import ConvModel
from grelu_cli.predict.loop import PredictOptions, Predictor

L = 64


def _members(n: int = 3) -> list[ConvModel]:
    out = []
    for seed in range(n):
        torch.manual_seed(seed)
        m = ConvModel(
            n_tasks=3, stem_channels=8, channel_init=8, n_conv=2, final_pool_func=None, norm=True
        )
        for p in m.parameters():  # spread the outputs so that exp() is far from linear
            p.data.mul_(2.0)
        out.append(m.eval())
    return out


def _x(n: int = 5) -> torch.Tensor:
    g = torch.Generator().manual_seed(7)
    idx = torch.randint(0, 4, (n, L + 4), generator=g)
    return torch.nn.functional.one_hot(idx, 4).permute(0, 2, 1).float()


def test_forward_is_the_mean_of_the_members_and_select_runs_one():
    members = _members()
    ens = ReplicateEnsemble(copy.deepcopy(members), [0, 1, 2]).eval()
    x = _x()[:, :, :L]
    with torch.no_grad():
        outs = [m(x) for m in members]
        mean = ens(x)
        np.testing.assert_allclose(mean, sum(outs) / 3, rtol=1e-6, atol=1e-7)
        ens.select(1)
        assert torch.equal(ens(x), outs[1])
        ens.select(None)
        assert torch.allclose(ens(x), mean, rtol=0, atol=0)
    with pytest.raises(IndexError):
        ens.select(3)
    assert ens.n_tasks == 3 and ens.geometry() == members[0].geometry()
    with pytest.raises(ValueError):
        ReplicateEnsemble(members[:1], [0])


def _predict(model, x, **kw) -> tuple[Predictor, np.ndarray]:
    opts = PredictOptions(device="cpu", shifts=2, **kw)
    p = Predictor(model, seq_len=L, options=opts, activation="exp")
    minus = np.array([False, True, False, False, True])
    values = np.concatenate([v for v, _ in p.predict([(x, minus)])])
    return p, values


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_the_predictor_averages_activated_member_predictions(precision):
    members = _members()
    x = _x()
    singles = [_predict(copy.deepcopy(m), x, rc=True, precision=precision)[1] for m in members]
    ens = ReplicateEnsemble(copy.deepcopy(members), [0, 1, 2])
    p, mean = _predict(ens, x, rc=True, precision=precision)
    assert p.n_replicates == 3
    # The mean of exp(outputs), not exp(mean of outputs): a nonlinear activation tells them
    # apart by far more than the tolerance.
    tol = 1e-6 if precision == "fp32" else 2e-2
    np.testing.assert_allclose(mean, np.mean(singles, axis=0), rtol=tol, atol=1e-6)
    logits = [_predict(copy.deepcopy(m), x, rc=True, logits=True)[1] for m in members]
    wrong = np.exp(np.mean(logits, axis=0))
    assert np.abs(wrong - mean).max() > 10 * tol * np.abs(mean).max()
    # One member alone is exactly that member's single-model prediction.
    for r in (2, 0):
        p.select_replicate(r)
        alone = np.concatenate([v for v, _ in p.predict([(x, np.array([0, 1, 0, 0, 1], bool))])])
        assert np.array_equal(alone, singles[r])
    p.select_replicate(None)
    again = np.concatenate([v for v, _ in p.predict([(x, np.array([0, 1, 0, 0, 1], bool))])])
    assert np.array_equal(again, mean)


def test_task_selection_reaches_every_member():
    members = _members(2)
    x = _x()
    full = _predict(ReplicateEnsemble(copy.deepcopy(members), [0, 1]), x)[1]
    opts = PredictOptions(device="cpu", shifts=2)
    p = Predictor(
        ReplicateEnsemble(copy.deepcopy(members), [0, 1]),
        seq_len=L,
        options=opts,
        activation="exp",
        selected=[2, 0],
    )
    assert all(m.n_tasks == 2 for m in p.model.members)  # the heads were sliced
    sel = np.concatenate([v for v, _ in p.predict([(x, np.zeros(5, bool))])])
    plain = _predict(ReplicateEnsemble(copy.deepcopy(members), [0, 1]), x)
    assert plain[1].shape[1] == 3
    minus = np.array([False, True, False, False, True])
    np.testing.assert_allclose(sel[~minus], full[~minus][:, [2, 0]], rtol=1e-6)


def test_a_single_model_takes_no_replicate():
    p = Predictor(_members(1)[0], seq_len=L, options=PredictOptions(device="cpu"))
    assert p.n_replicates == 1
    p.select_replicate(None)
    p.select_replicate(0)
    with pytest.raises(IndexError):
        p.select_replicate(1)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_compile_wraps_every_member_and_falls_back_for_all(monkeypatch, precision):
    compiled: list[torch.nn.Module] = []

    def fake_compile(module, **kwargs):  # records what is compiled; runs it eagerly
        compiled.append(module)
        return module

    monkeypatch.setattr(torch, "compile", fake_compile)
    members = _members(2)
    ens = ReplicateEnsemble(copy.deepcopy(members), [0, 1])
    p, got = _predict(ens, _x(), compile=True, precision=precision)
    # bf16 splits each member: its trunk is compiled (the head runs in fp32), else the member.
    want = [m.embedding if precision == "bf16" else m for m in p.model.members]
    assert len(compiled) == 2 and all(a is b for a, b in zip(compiled, want, strict=True))
    eager = _predict(ReplicateEnsemble(copy.deepcopy(members), [0, 1]), _x(), precision=precision)
    np.testing.assert_array_equal(got, eager[1])

    def broken_compile(module, **kwargs):
        def call(*args):
            raise RuntimeError("no C++ compiler found")

        return call

    monkeypatch.setattr(torch, "compile", broken_compile)
    ens = ReplicateEnsemble(copy.deepcopy(members), [0, 1])
    p, got = _predict(ens, _x(), compile=True, precision=precision)
    assert p.compile_error == "RuntimeError: no C++ compiler found"
    np.testing.assert_array_equal(got, eager[1])


@pytest.mark.gpu
def test_members_selected_between_batches_on_cuda_match_the_cpu():
    """On CUDA the predictor launches a batch before handing out the previous one; a member
    selected just before a batch is yielded (what the variant scorer does) is the one that
    predicts it."""
    members = _members(3)
    x = _x()
    cpu = [_predict(copy.deepcopy(m), x)[1] for m in members]
    p = Predictor(
        ReplicateEnsemble(copy.deepcopy(members), [0, 1, 2]),
        seq_len=L,
        options=PredictOptions(device="cuda", shifts=2),
        activation="exp",
    )
    order = [2, 0, 1, 1, None]

    def batches():
        for r in order:
            p.select_replicate(r)
            yield x, np.array([False, True, False, False, True])

    got = [v for v, _ in p.predict(batches())]
    for r, values in zip(order, got, strict=True):
        want = np.mean(cpu, axis=0) if r is None else cpu[r]
        np.testing.assert_allclose(values, want, rtol=1e-4, atol=1e-5)


def test_untransform_applies_to_the_mean_of_the_activated_replicates():
    """The documented order: activate each replicate, average, then --untransform (as for one
    model's output); not the mean of the untransformed replicates."""
    import pandas as pd

    tasks = pd.DataFrame(
        {"name": ["a", "b", "c"], "scale": [0.5, 1.0, 2.0], "clip_soft": [0.5, np.nan, 1.0]}
    )
    members = _members(2)
    x = _x()[:, :, 2:-2]

    def run(model, untransform):
        opts = PredictOptions(device="cpu", untransform=untransform)
        p = Predictor(model, seq_len=L, options=opts, activation="exp", tasks=tasks)
        return np.concatenate([v for v, _ in p.predict([(x, np.zeros(5, bool))])])

    activated = [run(copy.deepcopy(m), False).astype(np.float64) for m in members]
    got = run(ReplicateEnsemble(copy.deepcopy(members), [0, 1]), True)

    def untransform(y):  # Borzoi's untransform_old, written out in numpy
        scale = tasks["scale"].to_numpy()[None, :, None]
        clip = tasks["clip_soft"].to_numpy()[None, :, None]
        y = y / scale
        y = np.where(~np.isnan(clip) & (y > clip), clip + (y - clip) ** 2, y)
        return y ** (4 / 3)

    np.testing.assert_allclose(got, untransform(np.mean(activated, axis=0)), rtol=1e-5)
    other = np.mean([untransform(a) for a in activated], axis=0)
    assert np.abs(other - got).max() > 1e-3 * np.abs(got).max()
