"""Small helpers shared by command modules: help epilogs and option parsing."""

from __future__ import annotations


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
