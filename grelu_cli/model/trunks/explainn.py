"""ExplaiNN trunk (Novakovsky et al., Genome Biology 2023): independent single-filter CNN units.

Each of ``channels`` units sees the one-hot sequence through its own filter and its own small
fully-connected network; units never mix, so each unit's output is one interpretable number
(the final linear layer, a :class:`~grelu_cli.model.heads.ConvHead`, sums them per task).
Grouped convolutions run all units at once:

    (N, 4, L) -> repeat x channels -> (N, 4*channels, L)
    unit conv (kernel_size, valid, groups=channels) -> batch norm -> exp -> max pool 7/7
        -> (N, channels, P), P = (L - kernel_size + 1) // 7; flatten -> (N, channels*P, 1)
    1x1 grouped conv -> (N, 100*channels, 1) -> batch norm -> relu -> dropout 0.3
    1x1 grouped conv -> (N, channels, 1) -> batch norm -> relu

gReLU 1.1.0 ships an ExplaiNN trunk that cannot be constructed; this follows the paper and
its reference implementation, with gReLU's block naming (``blocks.i.conv``, ``blocks.i.norm``).
"""

from __future__ import annotations

from torch import Tensor, nn

from grelu_cli.core.geometry import Geometry
from grelu_cli.model.layers import Activation, Dropout, Norm

POOL = 7  # max-pool width and stride of the paper


class ExplaiNNConvBlock(nn.Module):
    """Grouped conv -> batch norm -> activation -> dropout -> optional max pool + flatten.

    With ``pool`` the output is flattened to (N, C*P, 1) so the next 1x1 grouped conv sees
    each unit's P pooled positions as its input channels.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        groups: int,
        act_func: str,
        dropout: float,
        pool: bool = False,
        dtype=None,
        device=None,
    ) -> None:
        super().__init__()
        kw = {"dtype": dtype, "device": device}
        self.conv = nn.Conv1d(in_channels, out_channels, kernel_size, groups=groups, **kw)
        self.norm = Norm("batch", out_channels, eps=1e-05, momentum=0.1, affine=True, **kw)
        self.act = Activation(act_func)
        self.dropout = Dropout(dropout)
        self.pool = nn.MaxPool1d(POOL, POOL) if pool else None

    def forward(self, x: Tensor) -> Tensor:
        x = self.dropout(self.act(self.norm(self.conv(x))))
        if self.pool is not None:
            x = self.pool(x).reshape(x.shape[0], -1, 1)
        return x


class ExplaiNNTrunk(nn.Module):
    """ExplaiNN units (see module docstring): (N, 4, in_len) -> (N, channels, 1).

    Args:
        in_len: input length (fixed: the first fully-connected layer depends on it).
        channels: number of independent units.
        kernel_size: width of each unit's filter.
    """

    def __init__(
        self, in_len: int, channels: int = 300, kernel_size: int = 19, dtype=None, device=None
    ) -> None:
        super().__init__()
        pooled_len = (in_len - kernel_size + 1) // POOL
        if pooled_len < 1:
            raise ValueError(
                f"ExplaiNN in_len {in_len} is too short for kernel_size {kernel_size} and "
                f"max pooling of {POOL}; need in_len >= {kernel_size + POOL - 1}"
            )
        self.in_len = in_len
        self.channels = channels
        self.kernel_size = kernel_size
        kw = {"groups": channels, "dtype": dtype, "device": device}
        self.blocks = nn.ModuleList(
            [
                ExplaiNNConvBlock(
                    4 * channels,
                    channels,
                    kernel_size,
                    act_func="exp",
                    dropout=0.0,
                    pool=True,
                    **kw,
                ),
                ExplaiNNConvBlock(
                    pooled_len * channels, 100 * channels, 1, act_func="relu", dropout=0.3, **kw
                ),
                ExplaiNNConvBlock(100 * channels, channels, 1, act_func="relu", dropout=0.0, **kw),
            ]
        )

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-1] != self.in_len:
            raise ValueError(f"ExplaiNN was built for {self.in_len} bp inputs, got {x.shape[-1]}")
        # Unit u reads channels 4u..4u+3: the whole one-hot sequence, once per unit.
        x = x.repeat(1, self.channels, 1)
        for block in self.blocks:
            x = block(x)
        return x

    def trunk_geometry(self) -> Geometry:
        return Geometry(
            bin_size=1,
            fixed_len=self.in_len,
            receptive_field=self.in_len,
            default_len=self.in_len,
            global_context=True,
        )
