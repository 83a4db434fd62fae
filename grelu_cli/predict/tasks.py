"""Which output tracks a run computes and keeps: ``--tasks``, ``--tasks-file``, ``--tasks-query``.

:func:`resolve_tasks` turns the user's selection into row indices of the model's tasks table
(with clear errors for unknown names or an empty selection). :func:`plan_tasks` then decides
which channels the model must *compute*: the selection itself, plus, with ``--rc`` on a model
whose tasks table has ``strand_pair``, the partner of every selected stranded track (the
reverse-complement pass predicts the partner's strand, so its values are swapped in before
the partner is dropped again). For a softmax output every task is computed, because softmax
normalises over all tasks and would change if channels were removed first.
"""

from __future__ import annotations

import difflib
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from grelu_cli.errors import InputDataError, MissingResourceError, UsageError

if TYPE_CHECKING:
    import pandas as pd


def read_tasks_file(path: str | Path) -> list[str]:
    """Task names from a text file, one per line; blank lines and ``#`` comments skipped."""
    p = Path(path)
    try:
        text = p.read_text()
    except FileNotFoundError:
        raise MissingResourceError(
            f"tasks file {str(p)!r} does not exist", fix="check the --tasks-file path"
        ) from None
    except (OSError, UnicodeDecodeError) as e:
        raise InputDataError(
            f"tasks file {str(p)!r} cannot be read as text: {e}",
            fix="give a text file with one task name per line",
        ) from None
    names = [line.split("#", 1)[0].strip() for line in text.splitlines()]
    return [n for n in names if n]


def _info_command(model: str | None) -> str:
    """The command that lists a model's tasks table, with the model's name when known."""
    return f"grelu models info {shlex.quote(model) if model else 'MODEL'} --tasks"


def _by_names(
    names: Sequence[str], table_names: list[str], where: str, model: str | None = None
) -> list[int]:
    index: dict[str, int] = {}
    for i, n in enumerate(table_names):
        index.setdefault(n, i)
    out: list[int] = []
    for n in names:
        if n not in index:
            close = difflib.get_close_matches(n, table_names, n=5, cutoff=0.6)
            hint = f"close matches: {', '.join(close)}" if close else "no close match"
            raise UsageError(
                f"unknown task {n!r} in {where} ({hint})",
                fix=f"run '{_info_command(model)}' to list the model's tasks",
            )
        if index[n] not in out:  # keep the first mention; a repeat adds nothing
            out.append(index[n])
    return out


def resolve_tasks(
    tasks: pd.DataFrame,
    *,
    names: Sequence[str] | None = None,
    file: str | Path | None = None,
    query: str | None = None,
    model: str | None = None,
) -> list[int] | None:
    """Row indices of the selected tasks, or None when no selection was given (all tasks).

    Args:
        tasks: the model's tasks table (a ``name`` column plus metadata columns).
        names: task names (``--tasks a,b``), in the order they should be written.
        file: a file of task names, one per line (``--tasks-file``).
        query: an expression over the table's columns (``--tasks-query``) in the small, safe
            language of :mod:`grelu_cli.predict.task_query` (never pandas' ``query``), e.g.
            ``assay == 'CAGE' and sample.str.contains('K562')``. Rows keep table order.
        model: the model as the user named it, for the hint in error messages.

    At most one of the three may be given. Raises UsageError for unknown names (listing close
    matches), a query outside the language or not true/false per task, or a selection that
    matches no task.
    """
    given = [
        k
        for k, v in (("--tasks", names), ("--tasks-file", file), ("--tasks-query", query))
        if v is not None
    ]
    if len(given) > 1:
        raise UsageError(
            f"{' and '.join(given)} were both given", fix="select tasks with one of them"
        )
    if not given:
        return None
    table_names = [str(n) for n in tasks["name"]]
    if names is not None:
        selected = _by_names(
            [str(n).strip() for n in names if str(n).strip()], table_names, "--tasks", model
        )
        where = "--tasks"
    elif file is not None:
        selected = _by_names(read_tasks_file(file), table_names, f"--tasks-file {file}", model)
        where = f"--tasks-file {file}"
    else:
        assert query is not None
        from grelu_cli.predict.task_query import select_rows

        selected = select_rows(tasks, query, model=model)
        where = f"--tasks-query {query!r}"
    if not selected:
        raise UsageError(
            f"{where} selects no task (the model has {len(table_names)})",
            fix=f"run '{_info_command(model)}' to list the model's tasks and their columns",
        )
    return selected


@dataclass(frozen=True)
class TaskPlan:
    """Channels to compute and how to turn them into the selected output tracks.

    Attributes:
        selected: table rows of the output tracks, in output order (length T).
        computed: table rows the model computes, in channel order (length Tc >= T).
        keep: (T,) positions in ``computed`` of the selected tracks.
        rc_swap: (Tc,) for reverse-complement passes, channel ``k`` takes the value of
            channel ``rc_swap[k]`` (the strand partner); None when nothing is swapped.
        use_select_tasks: restrict the model's head to ``computed`` (fewer channels
            computed) instead of slicing its full output.
        slice_model_output: positions of ``computed`` in the model's full output, used when
            the head is not restricted (None when the model already outputs ``computed``).
    """

    selected: tuple[int, ...]
    computed: tuple[int, ...]
    keep: tuple[int, ...]
    rc_swap: tuple[int, ...] | None
    use_select_tasks: bool
    slice_model_output: tuple[int, ...] | None

    @property
    def drops(self) -> bool:
        """True when some computed channels are not written (strand partners)."""
        return self.keep != tuple(range(len(self.computed)))


def strand_pairs(tasks: pd.DataFrame | None, n_tasks: int) -> list[int] | None:
    """The ``strand_pair`` column as 0-based partner indices, validated; None when absent.

    Raises InputDataError when a value is missing, out of range, or not mutual.
    """
    if tasks is None or "strand_pair" not in tasks.columns:
        return None
    raw = list(tasks["strand_pair"])
    pairs: list[int] = []
    for i, v in enumerate(raw):
        if v is None or (isinstance(v, float) and v != v):
            pairs.append(i)  # missing (None/NaN): an unstranded track, its own partner
            continue
        try:
            p = int(v)
        except (TypeError, ValueError):
            p = -1
        if not 0 <= p < n_tasks or p != v:
            raise InputDataError(
                f"tasks table row {i}: strand_pair {v!r} is not a task index 0..{n_tasks - 1}",
                fix="strand_pair must hold the 0-based index of the paired track "
                "(its own index for unstranded tracks)",
            )
        pairs.append(p)
    for i, p in enumerate(pairs):
        if pairs[p] != i:
            raise InputDataError(
                f"tasks table row {i}: strand_pair {p} is not mutual (row {p} pairs with "
                f"{pairs[p]})",
                fix="each stranded track must name its partner and the partner it",
            )
    return pairs


def plan_tasks(
    n_tasks: int,
    selected: Sequence[int] | None,
    *,
    pairs: Sequence[int] | None = None,
    rc: bool = False,
    elementwise: bool = True,
    can_select: bool = True,
) -> TaskPlan:
    """Decide what the model computes for a selection.

    Args:
        n_tasks: channels the full model outputs.
        selected: table rows to output (None = all, in table order).
        pairs: strand partner of every task (from :func:`strand_pairs`), or None.
        rc: reverse-complement augmentation is on (partners must be computed and swapped).
        elementwise: the output activation acts per channel (False for softmax, which needs
            every channel computed).
        can_select: the model has ``select_tasks``.
    """
    sel = list(range(n_tasks)) if selected is None else [int(i) for i in selected]
    bad = [i for i in sel if not 0 <= i < n_tasks]
    if bad:
        raise UsageError(
            f"task indices {bad} are out of range for a model with {n_tasks} tasks",
            fix="select tasks by name from 'grelu models info MODEL'",
        )
    # the strand partners when outputs must be swapped, else None
    swap = (
        pairs if rc and pairs is not None and any(pairs[i] != i for i in range(n_tasks)) else None
    )
    computed = list(sel)
    if swap is not None:
        for i in sel:
            if swap[i] not in computed:
                computed.append(swap[i])
    if not elementwise:
        # softmax over tasks: compute all channels in table order, activate, then select.
        computed = list(range(n_tasks))
    pos = {t: k for k, t in enumerate(computed)}
    keep = tuple(pos[i] for i in sel)
    rc_swap = tuple(pos[swap[t]] for t in computed) if swap is not None else None
    full = computed == list(range(n_tasks))
    use_select = can_select and not full
    slice_out = None if (use_select or full) else tuple(computed)
    return TaskPlan(
        selected=tuple(sel),
        computed=tuple(computed),
        keep=keep,
        rc_swap=rc_swap,
        use_select_tasks=use_select,
        slice_model_output=slice_out,
    )
