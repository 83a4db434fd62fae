"""Plain ISM: the reference is predicted once per window, mutants go in full batches, and the
targets equal the model called on each re-encoded mutated window (any architecture: here a
transformer model that fast ISM refuses)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from grelu_cli.ism.mutants import mutant_list
from grelu_cli.ism.plain import PlainISM, ism_targets
from grelu_cli.model import models as M

SEQ = "ACGTTGCANNGATCCAGTACGGTA"


def _one_hot(seq: str) -> np.ndarray:
    out = np.zeros((4, len(seq)), dtype=np.float32)
    for i, c in enumerate(seq):
        if c in "ACGT":
            out["ACGT".index(c), i] = 1.0
    return out


class Counting(torch.nn.Module):
    """Wraps a model and records the batch sizes it is called with."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model
        self.sizes: list[int] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.sizes.append(int(x.shape[0]))
        return self.model(x)


@pytest.mark.parametrize("batch_size", [1, 8, 64])
def test_plain_targets_equal_the_model_on_each_mutant(batch_size: int) -> None:
    torch.manual_seed(0)
    model = M.ConvTransformerModel(2, stem_channels=8, channel_init=8, final_pool_func=None)
    counting = Counting(model.eval())
    x = _one_hot(SEQ)
    muts = mutant_list(x, np.arange(3, 12))

    def target(y: torch.Tensor) -> torch.Tensor:
        return y.sum(dim=-1)

    ref, out = ism_targets(PlainISM(counting), x, muts, target, batch_size=batch_size)
    n = len(muts)
    assert n == 3 * 7 + 4 * 2
    # One reference call, then full batches (the last may be short).
    assert counting.sizes[0] == 1
    assert counting.sizes[1:-1] == [batch_size] * (len(counting.sizes) - 2)
    assert sum(counting.sizes[1:]) == n
    with torch.no_grad():
        want_ref = target(model(torch.from_numpy(x)[None]))[0].numpy()
        for i in range(n):
            p, b = int(muts.offset[i]), "ACGT"[muts.base[i]]
            one = torch.from_numpy(_one_hot(SEQ[:p] + b + SEQ[p + 1 :]))[None]
            np.testing.assert_allclose(out[i], target(model(one))[0].numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ref, want_ref, rtol=1e-5, atol=1e-6)
    assert np.abs(out - ref).max() > 1e-4


def test_mutants_before_reference_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="reference"):
        PlainISM(torch.nn.Identity()).mutants(np.array([0]), np.array([1]))
