"""Recurrent block: a bidirectional GRU over (N, C, L)."""

from __future__ import annotations

from torch import Tensor, nn

from grelu_cli.model.blocks.dense import FeedForwardBlock


class GRUBlock(nn.Module):
    """Bidirectional GRU (directions summed) then a feed-forward block: (N, C, L) -> (N, C, L).

    ``norm`` is accepted and ignored, as in gReLU (the feed-forward block always has its
    layer norm).
    """

    def __init__(
        self,
        in_channels: int,
        n_layers: int = 1,
        dropout: float = 0.0,
        act_func: str | None = "relu",
        norm: bool = False,
        dtype=None,
        device=None,
    ) -> None:
        super().__init__()
        self.gru = nn.GRU(
            input_size=in_channels,
            hidden_size=in_channels,
            dropout=dropout,
            bidirectional=True,
            batch_first=True,
            num_layers=n_layers,
            dtype=dtype,
            device=device,
        )
        self.ffn = FeedForwardBlock(
            in_len=in_channels, dropout=dropout, act_func=act_func, dtype=dtype, device=device
        )

    def forward(self, x: Tensor) -> Tensor:
        x = self.gru(x.transpose(1, 2))[0]
        hidden = self.gru.hidden_size
        x = x[:, :, :hidden] + x[:, :, hidden:]
        return self.ffn(x).transpose(1, 2)
