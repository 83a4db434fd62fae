"""What a finished run reports: one summary per job kind, the dry-run reports, and the
:class:`Recorder` that keeps every warning a run gives for its summary.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from grelu_cli.run.observer import Progress, RunObserver


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


@dataclass(frozen=True)
class PredictSummary:
    """What a finished run did.

    Attributes:
        output: the ``output`` option; ``files``: the final files written (or found complete).
        counts: regions, windows, padded/dropped/shifted windows, padded bases (whole input).
        windows: windows predicted by this run (a shard's share; 0 when already complete).
        forward_passes: model inputs run: windows x augmented copies (``rc``, ``shifts``).
        seconds: wall time of the run.
        shard: ``"i/N"`` or None; ``window_range``: the run's ``[lo, hi)``.
        nonfinite: NaN/inf predictions not written to bigWig.
        clipped: predictions clipped to the float16 range (zarr ``--dtype float16``).
        already_complete: ``resume`` found the output finished and left it as it was.
        warnings: every warning the run gave.
        regions_word: what ``counts["regions"]`` counts (``gene`` for ``--genes``).
    """

    output: str
    files: list[str]
    counts: dict[str, int] = field(default_factory=dict)
    windows: int = 0
    forward_passes: int = 0
    seconds: float = 0.0
    shard: str | None = None
    window_range: tuple[int, int] = (0, 0)
    nonfinite: int = 0
    clipped: int = 0
    already_complete: bool = False
    warnings: list[str] = field(default_factory=list)
    regions_word: str = "region"

    def line(self) -> str:
        """The one-line human summary."""
        where = ", ".join(self.files)
        if self.already_complete:
            note = f"; {'; '.join(self.warnings)}" if self.warnings else ""
            return f"{where}: already complete (--resume); nothing to do{note}"
        c = self.counts
        lo, hi = self.window_range
        part = f" (shard {self.shard}: windows {lo:,}-{hi:,})" if self.shard is not None else ""
        return (
            f"predicted {_plural(c.get('regions', 0), self.regions_word)} "
            f"({_plural(c.get('windows', 0), 'window')}, {c.get('padded_windows', 0):,} padded, "
            f"{c.get('dropped_windows', 0):,} dropped){part}, "
            f"{self.forward_passes:,} forward pass{'' if self.forward_passes == 1 else 'es'} "
            f"in {self.seconds:.1f} s -> {where}"
            + (f" ({self.clipped:,} values clipped to float16)" if self.clipped else "")
        )

    def fields(self) -> dict[str, Any]:
        """The machine-readable summary (JSON log event, API users)."""
        if self.already_complete:
            return {"output": self.output, "files": self.files, "already_complete": True}
        return {
            "output": self.output,
            "files": self.files,
            "shard": self.shard,
            "shard_windows": self.windows,
            "forward_passes": self.forward_passes,
            **({"clipped": self.clipped} if self.clipped else {}),
            **self.counts,
        }


@dataclass(frozen=True)
class DryRunReport:
    """What a run would do and every problem found; ``ok`` is False when there are errors."""

    lines: list[str]
    ok: bool


@dataclass(frozen=True)
class VariantSummary:
    """What a finished variants run did: ``counts`` (records, alleles, scored, windows,
    skipped_by_reason, ref_status), the tasks, the files written, wall seconds, warnings."""

    output: str
    files: list[str]
    counts: dict[str, Any]
    tasks: list[str]
    model: str
    seq_len: int
    seconds: float = 0.0
    shard: str | None = None
    record_range: tuple[int, int] = (0, 0)
    already_complete: bool = False
    warnings: list[str] = field(default_factory=list)

    def line(self) -> str:
        """The one-line human summary."""
        if self.already_complete:
            return f"{', '.join(self.files)}: already complete (--resume); nothing to do"
        c = self.counts
        lo, hi = self.record_range
        part = f"shard {self.shard}: records {lo:,}-{hi:,}; " if self.shard is not None else ""
        skipped = ", ".join(f"{k} {v:,}" for k, v in c["skipped_by_reason"].items() if v)
        genes = f"; {c['no_gene']:,} with no gene" if c.get("no_gene") is not None else ""
        return (
            f"scored {c['scored']:,} of {c['alleles']:,} alleles ({part}{c['records']:,} records, "
            f"{c['windows']:,} windows; skipped: {skipped or 'none'}{genes}) in "
            f"{self.seconds:.1f} s -> {', '.join(self.files)}"
        )

    def fields(self) -> dict[str, Any]:
        """The machine-readable summary (JSON log event, API users)."""
        if self.already_complete:
            return {"output": self.output, "files": self.files, "already_complete": True}
        return {"output": self.output, "files": self.files, "shard": self.shard, **self.counts}


@dataclass(frozen=True)
class VariantCheck:
    """What ``--dry-run`` reports: ``lines`` (printed), ``counts``, ``n_errors``."""

    lines: list[str]
    counts: dict[str, Any]
    n_errors: int

    @property
    def ok(self) -> bool:
        """No errors were found."""
        return self.n_errors == 0


class Recorder:
    """Passes everything to the caller's observer and keeps the warnings for the summary."""

    def __init__(self, inner: RunObserver) -> None:
        self.inner = inner
        self.show_downloads = inner.show_downloads
        self.shows_progress = bool(getattr(inner, "shows_progress", False))
        self.messages: list[str] = []

    def start(self, command: str, **fields: Any) -> None:
        self.inner.start(command, **fields)

    def info(self, message: str) -> None:
        self.inner.info(message)

    def warn(self, message: str, **counts: Any) -> None:
        self.messages.append(message)
        self.inner.warn(message, **counts)

    def progress(self, total: int, what: str = "windows") -> AbstractContextManager[Progress]:
        return self.inner.progress(total, what=what)
