"""Heads: embeddings (N, C, L) -> predictions (N, T, L_out), T = tasks.

Each head keeps ``n_tasks`` up to date and can drop output channels in place with
``select_tasks`` (the last layer's weights are sliced, so fewer channels are computed).
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from grelu_cli.model.blocks import ChannelTransformBlock, LinearBlock
from grelu_cli.model.layers import AdaptivePool, select_linear_out


def check_task_indices(indices: Sequence[int], n_tasks: int) -> list[int]:
    """Return ``indices`` as a list of ints; ValueError when empty or out of ``[0, n_tasks)``."""
    idx = [int(i) for i in indices]
    if not idx:
        raise ValueError("select_tasks needs at least one task index")
    bad = [i for i in idx if not 0 <= i < n_tasks]
    if bad:
        raise ValueError(
            f"task indices {bad} out of range: the model has {n_tasks} tasks (0..{n_tasks - 1})"
        )
    return idx


class ConvHead(nn.Module):
    """1x1 conv to ``n_tasks`` channels (optional norm/activation), then optional pooling.

    (N, C, L) -> (N, T, L), or (N, T, 1) with ``pool_func`` 'avg' or 'max'.
    """

    def __init__(
        self,
        n_tasks: int,
        in_channels: int,
        act_func: str | None = None,
        pool_func: str | None = None,
        norm: bool = False,
        norm_kwargs: dict | None = None,
        dtype=None,
        device=None,
    ) -> None:
        super().__init__()
        self.n_tasks = n_tasks
        self.in_channels = in_channels
        self.act_func = act_func
        self.pool_func = pool_func
        self.norm = norm
        self.channel_transform = ChannelTransformBlock(
            in_channels,
            n_tasks,
            act_func=act_func,
            norm=norm,
            norm_kwargs=norm_kwargs or {},
            dtype=dtype,
            device=device,
        )
        self.pool = AdaptivePool(pool_func)

    def forward(self, x: Tensor) -> Tensor:
        return self.pool(self.channel_transform(x))

    def select_tasks(self, indices: Sequence[int]) -> None:
        """Keep output channels ``indices`` in that order (slices the conv and its norm)."""
        idx = check_task_indices(indices, self.n_tasks)
        block = self.channel_transform
        block.conv.select_out(idx)
        # The norm sits after the conv (order "CDNA"), so it is per task too.
        if block.order.index("N") > block.order.index("C"):
            block.norm.select_channels(idx)
        self.n_tasks = len(idx)


class MLPHead(nn.Module):
    """Flatten channels x length, then linear blocks: (N, C, L) -> (N, T, 1).

    ``in_len`` is the embedding length L the head was built for; other lengths fail.
    """

    def __init__(
        self,
        n_tasks: int,
        in_channels: int,
        in_len: int,
        act_func: str | None = None,
        hidden_size: Sequence[int] = [],  # gReLU's default; never mutated
        norm: bool = False,
        dropout: float = 0.0,
        dtype=None,
        device=None,
    ) -> None:
        super().__init__()
        self.n_tasks = n_tasks
        self.in_channels = in_channels
        self.in_len = in_len
        self.act_func = act_func
        self.hidden_size = list(hidden_size)
        self.norm = norm
        self.dropout = dropout
        kw = {"norm": norm, "dropout": dropout, "dtype": dtype, "device": device}
        self.blocks = nn.ModuleList()
        width = in_len * in_channels
        for h in self.hidden_size:
            self.blocks.append(LinearBlock(width, h, act_func=act_func, **kw))
            width = h
        self.blocks.append(LinearBlock(width, n_tasks, act_func=None, **kw))

    def forward(self, x: Tensor) -> Tensor:
        # Channel-major flattening, as gReLU's "b t l -> b 1 (t l)".
        x = x.reshape(x.shape[0], 1, -1)
        for block in self.blocks:
            x = block(x)
        return x.transpose(1, 2)

    def select_tasks(self, indices: Sequence[int]) -> None:
        """Keep outputs ``indices`` in that order (slices the last linear layer)."""
        idx = check_task_indices(indices, self.n_tasks)
        last = self.blocks[-1]
        if not isinstance(last, LinearBlock):  # the constructor appends only LinearBlocks
            raise TypeError(f"cannot select tasks of {type(last).__name__}")
        select_linear_out(last.linear, idx)
        self.n_tasks = len(idx)
