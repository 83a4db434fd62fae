"""Check architecture parameters against the model constructor's signature before building.

``--param n_tasks=abc`` or ``n_tasks=2.5`` used to reach the constructor and fail deep inside
torch (``not all arguments converted during string formatting``) or, worse, build something.
Each value is checked against the annotation of ``cls.__init__`` in :mod:`grelu_cli.model`
(or, for an unannotated parameter, the type of its default):

- ``int``: an integer (not ``true``/``false``, not ``2.5``); ``float``: any number;
  ``bool``: ``true`` or ``false``; ``list[int]``: a list of integers; ``dict``: an object;
  unions accept any member; annotations this module does not know are not checked.
- ``str`` parameters (activation, pooling and norm names) also take ``null``: gReLU uses
  ``None`` for "no activation/pooling" throughout, even where its annotation says ``str``.
"""

from __future__ import annotations

import numbers
import types
import typing
from typing import Any

from grelu_cli.errors import InputDataError, UsageError

_UNKNOWN = object()  # an annotation this module does not check


def check_types(
    cls: type[object],
    kwargs: dict[str, Any],
    *,
    where: str,
    error: type[InputDataError] | type[UsageError],
) -> None:
    """Raise ``error`` naming the first parameter whose value has the wrong type."""
    import inspect

    try:
        hints = typing.get_type_hints(cls.__init__)
    except Exception:  # an annotation that cannot be evaluated: fall back to the defaults
        hints = {}
    sig = inspect.signature(cls.__init__).parameters
    for name, value in kwargs.items():
        param = sig.get(name)
        if param is None:
            continue
        hint = hints.get(name, _from_default(param.default, param.empty))
        if hint is _UNKNOWN or _accepts(hint, value) is not False:
            continue
        expected = describe(hint)
        fix = (
            f"e.g. --param {name}={_example(hint, param.default)}"
            if error is UsageError
            else "the checkpoint's model_params do not fit this architecture; check the file"
        )
        raise error(
            f"{where}: {cls.__name__} parameter {name} takes {expected}, not {_show(value)}",
            fix=fix,
        )


def _show(value: Any) -> str:
    """A value as the user typed it: ``true``/``null`` for JSON words, quotes around text."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def _from_default(default: Any, empty: Any) -> Any:
    """The type an unannotated parameter's default implies (bool before int: bool is an int)."""
    for t in (bool, int, float, str):
        if default is not empty and isinstance(default, t):
            return t
    return _UNKNOWN


def _members(hint: Any) -> tuple[Any, ...] | None:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return typing.get_args(hint)
    return None


def _accepts(hint: Any, value: Any, bare: bool = True) -> bool | None:
    """True/False when the hint decides; None when it is a type this module does not check.

    ``bare``: the hint is the whole annotation, not a member of a union (a bare ``str`` takes
    null; in a union, null must be a member of its own).
    """
    members = _members(hint)
    if members is not None:
        verdicts = [_accepts(m, value, bare=False) for m in members]
        if any(v is True for v in verdicts):
            return True
        return None if any(v is None for v in verdicts) else False
    is_bool = isinstance(value, bool) or type(value).__name__ == "bool_"  # numpy bools too
    if hint is type(None) or hint is None:
        return value is None
    if hint is bool:
        return is_bool
    if hint is int:
        return isinstance(value, numbers.Integral) and not is_bool
    if hint is float:
        return isinstance(value, numbers.Real) and not is_bool
    if hint is str:
        return (bare and value is None) or isinstance(value, str)
    origin = typing.get_origin(hint) or hint
    if origin in (list, tuple):
        if not isinstance(value, list | tuple):
            return False
        args = typing.get_args(hint)
        if not args:
            return True
        verdicts = [_accepts(args[0], v) for v in value]
        return None if None in verdicts else all(verdicts)
    if origin is dict:
        return isinstance(value, dict)
    return None


def describe(hint: Any, bare: bool = True) -> str:
    """``int`` -> "an integer", ``str | None`` -> "a name (text) or null", ..."""
    members = _members(hint)
    if members is not None:
        return " or ".join(dict.fromkeys(describe(m, bare=False) for m in members))
    if hint is str and bare:
        return "a name (text) or null"
    if hint is type(None) or hint is None:
        return "null"
    origin = typing.get_origin(hint) or hint
    if origin in (list, tuple):
        args = typing.get_args(hint)
        inner = describe(args[0]) if args else "values"
        return f"a list of {_plural(inner)}"
    names = {
        bool: "true or false",
        int: "an integer",
        float: "a number",
        str: "a name (text)",
        dict: "a JSON object",
    }
    return names.get(origin, getattr(origin, "__name__", str(origin)))


def _plural(text: str) -> str:
    return {"an integer": "integers", "a number": "numbers"}.get(text, text)


def _example(hint: Any, default: Any) -> str:
    """A value of the right type for the fix hint: the default when it has one."""
    if isinstance(default, bool):
        return "true" if default else "false"
    if isinstance(default, int | float | str) and not isinstance(default, bool):
        return str(default)
    if isinstance(default, list):
        return "[" + ",".join(map(str, default)) + "]"
    members = _members(hint)
    if members is not None:
        hint = next((m for m in members if m is not type(None)), members[0])
    origin = typing.get_origin(hint) or hint
    if origin in (list, tuple):
        return "[8,4]"
    return {bool: "true", int: "8", float: "0.5", str: "NAME", dict: "{}"}.get(origin, "VALUE")
