"""Single layers shared by blocks, trunks and heads (gReLU 1.1.0 names and state_dict keys).

Every layer here takes and returns ``(N, C, L)`` tensors unless its docstring says otherwise.
Wrapper layers keep gReLU's ``.layer`` attribute so that checkpoint keys such as
``norm.layer.weight`` or ``pool.layer.to_attn_logits.weight`` line up.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn


class Exp(nn.Module):
    """Elementwise ``exp`` (gReLU uses the bare function; a module keeps ``repr`` readable)."""

    def forward(self, x: Tensor) -> Tensor:
        return torch.exp(x)


class EnformerGELU(nn.Module):
    """Enformer's sigmoid approximation of GELU: ``sigmoid(1.702 x) * x``."""

    def forward(self, x: Tensor) -> Tensor:
        return torch.sigmoid(1.702 * x) * x


# Name -> factory. "gelu_borzoi" is the tanh approximation the Keras Borzoi used.
_ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "gelu_borzoi": lambda: nn.GELU(approximate="tanh"),
    "gelu_enformer": EnformerGELU,
    "softplus": nn.Softplus,
    "exp": Exp,
}


class Activation(nn.Module):
    """A named nonlinearity: relu, elu, gelu, gelu_borzoi, gelu_enformer, softplus, exp or None.

    ``None`` is the identity.
    """

    def __init__(self, func: str | None) -> None:
        super().__init__()
        if func is None:
            self.layer: nn.Module = nn.Identity()
        elif func in _ACTIVATIONS:
            self.layer = _ACTIVATIONS[func]()
        else:
            raise ValueError(
                f"unknown activation function {func!r}; known: {sorted(_ACTIVATIONS)} or None"
            )

    def forward(self, x: Tensor) -> Tensor:
        return self.layer(x)


class AttentionPool(nn.Module):
    """Softmax-weighted pooling of ``pool_size`` neighbours (Enformer): (N, C, L) -> (N, C, L/p).

    The weights come from a 1x1 ``Conv2d`` (key ``to_attn_logits.weight``, shape (C, C, 1, 1)).
    Odd lengths are zero-padded on the right and the padding is masked out of the softmax, as
    in enformer-pytorch (which pads by ``L % p``: exact for the ``p = 2`` every model uses).
    """

    def __init__(self, dim: int, pool_size: int = 2, dtype=None, device=None) -> None:
        super().__init__()
        self.pool_size = pool_size
        self.to_attn_logits = nn.Conv2d(dim, dim, 1, bias=False, dtype=dtype, device=device)
        # Start as (2x) identity logits, as enformer-pytorch does; checkpoints overwrite it.
        nn.init.dirac_(self.to_attn_logits.weight)
        with torch.no_grad():
            self.to_attn_logits.weight.mul_(2)

    def forward(self, x: Tensor) -> Tensor:
        b, c, n = x.shape
        p = self.pool_size
        remainder = n % p
        if remainder > 0:
            x = nn.functional.pad(x, (0, remainder), value=0)
            mask = torch.zeros((b, 1, n), dtype=torch.bool, device=x.device)
            mask = nn.functional.pad(mask, (0, remainder), value=True)
        x = x.reshape(b, c, -1, p)
        logits = self.to_attn_logits(x)
        if remainder > 0:
            logits = logits.masked_fill(mask.reshape(b, 1, -1, p), -torch.finfo(logits.dtype).max)
        attn = logits.softmax(dim=-1)
        return (x * attn).sum(dim=-1)


class Pool(nn.Module):
    """Pooling along length: 'avg', 'max', 'attn' (needs ``in_channels``) or None (identity)."""

    def __init__(
        self,
        func: str | None,
        pool_size: int | None = None,
        in_channels: int | None = None,
        dtype=None,
        device=None,
    ) -> None:
        super().__init__()
        if func is None:
            self.layer: nn.Module = nn.Identity()
            return
        if func not in ("avg", "max", "attn"):
            raise ValueError(
                f"unknown pooling function {func!r}; known: 'avg', 'max', 'attn', None"
            )
        if pool_size is None:
            raise ValueError(f"{func} pooling needs pool_size")
        if func == "avg":
            self.layer = nn.AvgPool1d(kernel_size=pool_size)
        elif func == "max":
            self.layer = nn.MaxPool1d(kernel_size=pool_size)
        else:
            if in_channels is None:
                raise ValueError("attention pooling needs in_channels")
            self.layer = AttentionPool(in_channels, pool_size=pool_size, dtype=dtype, device=device)

    def forward(self, x: Tensor) -> Tensor:
        return self.layer(x)


class AdaptivePool(nn.Module):
    """Pool all positions into one: 'avg', 'max' or None (identity). (N, C, L) -> (N, C, 1)."""

    def __init__(self, func: str | None = None) -> None:
        super().__init__()
        if func is None:
            self.layer: nn.Module = nn.Identity()
        elif func == "avg":
            self.layer = nn.AdaptiveAvgPool1d(1)
        elif func == "max":
            self.layer = nn.AdaptiveMaxPool1d(1)
        else:
            raise ValueError(f"unknown final pooling function {func!r}; known: 'avg', 'max', None")

    def forward(self, x: Tensor) -> Tensor:
        return self.layer(x)


class Norm(nn.Module):
    """Normalization: 'batch', 'syncbatch', 'layer', 'instance' or None (identity).

    ``in_dim`` is the channel count (batch/instance norm) or the last-axis size (layer norm).
    Extra keyword arguments (eps, momentum, affine, dtype, device) go to the torch layer.
    """

    def __init__(self, func: str | None = None, in_dim: int | None = None, **kwargs) -> None:
        super().__init__()
        if func is None:
            self.layer: nn.Module = nn.Identity()
            return
        if in_dim is None:
            raise ValueError(f"{func} normalization needs in_dim")
        if func == "batch":
            self.layer = nn.BatchNorm1d(in_dim, **kwargs)
        elif func == "syncbatch":
            self.layer = nn.SyncBatchNorm(in_dim, **kwargs)
        elif func == "layer":
            self.layer = nn.LayerNorm(in_dim, **kwargs)
        elif func == "instance":
            # Same defaults as batch norm, so the two are interchangeable in checkpoints.
            kwargs = {"affine": True, "track_running_stats": True, **kwargs}
            self.layer = nn.InstanceNorm1d(in_dim, **kwargs)
        else:
            raise ValueError(
                f"unknown normalization {func!r}; known: 'batch', 'syncbatch', 'layer', "
                "'instance', None"
            )

    def forward(self, x: Tensor) -> Tensor:
        return self.layer(x)

    def select_channels(self, indices: Sequence[int]) -> None:
        """Keep only the given channels of a per-channel (batch/instance) norm, in that order."""
        layer = self.layer
        if isinstance(layer, nn.Identity):
            return
        if not isinstance(layer, nn.modules.batchnorm._NormBase):
            raise TypeError(f"cannot select channels of {type(layer).__name__}")
        idx = torch.as_tensor(list(indices), dtype=torch.long)
        for name in ("weight", "bias", "running_mean", "running_var"):
            t = getattr(layer, name, None)
            if t is None:
                continue
            new = t.data.index_select(0, idx.to(t.device)).clone()
            if isinstance(t, nn.Parameter):
                setattr(layer, name, nn.Parameter(new, requires_grad=t.requires_grad))
            else:
                setattr(layer, name, new)
        layer.num_features = len(idx)


class TaskSelect(nn.Module):
    """Pick channels ``indices`` of the input: (N, C, L) -> (N, len(indices), L).

    Used by ``select_tasks`` where a head has no weight to slice (an identity channel
    transform). The indices are a non-persistent buffer, so state_dict keys do not change.
    """

    indices: Tensor  # (len(indices),) long; a buffer, declared for the type checker

    def __init__(self, indices: Sequence[int]) -> None:
        super().__init__()
        self.register_buffer(
            "indices", torch.as_tensor(list(indices), dtype=torch.long), persistent=False
        )

    def forward(self, x: Tensor) -> Tensor:
        return x.index_select(1, self.indices)


class ChannelTransform(nn.Module):
    """1x1 convolution changing the channel count; identity when counts match and not ``if_equal``.

    Key: ``layer.weight`` (C_out, C_in, 1), ``layer.bias`` (C_out).
    """

    def __init__(
        self, in_channels: int, out_channels: int = 1, if_equal: bool = False, **kwargs
    ) -> None:
        super().__init__()
        if in_channels == out_channels and not if_equal:
            self.layer: nn.Module = nn.Identity()
        else:
            self.layer = nn.Conv1d(
                in_channels, out_channels, kernel_size=1, padding="same", **kwargs
            )

    def forward(self, x: Tensor) -> Tensor:
        return self.layer(x)

    def select_out(self, indices: Sequence[int]) -> None:
        """Keep only the given output channels, in that order (slices weight and bias)."""
        layer = self.layer
        if isinstance(layer, nn.Identity):
            self.layer = TaskSelect(indices)
            return
        if isinstance(layer, TaskSelect):
            self.layer = TaskSelect(layer.indices[torch.as_tensor(list(indices))].tolist())
            return
        if not isinstance(layer, nn.Conv1d):
            raise TypeError(f"cannot select output channels of {type(layer).__name__}")
        select_linear_out(layer, indices)


def select_linear_out(layer: nn.Conv1d | nn.Linear, indices: Sequence[int]) -> None:
    """Slice the output rows of a Linear or Conv1d in place (weight dim 0 and bias)."""
    idx = torch.as_tensor(list(indices), dtype=torch.long, device=layer.weight.device)
    layer.weight = nn.Parameter(
        layer.weight.data.index_select(0, idx).clone(), requires_grad=layer.weight.requires_grad
    )
    if layer.bias is not None:
        layer.bias = nn.Parameter(
            layer.bias.data.index_select(0, idx).clone(), requires_grad=layer.bias.requires_grad
        )
    if isinstance(layer, nn.Linear):
        layer.out_features = len(idx)
    else:
        layer.out_channels = len(idx)


class Dropout(nn.Module):
    """Dropout with probability ``p``; the identity when ``p == 0``."""

    def __init__(self, p: float = 0.0) -> None:
        super().__init__()
        self.layer: nn.Module = nn.Dropout(p) if p > 0 else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        return self.layer(x)


class Crop(nn.Module):
    """Remove ``crop_len`` positions from each end: (N, C, L) -> (N, C, L - 2 crop_len).

    ``crop_len="auto"`` crops ``receptive_field // 2`` (gReLU's rule for DilatedConvModel).
    """

    def __init__(self, crop_len: int | str = 0, receptive_field: int | None = None) -> None:
        super().__init__()
        if crop_len == "auto":
            if receptive_field is None:
                raise ValueError("crop_len='auto' needs the receptive field")
            crop_len = int(receptive_field // 2)
        if not isinstance(crop_len, int) or crop_len < 0:
            raise ValueError(f"crop_len must be a non-negative int or 'auto', got {crop_len!r}")
        self.crop_len = crop_len

    def forward(self, x: Tensor) -> Tensor:
        if self.crop_len == 0:
            return x
        return x[..., self.crop_len : x.shape[-1] - self.crop_len]
