"""The attributed target as one hookable module: ``x (N, 4, L) -> (N, G)``.

:class:`TargetModel` runs the model, applies its output activation (as a module, so that
DeepLIFT can attach its rule to it), keeps the selected tasks, reduces the kept bins by
``--aggregate`` (predict's own :func:`~grelu_cli.predict.transform.reduce_bins`), then gives
either one column, the mean over the selected tasks (``G = 1``, what gReLU's
``Aggregate(task_aggfunc="mean")`` gives), or one column per task (``--per-task``, ``G = T``).
The softmax activation normalises over all of the model's tasks before any is selected, as
predict does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from grelu_cli.errors import UsageError
from grelu_cli.model.layers import Exp

if TYPE_CHECKING:
    from grelu_cli.genome.bins import BinLayout


def activation_module(name: str) -> nn.Module:
    """gReLU's output activation ``name`` (``exp``, ``sigmoid``, ``softmax``, ``none``)."""
    if name == "exp":
        return Exp()
    if name == "sigmoid":
        return nn.Sigmoid()
    if name == "softmax":
        return nn.Softmax(dim=1)
    return nn.Identity()


class TargetModel(nn.Module):
    """``x: (N, 4, L) -> (N, G)`` targets of ``model`` (see the module docstring).

    Args:
        model: ``(N, 4, L) -> (N, T_all, L_out)`` raw outputs.
        activation: the output activation's name (``none`` for ``--logits``).
        layout: the kept bins and ``--aggregate``; one bin must remain.
        task_index: the selected tasks' indices into the model's tasks.
        per_task: one column per selected task instead of their mean.
    """

    def __init__(
        self,
        model: nn.Module,
        activation: str,
        layout: BinLayout,
        task_index: Sequence[int],
        per_task: bool = False,
    ) -> None:
        super().__init__()
        if layout.aggregate is None and layout.n_keep != 1:
            raise UsageError(
                f"attribution needs one target per task, but {layout.n_keep} bins are kept "
                "and no aggregate is set",
                fix="use --aggregate mean|sum|max|min or --bins 1",
            )
        self.model = model
        self.activation = activation_module(activation)
        self.layout = layout
        self.task_index: Tensor
        self.register_buffer("task_index", torch.as_tensor(list(task_index), dtype=torch.long))
        self.per_task = per_task
        # Eval mode throughout: tangermeme restores the mode it found, recursively, so a
        # wrapper left in training mode would switch the model's batch norms to batch
        # statistics (and let them update their running statistics) after one call.
        self.eval()

    @property
    def n_targets(self) -> int:
        """G: the number of maps per window."""
        return int(self.task_index.numel()) if self.per_task else 1

    def forward(self, x: Tensor) -> Tensor:
        from grelu_cli.predict.transform import reduce_bins

        y = self.activation(self.model(x))  # (N, T_all, L_out)
        y = y.index_select(1, self.task_index)  # (N, T, L_out)
        y = reduce_bins(y, self.layout)[..., 0]  # (N, T)
        return y if self.per_task else y.mean(dim=1, keepdim=True)
