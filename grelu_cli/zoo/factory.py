"""Model factory: gReLU ``model_params`` -> an ``nn.Module`` from :mod:`grelu_cli.model.models`.

Classes are looked up by name when needed (``model_type`` in gReLU checkpoints), so importing
the zoo never imports torch. ``*PretrainedModel`` classes only build the published architecture
here (ours never download); the weights come from the checkpoint being loaded.
"""

from __future__ import annotations

import inspect
from typing import Any

from grelu_cli.errors import GreluCliError, InputDataError, UsageError
from grelu_cli.model.architectures import NAMES
from grelu_cli.zoo.param_types import check_types
from grelu_cli.zoo.registry import close_matches

#: Every model class name (:mod:`grelu_cli.model.architectures`).
ARCHITECTURES = NAMES

# Constructor keywords that never belong in a rebuilt model (placement is ours to decide).
_PLACEMENT = ("dtype", "device")


def model_class(
    name: str, *, error: type[InputDataError] | type[UsageError] = UsageError, where: str = ""
) -> type:
    """The model class called ``name`` (gReLU ``model_type``), case-insensitive.

    Raises ``error`` for an unknown name: :class:`UsageError` (exit 2) when the user typed it
    (``--arch``, ``grelu models build``), :class:`InputDataError` (exit 3) when a checkpoint's
    ``model_type`` names it; close spellings are suggested.
    """
    from grelu_cli.model import models

    lookup = {a.lower(): a for a in ARCHITECTURES}
    canonical = lookup.get(name.lower())
    if canonical is None or not hasattr(models, canonical):
        close = close_matches(name, ARCHITECTURES)
        hint = f"did you mean {_either(close)}? " if close else ""
        known = f"grelu-cli builds {', '.join(ARCHITECTURES)}"
        if error is UsageError:
            raise UsageError(f"unknown architecture '{name}'", fix=hint + known)
        raise error(
            f"{where or 'checkpoint'}: model_type '{name}' is not an architecture grelu-cli knows",
            fix=f"{hint}{known}; check the file's hyper_parameters.model_params",
        )
    return getattr(models, canonical)


def _either(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def constructor_params(cls: type[object]) -> dict[str, inspect.Parameter]:
    """The keyword parameters of ``cls.__init__`` (without self/dtype/device)."""
    sig = inspect.signature(cls.__init__)
    return {
        n: p
        for n, p in sig.parameters.items()
        if n != "self" and n not in _PLACEMENT and p.kind is not p.VAR_KEYWORD
    }


def build_model(
    model_type: str,
    kwargs: dict[str, Any],
    *,
    where: str = "model_params",
    error: type[InputDataError] | type[UsageError] = InputDataError,
) -> Any:
    """Instantiate ``model_type(**kwargs)`` on CPU in float32.

    Raises ``error`` (:class:`InputDataError` for a checkpoint's ``model_params``,
    :class:`UsageError` for ``--arch``/``--param``, where the mistake is the user's) for an
    unknown architecture, kwargs the class does not take, missing required ones, and values of
    the wrong type (:func:`check_types`); each message names the value and ``where`` it came
    from.
    """
    cls = model_class(model_type, error=error, where=where)
    params = constructor_params(cls)
    kwargs = {k: v for k, v in kwargs.items() if k not in _PLACEMENT}
    unknown = sorted(set(kwargs) - set(params))
    if unknown:
        raise error(
            f"{where}: {cls.__name__} has no parameter {', '.join(unknown)}",
            fix=f"{cls.__name__} takes {', '.join(params)}",
        )
    missing = [n for n, p in params.items() if p.default is p.empty and n not in kwargs]
    if missing:
        raise error(
            f"{where}: {cls.__name__} needs {', '.join(missing)}",
            fix="add them (for 'grelu models build': --param NAME=VALUE)",
        )
    check_types(cls, kwargs, where=where, error=error)
    try:
        return cls(**kwargs)
    except GreluCliError:
        raise
    except Exception as e:  # any constructor failure is a bad parameter combination
        raise error(
            f"{where}: cannot build {cls.__name__}({_fmt(kwargs)}): {e}",
            fix="check the architecture parameters",
        ) from None


def load_weights(model: Any, state_dict: dict[str, Any], *, where: str) -> None:
    """``load_state_dict(strict=True)`` with a one-line message naming the mismatching keys."""
    own = model.state_dict()
    missing = [k for k in own if k not in state_dict]
    unexpected = [k for k in state_dict if k not in own]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing (e.g. {missing[0]})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected (e.g. {unexpected[0]})")
        raise InputDataError(
            f"{where}: weights do not match {type(model).__name__}: {'; '.join(parts)}",
            fix="check that the architecture and its parameters are the ones it was trained with",
        )
    for k, v in state_dict.items():
        if tuple(own[k].shape) != tuple(v.shape):
            raise InputDataError(
                f"{where}: weight {k} has shape {tuple(v.shape)}, the model expects "
                f"{tuple(own[k].shape)}",
                fix="check the architecture parameters (n_tasks, channels, ...)",
            )
    model.load_state_dict(state_dict, strict=True)


def _fmt(kwargs: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
