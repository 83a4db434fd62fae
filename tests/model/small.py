"""Tiny configurations of every architecture, shared by the model tests.

Each entry: a factory taking ``dtype``/``device`` keywords, and input lengths it accepts.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from grelu_cli.model import models as M

Factory = Callable[..., nn.Module]

SMALL: dict[str, tuple[Factory, list[int]]] = {
    "conv": (
        lambda **kw: M.ConvModel(
            3, stem_channels=8, channel_init=8, n_conv=3, final_pool_func=None, **kw
        ),
        [20, 37, 64],
    ),
    "conv_pool_crop": (
        lambda **kw: M.ConvModel(
            3,
            stem_channels=8,
            channel_init=8,
            n_conv=3,
            norm=True,
            residual=True,
            pool_func="avg",
            pool_size=2,
            dilation_init=2,
            crop_len=2,
            final_pool_func=None,
            **kw,
        ),
        [24, 41, 64],
    ),
    "conv_attnpool": (
        lambda **kw: M.ConvModel(
            2,
            stem_channels=8,
            channel_init=8,
            n_conv=3,
            pool_func="attn",
            pool_size=2,
            final_pool_func=None,
            **kw,
        ),
        [16, 40, 64],
    ),
    "conv_avg": (
        lambda **kw: M.ConvModel(2, stem_channels=8, channel_init=8, **kw),
        [10, 33],
    ),
    "dilated": (
        lambda **kw: M.DilatedConvModel(2, channels=8, n_conv=4, final_pool_func=None, **kw),
        [60, 77],
    ),
    "gru": (
        lambda **kw: M.ConvGRUModel(
            2,
            stem_channels=8,
            channel_init=8,
            pool_func="max",
            pool_size=2,
            crop_len=1,
            final_pool_func=None,
            **kw,
        ),
        [16, 33],
    ),
    "transformer": (
        lambda **kw: M.ConvTransformerModel(
            3, stem_channels=8, channel_init=8, n_heads=2, final_pool_func=None, **kw
        ),
        [12, 30],
    ),
    "mlp": (
        lambda **kw: M.ConvMLPModel(
            40, 2, stem_channels=8, channel_init=8, pool_func="max", pool_size=2, **kw
        ),
        [40],
    ),
    "explainn": (lambda **kw: M.ExplaiNNModel(3, 60, channels=4, **kw), [60]),
    "borzoi": (
        lambda **kw: M.BorzoiModel(
            3,
            stem_channels=16,
            init_channels=32,
            channels=64,
            n_conv=4,
            n_transformers=1,
            n_heads=2,
            key_len=8,
            value_len=8,
            n_pos_features=8,
            crop_len=1,
            final_pool_func=None,
            **kw,
        ),
        [128, 256],
    ),
    "borzoi_flash": (
        lambda **kw: M.BorzoiModel(
            3,
            stem_channels=16,
            init_channels=32,
            channels=64,
            n_conv=4,
            n_transformers=1,
            n_heads=2,
            crop_len=1,
            final_pool_func=None,
            flash_attn=True,
            **kw,
        ),
        [128, 256],
    ),
    "enformer": (
        lambda **kw: M.EnformerModel(
            3,
            n_conv=3,
            channels=384,
            n_transformers=1,
            n_heads=2,
            key_len=8,
            final_pool_func=None,
            crop_len=1,
            **kw,
        ),
        [64, 128],
    ),
}


def one_hot(n: int, length: int, seed: int = 0) -> torch.Tensor:
    """Random one-hot DNA: (n, 4, length) float32."""
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(0, 4, (n, length), generator=g)
    return nn.functional.one_hot(idx, 4).float().transpose(1, 2).contiguous()


def build(name: str, **kw) -> nn.Module:
    """Seeded eval-mode model with randomized norm statistics (so norms are not identities)."""
    torch.manual_seed(0)
    model = SMALL[name][0](**kw)
    with torch.no_grad():
        for param in model.parameters():
            # Enformer's attention output starts at zero; make attention visible.
            if param.dim() > 1 and not param.any():
                param.normal_(0, 0.1)
        for key, buf in model.named_buffers():
            if key.endswith("running_var"):
                buf.uniform_(0.5, 2.0)
            elif key.endswith("running_mean"):
                buf.normal_(0, 0.3)
    return model.eval()
