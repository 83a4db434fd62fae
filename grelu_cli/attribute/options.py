"""The attribution methods and their options, checked before torch is imported.

* ``saliency``: the gradient of the target with respect to the one-hot input, all four bases
  (captum ``Saliency(abs=False)``); ``--correct-grad`` subtracts, at each position, the mean of
  the gradient over the four bases (Majdandzic et al. 2023, PMID 37161475).
* ``inputxgradient``: gradient x one-hot (captum ``InputXGradient``).
* ``integratedgradients``: captum ``IntegratedGradients`` from the all-zero baseline,
  ``--ig-steps`` Gauss-Legendre steps (captum's default 50).
* ``deepliftshap``: tangermeme ``deep_lift_shap`` against ``--shuffles`` dinucleotide
  shuffles of each window (seeded by ``--seed``: shuffle ``k`` of every window uses seed
  ``seed + k``); the mean over references of the multipliers x one-hot, or with
  ``--hypothetical`` the hypothetical contributions (all four bases) tf-modisco reads.

The same choices as gReLU 1.1.0's ``get_attributions``, except that an option that does not
apply to the method is refused (exit 2) instead of ignored with a warning. :func:`require`
imports captum or tangermeme, or says how to install them (exit 4).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from grelu_cli.errors import MissingResourceError, UsageError

METHODS = ("saliency", "inputxgradient", "integratedgradients", "deepliftshap")


@dataclass(frozen=True)
class AttributionOptions:
    """How to attribute.

    Attributes:
        method: one of :data:`METHODS`.
        per_task: one map per selected task instead of one for their mean.
        correct_grad: Majdandzic's gradient correction (saliency only).
        hypothetical: hypothetical contributions (deepliftshap only).
        shuffles: dinucleotide-shuffled references per window (deepliftshap).
        seed: seed of the shuffles (deepliftshap).
        ig_steps: integration steps (integratedgradients).
    """

    method: str = "saliency"
    per_task: bool = False
    correct_grad: bool = False
    hypothetical: bool = False
    shuffles: int = 20
    seed: int = 0
    ig_steps: int = 50


def check_options(opts: AttributionOptions) -> None:
    """UsageError (exit 2) for an unknown method or an option that does not apply to it."""
    if opts.method not in METHODS:
        raise UsageError(
            f"--method {opts.method!r} is not an attribution method",
            fix=f"use one of {', '.join(METHODS)}",
        )
    if opts.correct_grad and opts.method != "saliency":
        raise UsageError(
            f"--correct-grad applies to --method saliency, not {opts.method}",
            fix="drop --correct-grad or use --method saliency",
        )
    if opts.hypothetical and opts.method != "deepliftshap":
        raise UsageError(
            f"--hypothetical applies to --method deepliftshap, not {opts.method} "
            "(saliency already returns all four bases)",
            fix="drop --hypothetical or use --method deepliftshap",
        )
    if opts.shuffles < 1:
        raise UsageError(f"--shuffles {opts.shuffles} is below 1", fix="use --shuffles 1 or more")
    if opts.ig_steps < 1:
        raise UsageError(f"--ig-steps {opts.ig_steps} is below 1", fix="use --ig-steps 1 or more")


def full_matrix(opts: AttributionOptions) -> bool:
    """Whether maps hold a value for every base (saliency, hypothetical) rather than only the
    reference base (attribution x one-hot)."""
    return opts.method == "saliency" or opts.hypothetical


def require(module: str) -> Any:
    """Import ``module`` (captum, tangermeme) or raise MissingResourceError (exit 4)."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as err:
        package = module.split(".")[0]
        raise MissingResourceError(
            f"grelu attribute needs {package}, which is not installed ({err})",
            fix="pip install 'grelu-cli[attribute]' (captum and tangermeme)",
        ) from None
