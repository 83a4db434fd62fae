"""Which models DeepLIFT-SHAP can explain: every module must be linear or have a rule.

tangermeme's ``deep_lift_shap`` applies a DeepLIFT rule to the modules whose type it knows
(ReLU, GELU, sigmoid, softmax, max-pool, layer norm...) and treats every other operation as
linear. An operation written as a bare function inside a module's ``forward`` (the matmuls and
softmax of our attention layers, a GRU's gates, an attention pool's weights) gets no rule, and
the attributions come out wrong without an error. So :func:`check_deeplift` allows a model
only when each of its module types is known: a leaf that is linear in its input
(:data:`LINEAR_LEAVES`), a leaf with a rule (tangermeme's table plus :data:`EXTRA_RULES`), or
a container whose own ``forward`` only composes its children with sums, slices and reshapes
(:data:`LINEAR_CONTAINERS`, read from grelu_cli/model). Anything else is refused in one line
that names the module types. Served: ConvModel (pooling max/avg, not ``attn``),
DilatedConvModel, ConvMLPModel, ExplaiNNModel. Refused: ConvGRUModel (GRU),
ConvTransformerModel, Borzoi and Enformer (attention).
"""

from __future__ import annotations

from typing import Any

from torch import nn

from grelu_cli.attribute.options import require
from grelu_cli.errors import UsageError

#: Leaves that are linear (affine) in their input in eval mode.
LINEAR_LEAVES = frozenset(
    {
        "Conv1d",
        "Conv2d",
        "Linear",
        "BatchNorm1d",
        "BatchNorm2d",
        "Dropout",
        "Identity",
        "Crop",
        "AvgPool1d",
        "AdaptiveAvgPool1d",
        "Flatten",
        "Upsample",
    }
)

#: Containers whose forward is linear glue around their children (sums, crops, reshapes).
LINEAR_CONTAINERS = frozenset(
    {
        "ModuleList",
        "Sequential",
        "Activation",
        "AdaptivePool",
        "ChannelTransform",
        "ChannelTransformBlock",
        "ConvBlock",
        "ConvHead",
        "ConvTower",
        "ConvTrunk",
        "Dropout",
        "Norm",
        "Pool",
        "Stem",
        "ConvModel",
        "DilatedConvModel",
        "DilatedConvTrunk",
        "ConvMLPModel",
        "MLPHead",
        "LinearBlock",
        "ExplaiNNModel",
        "ExplaiNNTrunk",
        "ExplaiNNConvBlock",
        "TargetModel",
    }
)

#: Served architectures, for messages.
SERVED = ("ConvModel", "DilatedConvModel", "ConvMLPModel", "ExplaiNNModel")


def extra_rules() -> dict[type, Any]:
    """Rules for our elementwise modules (the rescale rule holds for any elementwise map)."""
    from grelu_cli.model.layers import EnformerGELU, Exp

    rules = require("tangermeme._deep_lift_utils")
    return {Exp: rules._nonlinear, EnformerGELU: rules._nonlinear}


def rule_types() -> set[str]:
    """Module type names with a DeepLIFT rule (tangermeme's table and ours)."""
    rules = require("tangermeme._deep_lift_utils")
    return {t.__name__ for t in rules._build_nonlinear_ops(extra_rules())}


def unsupported(model: nn.Module, rules: set[str]) -> list[str]:
    """Module type names of ``model`` that DeepLIFT would treat wrongly, sorted."""
    bad = set()
    for module in model.modules():
        name = type(module).__name__
        leaf = not any(True for _ in module.children())
        if name in rules or name in LINEAR_CONTAINERS:
            continue
        if leaf and name in LINEAR_LEAVES:
            continue
        bad.add(name)
    return sorted(bad)


def check_deeplift(model: nn.Module, model_name: str, model_type: str) -> None:
    """UsageError (exit 2) naming the module types without a DeepLIFT rule, if any."""
    bad = unsupported(model, rule_types())
    if bad:
        raise UsageError(
            f"--method deepliftshap cannot explain {model_name} ({model_type}): no DeepLIFT "
            f"rule for its modules {', '.join(bad)} (it would return wrong numbers); "
            f"deepliftshap serves {', '.join(SERVED)}",
            fix="use --method saliency, inputxgradient or integratedgradients",
        )
