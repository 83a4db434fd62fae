"""Track strands and strand collapsing for gene outputs (Calico's ``targets_prep_strand``).

A track's strand is, in this order: the tasks table's ``strand`` column; else the last
character of its ``name`` when its ``strand_pair`` is another track (Borzoi's ``...+`` /
``...-`` identifiers); else unstranded (``.``).

Gene outputs have one *gene task* per strand pair plus one per unstranded track, in table order
of the tracks whose strand is not ``-`` (Calico's ``targets_strand_df``); a pair is named by its
``+`` member (or by the ``pair`` column, when the table has one). A ``+`` gene reads, for each
gene task, the member whose strand is not ``-``; a ``-`` gene the member whose strand is not
``+`` (Calico's gene strand mask). Calico pairs these by position in the two masks; here by the
``strand_pair`` column, which is the same on Borzoi's tables (pairs listed in the same order).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from grelu_cli.errors import InputDataError
from grelu_cli.predict.tasks import strand_pairs

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class GeneTasks:
    """The gene tasks of a tasks table with T tracks; K gene tasks.

    Attributes:
        names: (K,) gene task names.
        plus: (K,) int64 track a '+' gene reads for each gene task.
        minus: (K,) int64 track a '-' gene reads (the same track for unstranded ones).
        track_strand: (T,) '<U1' each track's strand: '+', '-' or '.'.
    """

    names: list[str]
    plus: np.ndarray
    minus: np.ndarray
    track_strand: np.ndarray

    def __len__(self) -> int:
        return len(self.names)

    def columns(self, gene_minus: np.ndarray) -> np.ndarray:
        """Tracks to read: gene_minus (G,) bool -> (G, K) int64 track indices."""
        return np.where(np.asarray(gene_minus, dtype=bool)[:, None], self.minus, self.plus)


def _names(tasks: pd.DataFrame) -> list[str]:
    if "name" in tasks.columns:
        return [str(v) for v in tasks["name"]]
    return [str(i) for i in range(len(tasks))]


def _strand_value(v: object) -> str:
    s = "" if v is None or (isinstance(v, float) and v != v) else str(v).strip()
    return s if s in ("+", "-") else "."


def track_strands(tasks: pd.DataFrame) -> tuple[np.ndarray, list[int]]:
    """Each track's strand and strand partner: ((T,) '<U1', (T,) partner index).

    Raises:
        InputDataError: a stranded track without a partner, a pair whose members are not
            one '+' and one '-', or a name whose last character is neither (no strand column).
    """
    n = len(tasks)
    names = _names(tasks)
    pairs = strand_pairs(tasks, n) or list(range(n))
    if "strand" in tasks.columns:
        strand = [_strand_value(v) for v in tasks["strand"]]
        where = "its strand column"
    else:
        strand = ["." if pairs[i] == i else names[i][-1:] for i in range(n)]
        where = "the last character of its name"
    for i in range(n):
        p = pairs[i]
        if p == i:
            if strand[i] != ".":
                raise InputDataError(
                    f"tasks table row {i} ({names[i]!r}) has strand {strand[i]} but no "
                    "strand_pair partner",
                    fix="give stranded tracks a strand_pair, or mark the track '.'",
                )
            continue
        if {strand[i], strand[p]} != {"+", "-"}:
            raise InputDataError(
                f"tasks table rows {i} and {p} ({names[i]!r}, {names[p]!r}) are a strand pair "
                f"but their strands, from {where}, are {strand[i]!r} and {strand[p]!r}",
                fix="one member of a pair must be '+' and the other '-' (add a strand column)",
            )
    return np.array(strand, dtype="<U1"), pairs


def gene_tasks(tasks: pd.DataFrame) -> GeneTasks:
    """The strand-collapsed gene tasks of a tasks table (see the module docstring)."""
    strand, pairs = track_strands(tasks)
    n = len(tasks)
    names = _names(tasks)
    pair_names = list(tasks["pair"]) if "pair" in tasks.columns else [None] * n
    keep = [i for i in range(n) if strand[i] != "-"]
    plus = np.array(keep, dtype=np.int64)
    minus = np.array([pairs[i] for i in keep], dtype=np.int64)
    out_names = []
    for i in keep:
        pn = pair_names[i]
        has = pn is not None and not (isinstance(pn, float) and pn != pn) and str(pn) != ""
        out_names.append(str(pn) if has and pairs[i] != i else names[i])
    return GeneTasks(names=out_names, plus=plus, minus=minus, track_strand=strand)
