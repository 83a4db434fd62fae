"""Every architecture: batch-size invariance, bf16, dtype/device plumbing, select_tasks."""

from __future__ import annotations

import pytest
import torch

from grelu_cli.model import architectures
from grelu_cli.model import models as M
from grelu_cli.model.blocks import ConvBlock
from grelu_cli.model.blocks.transformer import TransformerBlock
from grelu_cli.model.layers import Activation, Pool
from tests.model.small import SMALL, build, one_hot

NAMES = sorted(SMALL)


@pytest.mark.parametrize("name", NAMES)
def test_batch_size_1_and_8_agree(name: str) -> None:
    model = build(name)
    length = SMALL[name][1][-1]
    x = one_hot(8, length, seed=1)
    with torch.no_grad():
        full = model(x)
        single = torch.cat([model(x[i : i + 1]) for i in range(8)])
    assert full.shape == single.shape
    # Same values up to float32 rounding: CPU kernels pick their blocking by batch size.
    torch.testing.assert_close(single, full, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_bfloat16_builds_and_runs(name: str) -> None:
    model = build(name, dtype=torch.bfloat16)
    assert {p.dtype for p in model.parameters()} == {torch.bfloat16}
    length = SMALL[name][1][-1]
    with torch.no_grad():
        out = model(one_hot(2, length).bfloat16())
        ref = build(name)(one_hot(2, length))
    assert out.dtype == torch.bfloat16
    assert out.shape == ref.shape
    assert torch.isfinite(out.float()).all()


@pytest.mark.parametrize("name", NAMES)
def test_device_argument_reaches_every_tensor(name: str) -> None:
    model = SMALL[name][0](device="meta")
    assert all(t.is_meta for t in model.state_dict().values())


@pytest.mark.parametrize("name", NAMES)
def test_select_tasks_equals_indexing(name: str) -> None:
    model = build(name)
    length = SMALL[name][1][-1]
    x = one_hot(3, length, seed=2)
    with torch.no_grad():
        full = model(x)
    n_tasks = full.shape[1]
    indices = [n_tasks - 1, 0]
    model.select_tasks(indices)
    assert model.n_tasks == 2
    with torch.no_grad():
        sub = model(x)
    torch.testing.assert_close(sub, full[:, indices], rtol=1e-6, atol=1e-7)
    # Selecting again indexes into the current tasks.
    model.select_tasks([1])
    with torch.no_grad():
        torch.testing.assert_close(model(x), full[:, [0]], rtol=1e-6, atol=1e-7)


def test_select_tasks_slices_the_last_layer() -> None:
    model = build("borzoi")
    model.select_tasks([2])
    conv = model.head.channel_transform.conv.layer
    assert tuple(conv.weight.shape) == (1, 80, 1)
    assert tuple(conv.bias.shape) == (1,)
    mlp = build("mlp")
    mlp.select_tasks([1])
    assert mlp.head.blocks[-1].linear.weight.shape == (1, 8)


def test_select_tasks_with_identity_channel_transform() -> None:
    """ConvHead has no conv when n_tasks equals the embedding width (gReLU: nn.Identity)."""
    model = M.ConvModel(8, stem_channels=8, channel_init=8, final_pool_func=None).eval()
    assert "head.channel_transform.conv.layer.weight" not in model.state_dict()
    x = one_hot(2, 30)
    with torch.no_grad():
        full = model(x)
    keys = set(model.state_dict())
    model.select_tasks([5, 1, 1])
    assert set(model.state_dict()) == keys
    with torch.no_grad():
        torch.testing.assert_close(model(x), full[:, [5, 1, 1]])


@pytest.mark.parametrize("indices", [[3], [0, -1], [], [0, 7]])
def test_select_tasks_rejects_bad_indices(indices: list[int]) -> None:
    model = build("conv")  # 3 tasks
    with pytest.raises(ValueError, match=r"task|at least one"):
        model.select_tasks(indices)
    assert model.n_tasks == 3


def test_unknown_names_raise_value_error() -> None:
    with pytest.raises(ValueError, match="activation"):
        Activation("swish")
    with pytest.raises(ValueError, match="pooling"):
        Pool("median", 2)
    with pytest.raises(ValueError, match="order"):
        ConvBlock(4, 4, 3, order="CDNA")


def test_missing_sizes_raise_value_error_at_construction() -> None:
    """A pooling without its size, or relative-position attention without its sizes, used to
    build and fail only in the forward (``n % None``) or deep inside torch."""
    for func in ("avg", "max", "attn"):
        with pytest.raises(ValueError, match=f"{func} pooling needs pool_size"):
            Pool(func, in_channels=4)
    with pytest.raises(ValueError, match="needs n_pos_features, key_len, value_len"):
        TransformerBlock(in_len=8, n_heads=2, attn_dropout=0.0, ff_dropout=0.0, flash_attn=False)


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_round_trip_is_strict(name: str) -> None:
    """A fresh model loads another's state dict strictly and then computes the same outputs."""
    a, b = build(name), SMALL[name][0]().eval()
    length = SMALL[name][1][-1]
    x = one_hot(2, length, seed=4)
    with torch.no_grad():
        assert not torch.equal(a(x), b(x))  # different random weights before loading
        b.load_state_dict(a.state_dict(), strict=True)
        torch.testing.assert_close(b(x), a(x), rtol=0, atol=0)
    assert list(b.state_dict()) == list(a.state_dict())


@pytest.mark.parametrize("arch", architectures.ARCHITECTURES, ids=lambda a: a.name)
def test_every_registered_architecture_has_a_test_configuration(arch) -> None:
    """The model tests run over tiny configurations; a new architecture needs one (or, for the
    published fixed-size classes, a check in test_published.py)."""
    assert hasattr(M, arch.name), f"{arch.name} is registered but not in model.models"
    tiny = {type(SMALL[n][0](device="meta")).__name__ for n in NAMES}
    if arch.published:
        from tests.model import test_published

        assert arch.name in test_published.PUBLISHED, arch.name
    else:
        assert arch.name in tiny, f"add a tiny {arch.name} to tests/model/small.py"


def test_select_tasks_slices_a_head_norm() -> None:
    from grelu_cli.model.heads import ConvHead

    torch.manual_seed(0)
    head = ConvHead(4, 6, act_func="softplus", pool_func="max", norm=True).eval()
    with torch.no_grad():
        head.channel_transform.norm.layer.running_mean.normal_()
        x = torch.randn(2, 6, 9)
        full = head(x)
        head.select_tasks([3, 1])
        torch.testing.assert_close(head(x), full[:, [3, 1]])
    assert head.channel_transform.norm.layer.running_mean.shape == (2,)
