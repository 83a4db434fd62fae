"""ExplaiNN: independent single-filter CNN units summed by a linear head."""

from __future__ import annotations

from dataclasses import replace

from grelu_cli.core.geometry import Geometry
from grelu_cli.model.heads import ConvHead
from grelu_cli.model.models.base import BaseModel
from grelu_cli.model.trunks.explainn import ExplaiNNTrunk


class ExplaiNNModel(BaseModel):
    """ExplaiNN (Novakovsky et al., Genome Biology 2023): ``channels`` independent CNN units,
    each one filter of width ``kernel_size`` -> batch norm -> exp -> max pool 7 -> its own
    fully-connected layers (100 hidden, then 1), summed per task by a final linear layer.

    gReLU 1.1.0's ExplaiNNModel cannot be constructed (its trunk never calls
    ``super().__init__`` and its first layer's sizes are swapped), so there are no gReLU
    checkpoints to be compatible with. This implementation follows the paper and its reference
    code, keeps gReLU's signature and module names (``embedding.blocks.{0,1,2}.{conv,norm}``,
    ``head.channel_transform.conv.layer`` as the final linear layer), and uses the exact
    pooled length ``(in_len - kernel_size + 1) // 7``. Input length is fixed to ``in_len``;
    the output is one position: (N, 4, in_len) -> (N, n_tasks, 1).
    """

    def __init__(
        self,
        n_tasks: int,
        in_len: int,
        channels=300,
        kernel_size=19,
        dtype=None,
        device=None,
    ) -> None:
        embedding = ExplaiNNTrunk(
            in_len=in_len, channels=channels, kernel_size=kernel_size, dtype=dtype, device=device
        )
        head = ConvHead(n_tasks=n_tasks, in_channels=channels, dtype=dtype, device=device)
        super().__init__(embedding=embedding, head=head)

    def geometry(self) -> Geometry:
        return replace(super().geometry(), pooled=True)
