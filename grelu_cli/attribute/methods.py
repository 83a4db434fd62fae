"""Attributions of a batch of windows: ``x (N, 4, L) -> (N, G, 4, L)``, in model orientation.

Every method works on the whole batch at once (gReLU 1.1.0's ``get_attributions`` loops one
sequence at a time): captum's gradient methods take the batch (one backward pass per map,
``G`` of them), and tangermeme's ``deep_lift_shap`` runs window x reference pairs in batches
of ``N * shuffles``. Numbers follow gReLU's call of each library (see :mod:`.options`); a test
compares them with goldens made by gReLU itself.
"""

from __future__ import annotations

import warnings

import torch
from torch import Tensor

from grelu_cli.attribute.options import AttributionOptions, require
from grelu_cli.attribute.target import TargetModel

#: Window x step rows per integrated-gradients forward pass (bounds its memory).
IG_ROWS = 512


def attribute_batch(target: TargetModel, x: Tensor, opts: AttributionOptions) -> Tensor:
    """``x: (N, 4, L)`` one-hot on the target's device -> ``(N, G, 4, L)`` float32 on the CPU."""
    maps = [_one_map(target, x, opts, g) for g in range(target.n_targets)]
    return torch.stack(maps, dim=1)


def _one_map(target: TargetModel, x: Tensor, opts: AttributionOptions, g: int) -> Tensor:
    """The map of target column ``g``: (N, 4, L) float32 on the CPU."""
    x = x.detach().float()
    if opts.method == "deepliftshap":
        return _deeplift(target, x, opts, g)
    attr = require("captum.attr")
    x = x.requires_grad_()  # captum would set it, with a warning
    if opts.method == "saliency":
        out = attr.Saliency(target).attribute(x, target=g, abs=False)
        if opts.correct_grad:  # Majdandzic et al. 2023: remove the off-simplex component
            out = out - out.mean(dim=1, keepdim=True)
    elif opts.method == "inputxgradient":
        out = attr.InputXGradient(target).attribute(x, target=g)
    else:
        rows = max(len(x), (IG_ROWS // len(x)) * len(x))
        out = attr.IntegratedGradients(target).attribute(
            x, target=g, n_steps=opts.ig_steps, internal_batch_size=rows
        )
    return out.detach().float().cpu()


def _deeplift(target: TargetModel, x: Tensor, opts: AttributionOptions, g: int) -> Tensor:
    """tangermeme's DeepLIFT-SHAP against dinucleotide shuffles (seeded per shuffle)."""
    from grelu_cli.attribute.support import extra_rules

    tm = require("tangermeme.deep_lift_shap")
    with warnings.catch_warnings():
        # Convergence warnings: float32 round-off on large outputs trips tangermeme's fixed
        # 1e-3 threshold; layers without a rule were refused before (support.py).
        warnings.simplefilter("ignore", RuntimeWarning)
        out = tm.deep_lift_shap(
            target,
            x.cpu(),
            target=g,
            batch_size=len(x) * opts.shuffles,
            n_shuffles=opts.shuffles,
            hypothetical=opts.hypothetical,
            additional_nonlinear_ops=extra_rules(),
            device=x.device,
            random_state=opts.seed,
        )
    return out.detach().float().cpu()
