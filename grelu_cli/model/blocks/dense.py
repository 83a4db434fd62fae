"""Blocks over the last axis: linear (+ norm, activation, dropout) and feed-forward."""

from __future__ import annotations

from torch import Tensor, nn

from grelu_cli.model.layers import Activation, Dropout, Norm


class LinearBlock(nn.Module):
    """Optional layer norm -> linear -> dropout -> activation, on the last axis."""

    def __init__(
        self,
        in_len: int,
        out_len: int,
        act_func: str | None = "relu",
        dropout: float = 0.0,
        norm: bool = False,
        norm_kwargs: dict | None = None,
        bias: bool = True,
        dtype=None,
        device=None,
    ) -> None:
        super().__init__()
        if norm:
            self.norm = Norm("layer", in_len, **(norm_kwargs or {}), dtype=dtype, device=device)
        else:
            self.norm = Norm(None)
        self.linear = nn.Linear(in_len, out_len, bias=bias, dtype=dtype, device=device)
        self.dropout = Dropout(dropout)
        self.act = Activation(act_func)

    def forward(self, x: Tensor) -> Tensor:
        """x: (..., in_len) -> (..., out_len)."""
        return self.act(self.dropout(self.linear(self.norm(x))))


class FeedForwardBlock(nn.Module):
    """Layer norm -> linear (2x wider) -> dropout -> act -> linear -> dropout, on the last axis."""

    def __init__(
        self,
        in_len: int,
        dropout: float = 0.0,
        act_func: str | None = "relu",
        norm_kwargs: dict | None = None,
        dtype=None,
        device=None,
    ) -> None:
        super().__init__()
        kw = {"dtype": dtype, "device": device, "norm_kwargs": norm_kwargs, "dropout": dropout}
        self.dense1 = LinearBlock(in_len, in_len * 2, norm=True, act_func=act_func, **kw)
        self.dense2 = LinearBlock(in_len * 2, in_len, norm=False, act_func=None, **kw)

    def forward(self, x: Tensor) -> Tensor:
        """x: (N, L, C) -> (N, L, C)."""
        return self.dense2(self.dense1(x))
