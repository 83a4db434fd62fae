"""Fast ISM equals the plain computation, ``model(mutated windows)``, on every architecture it
serves, and refuses the ones it does not serve.

Mutated windows are built here by re-encoding a mutated sequence string (independent of
``grelu_cli.ism.mutants``); weights are random, batch-norm statistics non-trivial, windows carry
N columns, and the mutated positions include both window edges.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch
from torch import nn

from grelu_cli.ism.fast import FastISM, FastISMUnsupportedError, unsupported_reason
from grelu_cli.model import models as M
from grelu_cli.model.inference import optimize_for_inference
from grelu_cli.model.models.explainn import ExplaiNNModel

RTOL, ATOL = 1e-5, 1e-6


def assert_close(actual: torch.Tensor, expected: torch.Tensor, atol: float = ATOL) -> None:
    """Within float32 rounding: 1e-5 relative, 1e-6 absolute on outputs of magnitude up to 1
    (absolute scaled by the largest output beyond that: a summation-order change moves an
    output near zero by rounding of its largest terms)."""
    scale = max(1.0, float(expected.abs().amax()))
    torch.testing.assert_close(actual, expected, rtol=RTOL, atol=atol * scale)


# name -> (factory, window length)
SERVED: dict[str, tuple[Callable[[], nn.Module], int]] = {
    "conv_default_small": (lambda: M.ConvModel(3, stem_channels=8, channel_init=8), 50),
    "conv_profile_even_kernel": (
        lambda: M.ConvModel(
            2,
            stem_channels=6,
            stem_kernel_size=8,
            channel_init=6,
            n_conv=3,
            kernel_size=4,
            final_pool_func=None,
        ),
        41,
    ),
    "conv_norm_res_maxpool_crop": (
        lambda: M.ConvModel(
            3,
            stem_channels=8,
            channel_init=8,
            n_conv=4,
            norm=True,
            residual=True,
            pool_func="max",
            pool_size=2,
            crop_len=2,
            final_pool_func=None,
        ),
        67,  # odd: the max pools drop a tail
    ),
    "conv_dilated_avgpool_mult": (
        lambda: M.ConvModel(
            2,
            stem_channels=8,
            channel_init=8,
            channel_mult=1.5,
            n_conv=4,
            kernel_size=3,
            dilation_init=2,
            dilation_mult=2,
            pool_func="avg",
            pool_size=3,
            act_func="gelu",
            final_pool_func="max",
        ),
        90,
    ),
    "conv_attnpool_elu": (
        lambda: M.ConvModel(
            2,
            stem_channels=8,
            channel_init=12,  # the first residual needs a 1x1 conv (8 -> 12)
            n_conv=3,
            pool_func="attn",
            pool_size=2,
            act_func="elu",
            residual=True,
            crop_len=1,
            final_pool_func="avg",
        ),
        48,
    ),
    "conv_exp_softplus_order": (
        lambda: M.ConvModel(
            2,
            stem_channels=8,
            channel_init=8,
            n_conv=3,
            act_func="softplus",
            norm=True,
            final_pool_func=None,
        ),
        30,
    ),
    "dilated_auto_crop": (lambda: M.DilatedConvModel(2, channels=8, n_conv=5), 140),
    "dilated_profile": (
        lambda: M.DilatedConvModel(
            3, channels=6, n_conv=4, kernel_size=4, crop_len=3, final_pool_func=None
        ),
        70,
    ),
    "explainn": (lambda: ExplaiNNModel(2, in_len=60, channels=5, kernel_size=7), 60),
    # Each GRU direction from the reference state at the batch's changed span.
    # Stem and conv blocks before the U-net skips on the window, the rest whole. Conv tower
    # channels are multiples of 32.
    "borzoi_tower": (
        lambda: M.BorzoiModel(
            stem_channels=8,
            stem_kernel_size=5,
            init_channels=32,
            channels=64,
            n_tasks=2,
            n_conv=4,
            n_transformers=1,
            key_len=4,
            value_len=8,
            n_heads=2,
            pos_dropout=0.0,
            attn_dropout=0.0,
            ff_dropout=0.0,
            crop_len=1,
            final_act_func="softplus",
            final_pool_func=None,
        ),
        64,
    ),
    "conv_gru": (lambda: M.ConvGRUModel(2, stem_channels=8, channel_init=8, n_conv=3), 50),
    "conv_gru_pool_profile": (
        lambda: M.ConvGRUModel(
            3,
            stem_channels=6,
            channel_init=6,
            pool_func="max",
            pool_size=2,
            final_pool_func=None,
        ),
        41,
    ),
    # Conv tower incrementally, transformer tower and tail on the whole activation. Channels:
    # multiples of 128 from half to all, channels / heads divisible by 6 (smallest: 768).
    "enformer_tower": (
        lambda: M.EnformerModel(
            2,
            channels=768,
            n_conv=3,
            n_transformers=1,
            n_heads=4,
            key_len=4,
            crop_len=1,
            final_pool_func=None,
            pos_dropout=0.0,
            attn_dropout=0.0,
            ff_dropout=0.0,
        ),
        32,
    ),
    "explainn_odd_tail": (lambda: ExplaiNNModel(3, in_len=53, channels=4, kernel_size=9), 53),
    "conv_mlp": (
        lambda: M.ConvMLPModel(
            seq_len=40,
            n_tasks=2,
            stem_channels=6,
            channel_init=6,
            pool_func="max",
            pool_size=2,
            mlp_hidden_size=[5],
            mlp_norm=True,  # layer norm over the flattened activation: the head runs whole
        ),
        40,
    ),
    "conv_mlp_first_linear_incremental": (
        lambda: M.ConvMLPModel(
            seq_len=45,
            n_tasks=2,
            stem_channels=6,
            channel_init=6,
            mlp_hidden_size=[5, 3],
        ),
        45,
    ),
}

#: Absolute tolerance for models whose plain float32 forward is itself ~1e-6 off the float64
#: value (Enformer: 768-channel sums, layer norm, attention); see
#: test_enformer_fast_is_as_exact_as_plain.
LOOSER_ATOL = {"enformer_tower": 1e-5}

NOT_SERVED: dict[str, Callable[[], nn.Module]] = {
    "conv_gru_two_layers": lambda: M.ConvGRUModel(2, stem_channels=8, channel_init=8, n_gru=2),
    "conv_transformer": lambda: M.ConvTransformerModel(2, stem_channels=8, channel_init=8),
}


def _randomize(model: nn.Module, seed: int) -> nn.Module:
    """Random weights and non-trivial batch-norm statistics (eval mode)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if not t.is_floating_point():
                continue
            if name.endswith("running_var"):
                t.copy_(0.5 + torch.rand(t.shape, generator=g))
            elif name.endswith("running_mean"):
                t.copy_(0.4 * (torch.rand(t.shape, generator=g) - 0.5))
            elif t.ndim >= 2:  # weights: uniform with torch's default fan-in scale
                bound = (3 / max(1, t[0].numel())) ** 0.5
                t.copy_(bound * (2 * torch.rand(t.shape, generator=g) - 1))
            else:  # biases, norm scales and shifts
                t.copy_(0.4 * (torch.rand(t.shape, generator=g) - 0.5) + name.endswith("weight"))
    return model.eval()


def _window(length: int, seed: int) -> str:
    rng = np.random.default_rng(seed)
    seq = list(rng.choice(list("ACGT"), size=length))
    for i in rng.choice(length, size=max(1, length // 12), replace=False):
        seq[i] = "N"
    seq[0] = "N"  # an N at the very edge
    return "".join(seq)


def _one_hot(seq: str) -> np.ndarray:
    out = np.zeros((4, len(seq)), dtype=np.float32)
    for i, c in enumerate(seq):
        if c in "ACGT":
            out["ACGT".index(c), i] = 1.0
    return out


def _mutants(seq: str) -> list[tuple[int, int]]:
    """Edges, the centre and a few others; every base that differs from the reference."""
    n = len(seq)
    positions = sorted({0, 1, 2, n // 3, n // 2, n // 2 + 1, n - 3, n - 2, n - 1})
    return [(p, b) for p in positions for b in range(4) if "ACGT"[b] != seq[p]]


def _plain(model: nn.Module, seq: str, muts: list[tuple[int, int]]) -> torch.Tensor:
    windows = []
    for p, b in muts:
        windows.append(_one_hot(seq[:p] + "ACGT"[b] + seq[p + 1 :]))
    with torch.no_grad():
        return model(torch.from_numpy(np.stack(windows)))


def _fast(model: nn.Module, seq: str, muts: list[tuple[int, int]], batch: int):
    f = FastISM(model)
    ref = f.reference(_one_hot(seq))
    offsets = np.array([p for p, _ in muts])
    bases = np.array([b for _, b in muts])
    outs = [
        f.mutants(offsets[i : i + batch], bases[i : i + batch]) for i in range(0, len(muts), batch)
    ]
    return ref, torch.cat(outs)


@pytest.mark.parametrize("rewritten", [False, True], ids=["original", "rewritten"])
@pytest.mark.parametrize("name", sorted(SERVED))
def test_fast_equals_plain(name: str, rewritten: bool) -> None:
    factory, length = SERVED[name]
    model = _randomize(factory(), seed=len(name))
    if rewritten:
        optimize_for_inference(model)
    seq = _window(length, seed=length)
    muts = _mutants(seq)
    ref, fast = _fast(model, seq, muts, batch=7)
    with torch.no_grad():
        expected_ref = model(torch.from_numpy(_one_hot(seq))[None])
    assert_close(ref, expected_ref)
    expected = _plain(model, seq, muts)
    assert fast.shape == expected.shape
    assert_close(fast, expected, atol=LOOSER_ATOL.get(name, ATOL))
    # The mutations change the outputs well beyond the tolerance (so the comparison is not
    # between two copies of the reference).
    assert (expected - expected_ref).abs().amax() > 100 * (ATOL + RTOL * expected.abs().amax())


def test_batch_size_does_not_change_results() -> None:
    factory, length = SERVED["conv_norm_res_maxpool_crop"]
    model = _randomize(factory(), seed=3)
    seq = _window(length, seed=5)
    muts = _mutants(seq)
    _, one = _fast(model, seq, muts, batch=1)
    _, many = _fast(model, seq, muts, batch=len(muts))
    assert_close(one, many)


def test_every_position_of_a_window() -> None:
    """All 3 (4 at N) mutants at every position of a dilated model's window."""
    model = _randomize(M.DilatedConvModel(2, channels=6, n_conv=4, final_pool_func=None), 11)
    seq = _window(50, seed=2)
    muts = [(p, b) for p in range(50) for b in range(4) if "ACGT"[b] != seq[p]]
    _, fast = _fast(model, seq, muts, batch=64)
    assert_close(fast, _plain(model, seq, muts))


@pytest.mark.parametrize("name", sorted(NOT_SERVED))
def test_refuses_models_whose_outputs_read_every_position(name: str) -> None:
    model = NOT_SERVED[name]().eval()
    assert unsupported_reason(model) is not None
    with pytest.raises(FastISMUnsupportedError, match="fast ISM cannot compute"):
        FastISM(model)


def test_refuses_training_mode_and_unknown_layers() -> None:
    model = M.ConvModel(2, stem_channels=8, channel_init=8, norm=True)
    with pytest.raises(FastISMUnsupportedError, match="training mode"):
        FastISM(model.train())
    model.eval()
    model.embedding.conv_tower.blocks[1].act.layer = nn.Softmax(dim=-1)  # reads all positions
    with pytest.raises(FastISMUnsupportedError, match="Softmax"):
        FastISM(model)
    layer_norm = M.ConvModel(2, stem_channels=8, channel_init=8).eval()
    layer_norm.embedding.conv_tower.blocks[1].norm.layer = nn.LayerNorm(8)
    with pytest.raises(FastISMUnsupportedError, match="LayerNorm"):
        FastISM(layer_norm)


def test_mutants_before_reference_is_an_error() -> None:
    f = FastISM(_randomize(M.ConvModel(2, stem_channels=4, channel_init=4), 1))
    with pytest.raises(RuntimeError, match="reference"):
        f.mutants(np.array([0]), np.array([1]))


def test_reverse_complement_mutants_give_the_rc_predictions() -> None:
    """--rc with fast ISM: the reverse-complement window with reverse_complement_mutants
    equals the model on the reverse complement of each mutated window."""
    from grelu_cli.ism.mutants import reverse_complement_mutants

    factory, length = SERVED["conv_norm_res_maxpool_crop"]
    model = _randomize(factory(), seed=9)
    seq = _window(length, seed=4)
    muts = _mutants(seq)
    x = _one_hot(seq)
    offsets, bases = reverse_complement_mutants(
        np.array([p for p, _ in muts]), np.array([b for _, b in muts]), length
    )
    f = FastISM(model)
    f.reference(x[::-1, ::-1].copy())  # rc of a one-hot window: flip channels and positions
    fast = f.mutants(offsets, bases)
    windows = [_one_hot(seq[:p] + "ACGT"[b] + seq[p + 1 :])[::-1, ::-1].copy() for p, b in muts]
    with torch.no_grad():
        expected = model(torch.from_numpy(np.stack(windows)))
    assert_close(fast, expected)


def test_selected_tasks_and_rewrites_before_building() -> None:
    """The engine selects tasks and rewrites the model, then builds FastISM on it."""
    factory, length = SERVED["conv_norm_res_maxpool_crop"]
    model = _randomize(factory(), seed=21)
    model.select_tasks([2, 0])
    optimize_for_inference(model)
    seq = _window(length, seed=8)
    muts = _mutants(seq)
    _, fast = _fast(model, seq, muts, batch=16)
    expected = _plain(model, seq, muts)
    assert fast.shape[1] == 2
    assert_close(fast, expected)


@pytest.mark.parametrize("kernel_size", [3, 4], ids=["odd_kernel_folded", "even_kernel"])
def test_difference_path_inside_and_at_the_edges(kernel_size: int, monkeypatch) -> None:
    """Dilated residual blocks take the difference path (fast_delta) for mutants whose output
    window fits the activation and the direct path near the ends, in the same batch: every
    position of the window, in batches that mix both, equals the plain computation."""
    from grelu_cli.ism import fast_delta

    calls: list[tuple[int, int]] = []  # (mutants through the difference path, batch size)
    patch = fast_delta.DeltaResidual.patch

    def counting(self, p):
        calls.append((int(p.seg.shape[0]), int(p.start.numel())))
        return patch(self, p)

    monkeypatch.setattr(fast_delta.DeltaResidual, "patch", counting)
    model = M.DilatedConvModel(2, channels=6, n_conv=5, kernel_size=kernel_size, crop_len=4)
    model = _randomize(model, seed=kernel_size)
    length = 120
    seq = _window(length, seed=kernel_size)
    muts = [(p, b) for p in range(length) for b in range(4) if "ACGT"[b] != seq[p]]
    f = FastISM(model, chunk_size=40)
    ref = f.reference(_one_hot(seq))
    offsets = np.array([p for p, _ in muts])
    bases = np.array([b for _, b in muts])
    fast = f.mutants(offsets, bases)  # one call, passes of 40 mutants
    assert_close(fast, _plain(model, seq, muts))
    with torch.no_grad():
        assert_close(ref, model(torch.from_numpy(_one_hot(seq))[None]))
    assert calls, "the difference path was never taken"
    assert any(n < 40 for n, _ in calls), "no pass mixed fitting and edge mutants"


def test_automatic_pass_size_does_not_change_results() -> None:
    """The automatic pass size (set after the first pass from the widest window) splits a
    batch into several passes: the outputs equal one pass over the whole batch."""
    model = _randomize(M.DilatedConvModel(2, channels=64, n_conv=6), seed=4)
    seq = _window(400, seed=6)
    muts = [(p, b) for p in range(150, 250) for b in range(4) if "ACGT"[b] != seq[p]]
    offsets = np.array([p for p, _ in muts])
    bases = np.array([b for _, b in muts])
    whole = FastISM(model, chunk_size=len(muts))
    whole.reference(_one_hot(seq))
    auto = FastISM(model)
    auto.reference(_one_hot(seq))
    auto.mutants(offsets[:4], bases[:4])  # the first pass sets the pass size
    assert auto._auto_chunk is not None and auto._auto_chunk < len(muts)
    assert_close(auto.mutants(offsets, bases), whole.mutants(offsets, bases))


def test_enformer_fast_is_as_exact_as_plain() -> None:
    """Against the float64 model, fast ISM's float32 outputs are as close as the plain
    float32 forward's (the looser absolute tolerance above is rounding, not a wrong window)."""
    import copy

    factory, length = SERVED["enformer_tower"]
    model = _randomize(factory(), seed=2)
    exact_model = copy.deepcopy(model).double()
    optimize_for_inference(model)
    seq = _window(length, seed=3)
    muts = _mutants(seq)
    _, fast = _fast(model, seq, muts, batch=8)
    plain = _plain(model, seq, muts)
    windows = [_one_hot(seq[:p] + "ACGT"[b] + seq[p + 1 :]) for p, b in muts]
    with torch.no_grad():
        exact = exact_model(torch.from_numpy(np.stack(windows)).double())
    err_fast = float((fast.double() - exact).abs().amax())
    err_plain = float((plain.double() - exact).abs().amax())
    assert err_fast <= 2 * err_plain + 1e-7
    assert float((exact - exact[:1]).abs().amax()) > 1000 * err_fast  # the mutations matter
