"""The output activation gReLU applies to a model's raw outputs (logits).

gReLU's ``LightningModel`` picks it from ``train_params`` (``initialize_activation``)::

    regression + poisson / poisson_multinomial -> exp
    regression + mse                            -> identity
    binary                                      -> sigmoid
    multiclass                                  -> softmax over tasks (dim 1)

and applies it inside ``forward``: to every augmented copy of a sequence *before*
``predict_on_dataset`` averages the copies (``augment_aggfunc``). A predictor matching gReLU
therefore activates each copy, then averages. exp/sigmoid/identity act element by element, so
they commute with selecting tasks; softmax does not (it normalises over all tasks), so for
multiclass models select tasks only after the activation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from grelu_cli.errors import InputDataError

# gReLU's defaults when train_params lacks these keys (``default_train_params``).
DEFAULT_TASK = "binary"
DEFAULT_LOSS = "bce"


@dataclass(frozen=True)
class OutputActivation:
    """A named activation; call it on a tensor ``(N, T, L)``."""

    name: str  # "exp" | "sigmoid" | "softmax" | "none"

    @property
    def elementwise(self) -> bool:
        """True when the activation of one task does not depend on the others."""
        return self.name != "softmax"

    def __call__(self, x: Any) -> Any:
        import torch

        if self.name == "exp":
            return torch.exp(x)
        if self.name == "sigmoid":
            return torch.sigmoid(x)
        if self.name == "softmax":
            return torch.softmax(x, dim=1)
        return x


IDENTITY = OutputActivation("none")


def activation_from_train_params(train_params: dict[str, Any], *, where: str) -> OutputActivation:
    """The activation gReLU 1.1.0 would apply for these ``train_params``."""
    task = str(train_params.get("task") or DEFAULT_TASK).lower()
    loss = str(train_params.get("loss") or DEFAULT_LOSS).lower()
    if task == "regression":
        if loss in ("poisson", "poisson_multinomial"):
            return OutputActivation("exp")
        if loss == "mse":
            return IDENTITY
        raise InputDataError(
            f"{where}: regression loss '{loss}' is not one gReLU knows (poisson, "
            "poisson_multinomial, mse), so the output activation is unknown",
            fix="pass --logits to get the raw model outputs",
        )
    if task == "binary":
        return OutputActivation("sigmoid")
    if task == "multiclass":
        return OutputActivation("softmax")
    raise InputDataError(
        f"{where}: train_params.task '{task}' is not regression, binary or multiclass",
        fix="pass --logits to get the raw model outputs",
    )
