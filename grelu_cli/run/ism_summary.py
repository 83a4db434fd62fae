"""What a finished ``grelu ism`` run reports (the summary line and its JSON fields)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ISMSummary:
    """What a finished ISM run did.

    Attributes:
        output: the ``output`` option; ``files``: the final files written (or found complete).
        counts: input counts (regions, windows, padded...).
        regions: regions mutated by this run (a shard's share).
        mutants: mutant windows scored by this run.
        method: ``fast`` or ``plain``; seconds: wall time; ism_seconds: the part spent
            mutating and predicting (no model load, no writing): ``mutants_per_s`` uses it.
        shard: ``"i/N"`` or None; region_range: the run's ``[lo, hi)``.
        clipped: delta values clipped to float16 (zarr ``--dtype float16``).
        already_complete: ``resume`` found the output finished and left it as it was.
        warnings: every warning the run gave.
    """

    output: str
    files: list[str]
    counts: dict[str, int] = field(default_factory=dict)
    regions: int = 0
    mutants: int = 0
    method: str = ""
    seconds: float = 0.0
    ism_seconds: float = 0.0
    shard: str | None = None
    region_range: tuple[int, int] = (0, 0)
    clipped: int = 0
    already_complete: bool = False
    warnings: list[str] = field(default_factory=list)

    @property
    def mutants_per_s(self) -> float:
        return self.mutants / self.ism_seconds if self.ism_seconds > 0 else 0.0

    def line(self) -> str:
        """The one-line human summary."""
        where = ", ".join(self.files)
        if self.already_complete:
            note = f"; {'; '.join(self.warnings)}" if self.warnings else ""
            return f"{where}: already complete (--resume); nothing to do{note}"
        lo, hi = self.region_range
        part = f" (shard {self.shard}: regions {lo:,}-{hi:,})" if self.shard is not None else ""
        return (
            f"mutated {self.regions:,} region{'' if self.regions == 1 else 's'}{part}: "
            f"{self.mutants:,} mutants ({self.method} ISM, {self.mutants_per_s:,.0f}/s) in "
            f"{self.seconds:.1f} s -> {where}"
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
            "shard_regions": self.regions,
            "mutants": self.mutants,
            "mutants_per_s": round(self.mutants_per_s, 1),
            "method": self.method,
            **({"clipped": self.clipped} if self.clipped else {}),
            **self.counts,
        }
