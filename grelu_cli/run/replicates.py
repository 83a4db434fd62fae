"""``--replicate``: one zoo replicate, a comma list (``0,1,2,3``) or ``all``, checked before torch.

:func:`parse_replicates` turns what the user typed (the CLI's string, or the API's int, string
or list of ints) into what a :class:`~grelu_cli.run.config.ModelConfig` holds: ``None`` (the
default replicate), one ``int`` (one model, exactly as before ensembles existed) or a sorted
tuple of two or more ints (a :class:`~grelu_cli.model.ensemble.ReplicateEnsemble`). ``all``
is resolved here, from the zoo registry (no download, no torch), so the provenance and the
run fingerprint record the replicates themselves. A list that names one replicate is that
replicate. Mistakes are :class:`~grelu_cli.errors.UsageError` (exit 2) naming the bad value
and, for a zoo model, its replicates.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from grelu_cli.errors import UsageError
from grelu_cli.run.limits import check_value

Replicates = int | tuple[int, ...] | None

_NUMBER = re.compile(r"^\d+$")


def parse_replicates(
    value: int | str | Sequence[int] | None, model: str, species: str | None = None
) -> Replicates:
    """The replicate(s) ``value`` names for ``model`` (see the module docstring).

    Args:
        value: ``None``, ``2``, ``"2"``, ``"0,1,3"``, ``"all"`` or ``[0, 1]``.
        model: the ``--model`` value (a zoo name selects the registry record).
        species: ``--species`` (default: the record's first species).
    """
    if value is None:
        return None
    if isinstance(value, int):
        numbers = [value]
    elif isinstance(value, str):
        text = value.strip()
        if text.lower() == "all":
            return _all(model, species)
        tokens = [t.strip() for t in text.split(",")]
        bad = next((t for t in tokens if not _NUMBER.match(t)), None)
        if bad is not None:
            raise UsageError(
                f"--replicate {value!r}: {bad!r} is not a replicate number",
                fix="pass one number (--replicate 1), a comma list (--replicate 0,1,2,3) or all",
            )
        numbers = [int(t) for t in tokens]
    else:
        numbers = [int(v) for v in value]
    if not numbers:
        raise UsageError("--replicate: the list is empty", fix="pass e.g. --replicate 0,1")
    for n in numbers:
        check_value("replicate", n)
    if len(set(numbers)) < len(numbers):
        dup = next(n for n in numbers if numbers.count(n) > 1)
        raise UsageError(
            f"--replicate {_text(value)} names replicate {dup} twice",
            fix="name each replicate once",
        )
    if len(numbers) == 1:
        # One replicate: the single-model path. A zoo model's replicate is checked here;
        # anything else is left to the loader (which refuses --replicate for non-zoo models).
        available = _zoo_replicates(model, species, _text(value), required=False)
        if available and numbers[0] not in available:
            _refuse(model, value, numbers, available)
        return numbers[0]
    available = _zoo_replicates(model, species, _text(value))
    if any(n not in available for n in numbers):
        _refuse(model, value, numbers, available)
    return tuple(sorted(numbers))


def _refuse(
    model: str, value: int | str | Sequence[int], numbers: list[int], available: Sequence[int]
) -> None:
    missing = [n for n in numbers if n not in available]
    raise UsageError(
        f"--replicate {_text(value)}: model '{model}' has {len(available)} replicate"
        f"{'s' if len(available) != 1 else ''} ({_span(available)}), no "
        f"{', '.join(map(str, missing))}",
        fix=f"choose from {', '.join(map(str, available))}, or pass --replicate all",
    )


def _all(model: str, species: str | None) -> Replicates:
    available = _zoo_replicates(model, species, "all")
    return available[0] if len(available) == 1 else available


def _zoo_replicates(
    model: str, species: str | None, typed: str, required: bool = True
) -> tuple[int, ...]:
    """The replicates of zoo model ``model`` for ``species``; for any other model a
    UsageError, or ``()`` when not ``required``. An unknown species is left to the loader."""
    from grelu_cli.zoo.registry import find_record

    record = None if Path(model).expanduser().is_file() else find_record(model)
    if record is None or not record.files:
        if not required:
            return ()
        raise UsageError(
            f"--replicate {typed} averages the replicates of a zoo model, but '{model}' is "
            "not one (an ensemble of checkpoint files is not supported)",
            fix="pass one checkpoint without --replicate, or name a zoo model "
            "('grelu models list')",
        )
    chosen = species or record.files[0].species
    reps = tuple(sorted(f.replicate for f in record.files if f.species == chosen))
    if not reps:
        if not required:
            return ()
        raise UsageError(
            f"model '{record.name}' has no weights for species '{chosen}'",
            fix=f"choose --species from {', '.join(record.species)}",
        )
    return reps


def _text(value: int | str | Sequence[int]) -> str:
    if isinstance(value, (int, str)):
        return str(value)
    return ",".join(str(v) for v in value)


def _span(reps: Sequence[int]) -> str:
    """``0..3`` for a run of numbers, else the numbers."""
    if len(reps) > 2 and list(reps) == list(range(reps[0], reps[-1] + 1)):
        return f"{reps[0]}..{reps[-1]}"
    return ", ".join(map(str, reps))
