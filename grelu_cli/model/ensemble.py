"""A replicate ensemble: R models of one architecture whose outputs are averaged.

Published models come as several replicates (Borzoi: 4 per species) trained alike on
different folds; Calico averages them. :class:`ReplicateEnsemble` holds the R members and
runs them **one after another** on the same input, adding each output into one accumulator,
so a forward pass needs the R models' weights plus one member's activations (never R
activations at once).

``select(r)`` restricts every later call to member ``r`` alone (``select(None)``: the mean
again); ``grelu variants`` uses it to score each replicate on its own and average the
scores, not the predictions. :meth:`ReplicateEnsemble.combine` is the one averaging loop:
``forward`` combines the members' raw outputs, and the predictor combines its own per-member
step (trunk under autocast, head in fp32, activation) through it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from torch import Tensor, nn

from grelu_cli.core.geometry import Geometry


class ReplicateEnsemble(nn.Module):
    """The mean of ``members`` (same architecture, same tasks): x (N, 4, L) -> (N, T, L_out).

    Args:
        members: the R >= 2 models, in replicate order.
        replicates: their replicate numbers (the zoo's; for messages and provenance).
    """

    def __init__(self, members: Sequence[nn.Module], replicates: Sequence[int]) -> None:
        super().__init__()
        if len(members) < 2 or len(members) != len(replicates):
            raise ValueError("an ensemble needs two or more members, one per replicate number")
        self.members = nn.ModuleList(members)
        self.replicates = tuple(int(r) for r in replicates)
        self.selected: int | None = None

    def select(self, index: int | None) -> None:
        """Run only member ``index`` (0-based position, not the replicate number) from now on;
        None: the mean of all members."""
        if index is not None and not 0 <= index < len(self.members):
            raise IndexError(f"ensemble member {index} of {len(self.members)}")
        self.selected = index

    @property
    def active(self) -> tuple[int, ...]:
        """The members the next call runs (positions)."""
        if self.selected is not None:
            return (self.selected,)
        return tuple(range(len(self.members)))

    def combine(self, x: Tensor, member_output: Callable[[int, Tensor], Tensor]) -> Tensor:
        """Mean over the active members ``i`` of ``member_output(i, x)``, (N, T, L_out).

        The members run one after another; each output is added into one float32
        accumulator (the first output is copied, so a callee's buffer is never written).
        """
        active = self.active
        acc: Tensor | None = None
        for i in active:
            y = member_output(i, x)
            if acc is None:
                acc = y.float().clone() if len(active) > 1 else y
            else:
                acc.add_(y)
            del y  # free this member's output before the next member runs
        assert acc is not None
        if len(active) > 1:
            acc.div_(len(active))
        return acc

    def forward(self, x: Tensor) -> Tensor:
        """x: (N, 4, L) -> (N, T, L_out), the mean of the active members' raw outputs."""
        return self.combine(x, lambda i, inp: self.members[i](inp))

    # -- what the predictor asks a model ----------------------------------------------------
    @property
    def n_tasks(self) -> int:
        """Output channels (every member has the same)."""
        n_tasks: Any = self.members[0].n_tasks
        return int(n_tasks)

    def geometry(self) -> Geometry:
        """The members' geometry (one architecture)."""
        member: Any = self.members[0]
        geometry: Geometry = member.geometry()
        return geometry

    def select_tasks(self, indices: Sequence[int]) -> None:
        """Keep only output channels ``indices`` in every member."""
        for member in self.members:
            select: Any = member.select_tasks
            select(indices)
