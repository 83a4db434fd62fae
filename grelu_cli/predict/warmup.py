"""Warm up every op of the prediction path on the target device and dtypes before predicting.

A torch 2.13 fact on these CPUs (shared/CLI.md): in a fresh process the first call of a
transcendental op (seen with ``torch.exp``) sometimes returns slightly wrong values; the
second call is right. The model library's :func:`grelu_cli.model.warmup.warm_up_ops` covers the
ops inside the models; this adds the output path (activations, ``--untransform``'s power,
aggregation) and runs everything once per (device, dtype) the run uses: fp32 always, plus the
autocast dtype for ``--precision bf16|fp16``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

_DONE: set[tuple[str, str]] = set()


def _output_path_ops(x: torch.Tensor) -> None:
    import torch

    y = x.reshape(1, 1, -1)
    torch.exp(y)
    torch.sigmoid(y)
    torch.softmax(y, dim=1)
    torch.softmax(y, dim=-1)
    torch.log(y.abs() + 1)
    torch.tanh(y)
    torch.nn.functional.gelu(y)
    torch.nn.functional.gelu(y, approximate="tanh")
    torch.nn.functional.softplus(y)
    y.abs() ** (4.0 / 3.0)
    torch.sqrt(y.abs())
    y.mean(dim=-1)
    y.sum(dim=-1)
    y.amax(dim=-1)
    y.amin(dim=-1)


def warm_up(device: torch.device | str = "cpu", dtypes: tuple[torch.dtype, ...] = ()) -> None:
    """Run the model and output-path ops once on small tensors of fp32 and each of ``dtypes``.

    Idempotent per process: a (device, dtype) pair is warmed once.
    """
    import torch

    from grelu_cli.model.warmup import warm_up_ops

    device = torch.device(device)
    all_dtypes = (torch.float32, *[d for d in dtypes if d != torch.float32])
    todo = tuple(d for d in all_dtypes if (str(device), str(d)) not in _DONE)
    if not todo:
        return
    warm_up_ops(device, todo)
    with torch.inference_mode():
        for dtype in todo:
            # Lengths cover a scalar tail, one vector, and vector + tail of the kernels.
            for n in (1, 7, 64, 1031):
                _output_path_ops(torch.linspace(-3, 3, n, device=device, dtype=dtype))
            _DONE.add((str(device), str(dtype)))
