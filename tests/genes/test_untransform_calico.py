"""``--untransform-mode calico`` against a literal transcription of ``untransform_preds1``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from grelu_cli.errors import UsageError
from grelu_cli.predict.transform import UNTRANSFORM_MODES, untransform_for
from tests.genes import calico_reference as ref

TABLE = pd.DataFrame(
    {
        "name": ["RNA:a+", "RNA:a-", "CAGE:b+", "CAGE:b-", "DNASE:c", "ATAC:d"],
        "scale": [0.3, 0.3, 1.0, 1.0, 0.5, 0.01],
        "clip_soft": [384.0, 384.0, 320.0, 320.0, 32.0, 32.0],
        "sum_stat": ["sum_sqrt", "sum_sqrt", "sum", "sum", "sum_sqrt", "mean"],
        "strand_pair": [1, 0, 3, 2, 4, 5],
    }
)


def _preds(seed: int) -> np.ndarray:
    """(L, T) float32 squashed predictions spanning each track's soft-clip threshold."""
    rng = np.random.default_rng(seed)
    p = rng.uniform(0, 2.5, size=(200, len(TABLE))) * TABLE["clip_soft"].to_numpy()
    p *= TABLE["scale"].to_numpy()
    p[:3] = np.array([0.0, 1e-3, 1.0])[:, None]  # exact small values
    return p.astype(np.float32)


@pytest.mark.parametrize("seed", [0, 1])
def test_calico_mode_equals_untransform_preds1(seed: int) -> None:
    preds = _preds(seed)
    want = ref.untransform_preds1(preds.copy(), TABLE)
    un = untransform_for(TABLE, range(len(TABLE)), mode="calico")
    got = un(torch.from_numpy(preds.T.copy())[None])[0].numpy().T  # (1, T, L) -> (L, T)
    np.testing.assert_allclose(got, want, rtol=3e-6, atol=1e-6)


def test_calico_mode_is_the_default_mode_times_scale() -> None:
    y = torch.from_numpy(_preds(2).T.copy())[None]
    cols = [1, 4, 5]
    grelu = untransform_for(TABLE, cols)(y[:, cols])
    calico = untransform_for(TABLE, cols, mode="calico")(y[:, cols])
    scale = torch.tensor(TABLE["scale"].to_numpy()[cols], dtype=torch.float32)[None, :, None]
    torch.testing.assert_close(calico, grelu * scale, rtol=1e-6, atol=1e-6)
    assert untransform_for(TABLE, cols).rescale is False  # the default stays gReLU's


def test_unknown_mode_is_a_usage_error() -> None:
    assert UNTRANSFORM_MODES == ("grelu", "calico")
    with pytest.raises(UsageError, match="untransform-mode 'basenji'"):
        untransform_for(TABLE, [0], mode="basenji")
