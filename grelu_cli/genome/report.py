"""Collect input problems as one-line messages, so ``--dry-run`` can list them all.

Readers and :func:`grelu_cli.genome.validate.validate` add errors and warnings here instead of
raising at the first one; a normal run then raises the first error (exit 3) with a count of the
rest. Each message names the file, line and value, and says how to fix it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from grelu_cli.errors import InputDataError

#: Messages kept per kind; beyond this only the count grows (a million bad lines stay cheap).
MAX_MESSAGES = 50


@dataclass
class ValidationReport:
    """Errors and warnings found in the input, with their full counts.

    Attributes:
        errors, warnings: the first :data:`MAX_MESSAGES` messages of each kind.
        n_errors, n_warnings: how many there were in all.
    """

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    n_errors: int = 0
    n_warnings: int = 0

    def error(self, message: str) -> None:
        """Record one error message."""
        self.n_errors += 1
        if len(self.errors) < MAX_MESSAGES:
            self.errors.append(message)

    def more_errors(self, count: int) -> None:
        """Count ``count`` further errors of a kind already shown (no message kept)."""
        self.n_errors += count

    def warn(self, message: str) -> None:
        """Record one warning message."""
        self.n_warnings += 1
        if len(self.warnings) < MAX_MESSAGES:
            self.warnings.append(message)

    @property
    def ok(self) -> bool:
        """True when there are no errors (warnings allowed)."""
        return self.n_errors == 0

    def lines(self) -> list[str]:
        """Every kept message as ``error: ...``/``warning: ...`` lines, with overflow counts."""
        out = [f"error: {m}" for m in self.errors]
        if self.n_errors > len(self.errors):
            out.append(f"error: ... and {self.n_errors - len(self.errors)} more errors")
        out += [f"warning: {m}" for m in self.warnings]
        if self.n_warnings > len(self.warnings):
            out.append(f"warning: ... and {self.n_warnings - len(self.warnings)} more warnings")
        return out

    def raise_if_errors(self) -> None:
        """Raise the first error as :class:`InputDataError` (exit 3), noting how many follow.

        Raises:
            InputDataError: when there is at least one error.
        """
        if self.n_errors == 0:
            return
        more = self.n_errors - 1
        fix = f"{more} more problem(s); --dry-run lists them" if more else None
        raise InputDataError(self.errors[0], fix=fix)
