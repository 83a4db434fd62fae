"""What happens to raw model outputs: activation, Borzoi untransform, bin selection, aggregation.

All functions act on device tensors ``(N, T, L)`` in float32, once per augmented pass, in the
order gReLU 1.1.0's ``LightningModel.forward`` + ``Aggregate`` transform use: activation, then
(our addition) ``--untransform``, then bins are selected and aggregated over length; the
predictor averages the passes afterwards.

``--untransform`` undoes the squashing Borzoi applied to its training targets. Borzoi built
each target as ``scale * soft_clip(x ** (3/4))`` (the power only for tracks whose ``sum_stat``
contains ``sqrt``), with ``soft_clip(v) = clip_soft + sqrt(v - clip_soft)`` above ``clip_soft``.
The inverse, per track, is exactly the published models' ``untransform_old`` in
calico/borzoi's ``examples/borzoi_helpers.py``::

    y = y / scale
    y = where(y > clip_soft, clip_soft + (y - clip_soft) ** 2, y)
    y = y ** (4/3)            # sqrt tracks only; every track when the table has no sum_stat

``--untransform-mode calico`` (:data:`UNTRANSFORM_MODES`) then multiplies back by ``scale``:
baskerville's ``dataset.untransform_preds1`` (default ``unscale=False``), which
``borzoi_sed.py -u`` applies to the published Borzoi weights; its values are ``scale`` times
the default mode's. (Calico selects the power rows by ``"_sqrt" in sum_stat``; Borzoi's tables
say ``sum_sqrt`` or ``sum``, where both rules agree.) Calico untransforms the profiles after
averaging the rc/shift ensemble; apply :class:`Untransform` to the averaged tensor to match.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from grelu_cli.errors import UsageError

if TYPE_CHECKING:
    import pandas as pd
    import torch

    from grelu_cli.genome.bins import BinLayout

ACTIVATIONS = ("exp", "sigmoid", "softmax", "none")
#: ``--untransform-mode`` values: gReLU/borzoi_helpers (counts without scale) or Calico's
#: ``untransform_preds1`` (the same, times ``scale``).
UNTRANSFORM_MODES = ("grelu", "calico")


def activation_name(activation: Any) -> str:
    """Normalise an activation given by name or as the zoo's ``OutputActivation``."""
    name = getattr(activation, "name", activation)
    name = "none" if name in (None, "identity") else str(name)
    if name not in ACTIVATIONS:
        raise UsageError(
            f"output activation {name!r} is not one of {', '.join(ACTIVATIONS)}",
            fix="use exp, sigmoid, softmax or none",
        )
    return name


def activate(y: torch.Tensor, name: str) -> torch.Tensor:
    """gReLU's output activation: y (N, T, L) -> (N, T, L); softmax is over tasks (dim 1)."""
    import torch

    if name == "exp":
        return torch.exp(y)
    if name == "sigmoid":
        return torch.sigmoid(y)
    if name == "softmax":
        return torch.softmax(y, dim=1)
    return y


class Untransform:
    """Undo Borzoi's target squashing, per track (see the module docstring).

    Args:
        scale, clip_soft: per computed channel; a NaN ``clip_soft`` means no soft clip.
        power: per computed channel, whether the 3/4 power is undone.
        rescale: multiply back by ``scale`` at the end (``--untransform-mode calico``).
    """

    def __init__(
        self,
        scale: Sequence[float],
        clip_soft: Sequence[float],
        power: Sequence[bool],
        rescale: bool = False,
    ) -> None:
        self.scale = [float(v) for v in scale]
        self.clip_soft = [float(v) for v in clip_soft]
        self.power = [bool(v) for v in power]
        self.rescale = bool(rescale)
        self._on: dict[str, tuple[Any, Any, Any, bool]] = {}

    def _tensors(self, device: torch.device) -> tuple[Any, Any, Any, bool]:
        import torch

        key = str(device)
        if key not in self._on:
            cs = torch.tensor(self.clip_soft, dtype=torch.float32)
            has_clip = bool(torch.isfinite(cs).any())
            self._on[key] = (
                torch.tensor(self.scale, dtype=torch.float32, device=device)[None, :, None],
                torch.nan_to_num(cs, nan=float("inf")).to(device)[None, :, None],
                torch.tensor(self.power, dtype=torch.bool, device=device)[None, :, None],
                has_clip,
            )
        return self._on[key]

    def __call__(self, y: torch.Tensor) -> torch.Tensor:
        """y: (N, T, L) squashed predictions -> (N, T, L) coverage."""
        import torch

        scale, cs, power, has_clip = self._tensors(y.device)
        y = y / scale
        if has_clip:
            y = torch.where(y > cs, cs + (y - cs) ** 2, y)
        if any(self.power):
            y = torch.where(power, y ** (4.0 / 3.0), y)
        if self.rescale:
            y = y * scale
        return y


def untransform_for(
    tasks: pd.DataFrame | None, computed: Sequence[int], mode: str = "grelu"
) -> Untransform:
    """The :class:`Untransform` for channels ``computed`` (rows of the tasks table).

    ``mode`` is one of :data:`UNTRANSFORM_MODES` (``calico`` multiplies back by ``scale``).

    Needs ``scale`` and ``clip_soft`` columns; the 3/4 power is undone for rows whose
    ``sum_stat`` contains ``sqrt``, or for every row when the table has no ``sum_stat``.
    Raises UsageError when the table lacks the columns (the model is not a Borzoi-style one).
    """
    if mode not in UNTRANSFORM_MODES:
        raise UsageError(
            f"--untransform-mode {mode!r} is not one of {', '.join(UNTRANSFORM_MODES)}",
            fix="use grelu (counts, gReLU/borzoi_helpers) or calico (untransform_preds1)",
        )
    need = ("scale", "clip_soft")
    cols = [] if tasks is None else [str(c) for c in tasks.columns]
    missing = [c for c in need if c not in cols]
    if missing:
        raise UsageError(
            f"--untransform needs the columns scale and clip_soft in the model's tasks table; "
            f"it has {', '.join(cols) or 'no tasks table'}",
            fix="use --untransform only with Borzoi-style models whose tracks were squashed",
        )
    assert tasks is not None
    rows = tasks.iloc[list(computed)]
    if "sum_stat" in cols:
        power = ["sqrt" in str(s) for s in rows["sum_stat"]]
    else:
        power = [True] * len(rows)
    return Untransform(
        scale=rows["scale"].astype(float).tolist(),
        clip_soft=rows["clip_soft"].astype(float).tolist(),
        power=power,
        rescale=mode == "calico",
    )


def reduce_bins(y: torch.Tensor, layout: BinLayout) -> torch.Tensor:
    """Keep the layout's bins and aggregate them: (N, T, L_out) -> (N, T, B).

    Aggregates follow gReLU's ``Aggregate(length_aggfunc=...)``: mean, sum, max or min over
    the length axis, keeping it (B = 1).
    """
    if layout.selects:
        y = y[..., layout.first : layout.first + layout.n_keep]
    agg = layout.aggregate
    if agg == "mean":
        return y.mean(dim=-1, keepdim=True)
    if agg == "sum":
        return y.sum(dim=-1, keepdim=True)
    if agg == "max":
        return y.amax(dim=-1, keepdim=True)
    if agg == "min":
        return y.amin(dim=-1, keepdim=True)
    return y
