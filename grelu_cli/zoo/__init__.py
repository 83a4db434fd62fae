"""Model zoo: registry of named models as data, weights download and cache, safe loading.

Importing this package does not import torch; loading a model does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from grelu_cli.zoo.registry import REGISTRY, ModelRecord, WeightsFile, get_record, list_models

if TYPE_CHECKING:  # pragma: no cover
    from grelu_cli.zoo.loader import LoadedModel

__all__ = [
    "REGISTRY",
    "LoadedModel",
    "ModelRecord",
    "WeightsFile",
    "get_record",
    "list_models",
    "load_model",
]


def load_model(spec: Any, **kwargs: Any) -> LoadedModel:
    """See :func:`grelu_cli.zoo.loader.load_model` (imported lazily: it needs torch)."""
    from grelu_cli.zoo.loader import load_model as _load

    return _load(spec, **kwargs)


def __getattr__(name: str) -> Any:
    if name == "LoadedModel":
        from grelu_cli.zoo.loader import LoadedModel

        return LoadedModel
    raise AttributeError(name)
