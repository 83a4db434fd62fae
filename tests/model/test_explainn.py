"""ExplaiNN follows the paper: independent single-filter units summed by a final linear layer."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from grelu_cli.model.models import ExplaiNNModel
from tests.model.small import one_hot

N_TASKS, IN_LEN, UNITS, KERNEL = 3, 60, 4, 9
POOLED = (IN_LEN - KERNEL + 1) // 7


@pytest.fixture
def model() -> ExplaiNNModel:
    torch.manual_seed(0)
    m = ExplaiNNModel(N_TASKS, IN_LEN, channels=UNITS, kernel_size=KERNEL)
    with torch.no_grad():
        for key, buf in m.named_buffers():
            if key.endswith("running_var"):
                buf.uniform_(0.5, 2.0)
            elif key.endswith("running_mean"):
                buf.normal_(0, 0.3)
    return m.eval()


def test_layout_and_shapes(model: ExplaiNNModel) -> None:
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert shapes["embedding.blocks.0.conv.weight"] == (UNITS, 4, KERNEL)
    assert shapes["embedding.blocks.0.norm.layer.weight"] == (UNITS,)
    assert shapes["embedding.blocks.1.conv.weight"] == (100 * UNITS, POOLED, 1)
    assert shapes["embedding.blocks.2.conv.weight"] == (UNITS, 100, 1)
    assert shapes["head.channel_transform.conv.layer.weight"] == (N_TASKS, UNITS, 1)
    with torch.no_grad():
        assert model(one_hot(5, IN_LEN)).shape == (5, N_TASKS, 1)
    default = ExplaiNNModel(2, 200, device="meta")  # channels=300, kernel_size=19
    assert default.state_dict()["embedding.blocks.0.conv.weight"].shape == (300, 4, 19)


def _unit(model: ExplaiNNModel, x: torch.Tensor, u: int) -> torch.Tensor:
    """Unit u on its own, written out as in the paper: (N, 4, L) -> (N,)."""
    b0, b1, b2 = model.embedding.blocks

    def bn(layer, h, rows):
        n = layer.norm.layer
        return F.batch_norm(
            h,
            n.running_mean[rows],
            n.running_var[rows],
            n.weight[rows],
            n.bias[rows],
            eps=n.eps,
        )

    h = F.conv1d(x, b0.conv.weight[u : u + 1], b0.conv.bias[u : u + 1])
    h = F.max_pool1d(torch.exp(bn(b0, h, slice(u, u + 1))), 7, 7).flatten(1)  # (N, P)
    rows = slice(100 * u, 100 * (u + 1))
    h = F.linear(h, b1.conv.weight[rows, :, 0], b1.conv.bias[rows])
    h = torch.relu(bn(b1, h, rows))
    h = F.linear(h, b2.conv.weight[u : u + 1, :, 0], b2.conv.bias[u : u + 1])
    return torch.relu(bn(b2, h, slice(u, u + 1)))[:, 0]


def test_units_compute_the_paper_formula_and_sum_linearly(model: ExplaiNNModel) -> None:
    x = one_hot(4, IN_LEN, seed=5)
    with torch.no_grad():
        units = model.embedding(x)[:, :, 0]  # (N, UNITS)
        for u in range(UNITS):
            torch.testing.assert_close(units[:, u], _unit(model, x, u))
        final = model.head.channel_transform.conv.layer
        expected = units @ final.weight[:, :, 0].T + final.bias
        torch.testing.assert_close(model(x)[:, :, 0], expected)


def test_units_are_independent(model: ExplaiNNModel) -> None:
    x = one_hot(4, IN_LEN, seed=6)
    with torch.no_grad():
        model.embedding.blocks[2].norm.layer.bias.fill_(5.0)  # keep every unit's ReLU open
        before = model.embedding(x)[:, :, 0]
        model.embedding.blocks[0].conv.weight[2].add_(0.5)
        model.embedding.blocks[1].conv.weight[200:300].mul_(-1)
        after = model.embedding(x)[:, :, 0]
    changed = (after - before).abs().amax(dim=0) > 0
    assert changed.tolist() == [False, False, True, False]


def test_fixed_length_and_geometry(model: ExplaiNNModel) -> None:
    geometry = model.geometry()
    assert (geometry.fixed_len, geometry.pooled, geometry.receptive_field) == (IN_LEN, True, 60)
    with pytest.raises(ValueError, match="61"):
        model(one_hot(1, IN_LEN + 1))
    with pytest.raises(ValueError, match="too short"):
        ExplaiNNModel(1, 20, channels=2, kernel_size=19)


def test_select_tasks(model: ExplaiNNModel) -> None:
    x = one_hot(2, IN_LEN)
    with torch.no_grad():
        full = model(x)
        model.select_tasks([2, 0])
        torch.testing.assert_close(model(x), full[:, [2, 0]])
