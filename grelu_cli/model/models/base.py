"""The model base class: trunk + head, geometry, task selection."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import replace

from torch import Tensor, nn

from grelu_cli.core.geometry import Geometry
from grelu_cli.model.heads import ConvHead, MLPHead


class BaseModel(nn.Module):
    """An ``embedding`` (trunk) followed by a ``head``; the head must have ``n_tasks``."""

    def __init__(self, embedding: nn.Module, head: nn.Module) -> None:
        super().__init__()
        if not hasattr(head, "n_tasks"):
            raise ValueError(f"head {type(head).__name__} has no attribute n_tasks")
        self.embedding = embedding
        self.head = head

    def forward(self, x: Tensor) -> Tensor:
        """x: (N, 4, L) one-hot -> (N, T, L_out)."""
        return self.head(self.embedding(x))

    @property
    def n_tasks(self) -> int:
        """Number of output channels (after any :meth:`select_tasks`)."""
        n_tasks = self.head.n_tasks  # typed Tensor | Module by Module.__getattr__
        if not isinstance(n_tasks, numbers.Integral):  # an int (or a numpy int) in every head
            raise TypeError(f"head {type(self.head).__name__} has n_tasks {n_tasks!r}")
        return int(n_tasks)

    def geometry(self) -> Geometry:
        """Input-length rules and output-bin map, from the architecture alone (no forward)."""
        trunk_geometry = getattr(self.embedding, "trunk_geometry", None)
        if trunk_geometry is None:
            raise TypeError(
                f"{type(self.embedding).__name__} does not report its geometry "
                "(it needs a trunk_geometry() method)"
            )
        geometry = trunk_geometry()
        pools = isinstance(self.head, MLPHead) or getattr(self.head, "pool_func", None)
        if pools:
            geometry = replace(geometry, pooled=True, global_context=True)
        return geometry

    def select_tasks(self, indices: Sequence[int]) -> None:
        """Keep only output channels ``indices``, in that order, by slicing the head's last layer.

        Afterwards ``model(x)`` equals the full model's ``model(x)[:, indices]`` and computes
        only those channels. Raises ValueError for an empty list or an index out of range.
        """
        select = getattr(self.head, "select_tasks", None)
        if select is None:
            raise TypeError(f"head {type(self.head).__name__} cannot select tasks")
        select(indices)


def _conv_head(n_tasks: int, in_channels: int, pool: str | None, dtype, device) -> ConvHead:
    return ConvHead(
        n_tasks,
        in_channels,
        pool_func=pool,
        act_func=None,
        norm=False,
        dtype=dtype,
        device=device,
    )


# Published input lengths of the pretrained architectures.
BORZOI_SEQ_LEN = 524_288


ENFORMER_SEQ_LEN = 196_608
