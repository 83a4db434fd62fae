"""Keyword arguments checked against a function's annotations: the Python API's boundary.

:func:`takes` gives a function the keyword signature of a template (one declaration of a
job kind's options, :func:`grelu_cli.api.job`): ``help()`` and :func:`inspect.signature` show
the template's parameters and defaults, type checkers and IDEs see them through a
``ParamSpec``, and every call is checked against the template's annotations before the body
runs. :func:`check_arguments` is that one generic checker, derived from the annotations
rather than written per parameter:

- an unknown name is an :class:`~grelu_cli.errors.ArgumentError` naming the closest valid
  one (``genom`` -> ``genome``; ``chunk-windows`` -> ``chunk_windows``);
- a missing required one, or a positional argument, likewise;
- a value must match its annotation: ``bool`` only ``True``/``False`` (not ``'no'``, not 1),
  ``int`` an integer but not a bool, ``float`` a real number, ``str`` a string, ``Path`` any
  ``os.PathLike``, ``Sequence[str]`` a list or tuple of strings (a bare string only where the
  annotation also says ``str``), a ``Protocol`` an object with its methods.

Integers (numpy's too) come back as ``int`` and reals as ``float`` for ``float`` parameters,
so the provenance of an API run records what the CLI's would. Standard library only.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import numbers
import os
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from pathlib import PurePath
from typing import Any, ParamSpec, TypeVar

from grelu_cli.errors import ArgumentError

P = ParamSpec("P")
R = TypeVar("R")


def takes(
    template: Callable[P, object], hide: tuple[str, ...] = ()
) -> Callable[[Callable[..., R]], Callable[P, R]]:
    """Decorator: the function takes ``template``'s keyword arguments, checked.

    The decorated function (``def f(**options)`` or with some of the template's parameters
    named) keeps its name, docstring and return annotation; its signature is the
    template's (``inspect.signature``, ``help()``; ``typing.ParamSpec`` for type checkers),
    all of it (the template's own hidden parameters too) except ``hide``: parameters of the
    template this function refuses (``observer`` for a function that runs nothing; type
    checkers, which cannot subtract from a ``ParamSpec``, still accept them).
    """

    def decorate(func: Callable[..., R]) -> Callable[P, R]:
        name = func.__name__

        @functools.wraps(func)
        def checked(*args: Any, **kwargs: Any) -> R:
            if args:
                raise ArgumentError(
                    f"{name}() takes keyword arguments only, got {len(args)} positional",
                    fix=f"name them, e.g. {name}(model=...)",
                )
            return func(**check_arguments(name, template, kwargs, where=func, hide=hide))

        shown = _shown_signature(template, func, hide)
        checked.__signature__ = shown  # type: ignore[attr-defined]
        checked.__annotations__ = {
            **{k: p.annotation for k, p in shown.parameters.items()},
            "return": shown.return_annotation,
        }
        return checked

    return decorate


def checked(*, hide: tuple[str, ...] = ()) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Decorator: ``func``'s own keyword arguments are checked (:func:`takes` of itself),
    with ``hide`` refused (see :func:`takes`)."""

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        return takes(func, hide)(func)

    return decorate


def check_arguments(
    name: str,
    template: Callable[..., object],
    kwargs: Mapping[str, Any],
    where: Callable[..., object] | None = None,
    hide: tuple[str, ...] = (),
) -> dict[str, Any]:
    """``kwargs`` checked against ``template``'s parameters; raises :class:`ArgumentError`
    naming ``name()``, the parameter and the expected type. Returns them normalised.

    ``where`` is the function the user called (its ``help()`` is the error's fix)."""
    params, hints = _parameters(template)
    params = {k: p for k, p in params.items() if k not in hide}
    func = where or template
    see = f"see help({func.__module__}.{name}) for every option and its type"
    for key in kwargs:
        if key in hide:
            raise ArgumentError(
                f"{name}() takes no {key}=", fix=f"only the functions that run a job take {key}="
            )
        if key not in params:
            raise ArgumentError(f"{name}() has no option {key!r}", fix=_closest(key, params))
    for key, param in params.items():
        if param.default is inspect.Parameter.empty and key not in kwargs:
            raise ArgumentError(f"{name}() needs {key}=... ({describe(hints.get(key))})", fix=see)
    out = {}
    for key, value in kwargs.items():
        tp = hints.get(key, Any)
        if not _conforms(value, tp):
            shown = repr(value)
            shown = shown if len(shown) <= 60 else shown[:57] + "..."
            raise ArgumentError(
                f"{name}(): {key}={shown} is {_kind(value)}, not {describe(tp)}", fix=see
            )
        out[key] = _normalised(value, tp)
    return out


@functools.cache
def _parameters(template: Callable[..., object]) -> tuple[dict[str, inspect.Parameter], dict]:
    """Every keyword parameter of ``template`` (unwrapped: its hidden ones too) and the
    evaluated annotations."""
    sig = inspect.signature(inspect.unwrap(template))
    params = {
        k: p
        for k, p in sig.parameters.items()
        if p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    }
    return params, typing.get_type_hints(inspect.unwrap(template))


def _shown_signature(
    template: Callable[..., object], func: Callable[..., object], hide: tuple[str, ...]
) -> inspect.Signature:
    """``template``'s parameters but ``hide``, with their annotations evaluated (``help()``
    shows ``str | pathlib.Path``, not the alias's name), and ``func``'s return annotation."""
    hints = _parameters(template)[1]
    sig = inspect.signature(inspect.unwrap(template))
    try:
        returns = typing.get_type_hints(func).get("return", sig.return_annotation)
    except NameError:  # a name imported only for type checkers
        returns = inspect.signature(func).return_annotation
    return sig.replace(
        parameters=[
            p.replace(annotation=hints.get(k, p.annotation))
            for k, p in sig.parameters.items()
            if k not in hide
        ],
        return_annotation=returns,
    )


def _closest(key: str, params: Mapping[str, object]) -> str:
    wanted = key.strip().lstrip("-").replace("-", "_")
    close = difflib.get_close_matches(wanted, list(params), n=1, cutoff=0.6)
    hint = f"did you mean {close[0]}=? " if close else ""
    return f"{hint}options are named like the CLI's: --chunk-windows -> chunk_windows"


def _args(tp: Any) -> tuple[Any, ...]:
    return typing.get_args(tp)


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


def _is_sequence(tp: Any) -> bool:
    return typing.get_origin(tp) in (Sequence, list, tuple)


def _conforms(value: Any, tp: Any) -> bool:
    """Whether ``value`` is an instance of the annotation ``tp`` (the subset the API uses)."""
    if tp is Any or tp is object:
        return True
    if _is_union(tp):
        return any(_conforms(value, a) for a in _args(tp))
    if tp is type(None):
        return value is None
    if tp is bool:
        return isinstance(value, bool)
    if tp is int:
        return isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if tp is float:
        return isinstance(value, numbers.Real) and not isinstance(value, bool)
    if tp is str:
        return isinstance(value, str)
    if isinstance(tp, type) and issubclass(tp, PurePath):
        return isinstance(value, os.PathLike)
    if _is_sequence(tp):
        if not isinstance(value, (list, tuple)):
            return False
        item = _args(tp)[0] if _args(tp) else Any
        return all(_conforms(v, item) for v in value)
    if getattr(tp, "_is_protocol", False):
        members = [k for k in vars(tp) if not k.startswith("_")]
        return all(callable(getattr(value, k, None)) for k in members)
    if isinstance(tp, type):
        return isinstance(value, tp)
    return True  # an annotation this checker does not know: the body decides


def _normalised(value: Any, tp: Any) -> Any:
    """numpy integers -> ``int``; a number for a ``float`` parameter -> ``float``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return value
    members = _args(tp) if _is_union(tp) else (tp,)
    if float in members and int not in members:
        return float(value)
    return int(value) if isinstance(value, numbers.Integral) else value


def describe(tp: Any) -> str:
    """An annotation in words: ``int | None`` -> ``an int or None``."""
    if _is_union(tp):
        words = list(dict.fromkeys(describe(a) for a in _args(tp)))
        return " or ".join(words) if len(words) < 3 else f"{', '.join(words[:-1])} or {words[-1]}"
    if tp is type(None):
        return "None"
    if tp is bool:
        return "True or False"
    if isinstance(tp, type) and issubclass(tp, PurePath):
        return "a path"
    if _is_sequence(tp):
        item = _args(tp)[0] if _args(tp) else Any
        return f"a list of {_plain(item)}"
    if getattr(tp, "_is_protocol", False):
        return f"a {tp.__name__}"
    if isinstance(tp, type):
        return _article(tp)
    return str(tp)


def _plain(tp: Any) -> str:
    return tp.__name__ if isinstance(tp, type) else str(tp)


def _kind(value: object) -> str:
    """``a str``; ``a list of int, str`` for a list (what its items are)."""
    if isinstance(value, (list, tuple)) and value:
        items = ", ".join(sorted({type(v).__name__ for v in value}))
        return f"{_article(type(value))} of {items}"
    return _article(type(value))


def _article(tp: type) -> str:
    word = tp.__name__
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"
