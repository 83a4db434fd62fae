"""Keyword value helpers shared by the API's job builders (:mod:`grelu_cli.api`,
:mod:`grelu_cli.api.ism`, :mod:`grelu_cli.api.attribute`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

#: A path keyword: text or a :class:`~pathlib.Path`.
PathLike = str | Path


def as_tuple(value: str | Sequence[str] | None) -> tuple[str, ...]:
    """``None`` -> ``()``; one string -> a 1-tuple; a sequence -> a tuple."""
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def opt_str(value: PathLike | None) -> str | None:
    """A path keyword as text, ``None`` kept."""
    return None if value is None else str(value)
