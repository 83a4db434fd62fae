"""Small helpers shared by command modules: help epilogs, option parsing, help rendering."""

from __future__ import annotations

import re
from typing import Any

_LIST_TYPE = re.compile(r"<list\[(.+)\]>")


def examples(*lines: str) -> str:
    """Help epilog shown after the options, so every command's help ends with examples."""
    return "Examples:\n\n" + "".join(f"  {line}\n\n" for line in lines)


def split_csv(value: str | None) -> list[str] | None:
    """``"a, b,c"`` -> ``["a", "b", "c"]``; None stays None."""
    if value is None:
        return None
    return [part.strip() for part in value.split(",") if part.strip()]


def one_of(choices: tuple[str, ...]) -> str:
    """``("a", "b", "c")`` -> ``"a, b or c"`` (help text built from the library's lists)."""
    return choices[0] if len(choices) == 1 else f"{', '.join(choices[:-1])} or {choices[-1]}"


def install_help_types() -> None:
    """Show flags as flags and repeatable options by their element type in every ``--help``.

    Typer >= 0.2x renders every parameter's type in the help panel, flags included: ``--rc``
    read ``--rc <bool>`` (so users typed ``--rc true``, which fails: a flag takes no value) and
    ``--param`` read ``<list[str]>``. Patched once on typer's parameter classes, for every
    command: flags show no type, repeatable options the type of one value (``<str>``).
    """
    from typer import core

    for cls in (core.TyperOption, core.TyperArgument):
        original = getattr(cls, "display_type_rich", None)
        if original is None or getattr(original, "_grelu_help", False):
            continue  # an older typer (click renders types itself) or already installed
        cls.display_type_rich = _flag_aware(original)  # type: ignore[method-assign]


def _flag_aware(original: Any) -> Any:
    def display_type_rich(self: Any, ctx: Any) -> str | None:
        if getattr(self, "is_flag", False) or getattr(self, "count", False):
            return None
        shown = original(self, ctx)
        if isinstance(shown, str) and (getattr(self, "multiple", False) or self.nargs == -1):
            shown = _LIST_TYPE.sub(r"<\1>", shown)
        return shown

    display_type_rich._grelu_help = True  # type: ignore[attr-defined]
    return display_type_rich
