"""One exception hierarchy for grelu-cli.

Every error the library raises on purpose is a :class:`GreluCliError`. Each subclass also
subclasses the matching builtin, so library users can catch ``ValueError`` or
``FileNotFoundError`` as usual, and carries the CLI exit code of its class (README, "Errors
and exit codes"):

    0 ok, 1 internal, 2 usage, 3 bad input data, 4 missing resource, 5 out of memory.

Messages follow one shape: ``<what is wrong, which value, where>`` plus an optional ``fix``;
``str(err)`` renders ``"what (fix)"`` so the CLI can print it on one line.
"""

from __future__ import annotations


class GreluCliError(Exception):
    """Base class. ``exit_code`` is the process exit status the CLI uses for this class."""

    exit_code: int = 1

    def __init__(self, message: str, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.message} ({self.fix})" if self.fix else self.message


class UsageError(GreluCliError, ValueError):
    """A bad option or option value (exit 2)."""

    exit_code = 2


class ArgumentError(UsageError, TypeError):
    """A Python API call with an unknown keyword, a missing one or a value of the wrong type
    (exit 2); also a ``TypeError``, as Python's own error for a bad call is."""


class InputDataError(GreluCliError, ValueError):
    """Input files or their contents are invalid: BED, FASTA, checkpoints (exit 3)."""

    exit_code = 3


class UnsafeCheckpointError(InputDataError):
    """A checkpoint holds objects outside the safe-loading allowlist (exit 3)."""


class MissingResourceError(GreluCliError, FileNotFoundError):
    """A file, model or cached weight that should exist does not (exit 4)."""

    exit_code = 4


class DownloadError(MissingResourceError):
    """Fetching weights failed or the download did not verify (exit 4)."""


class OutputExistsError(UsageError, FileExistsError):
    """The output exists and neither --overwrite nor --resume was given (exit 2)."""


class OutputLockedError(UsageError):
    """Another grelu process is writing the same output right now (exit 2)."""


class OutputWriteError(GreluCliError, OSError):
    """An output cannot be written: no space left, read-only or permission denied (exit 4).

    An environment problem, not a bug: free space, fix the permissions or choose another -o.
    """

    exit_code = 4

    def __init__(self, message: str, fix: str | None = None) -> None:
        GreluCliError.__init__(self, message, fix)


class OutOfMemoryError(GreluCliError, MemoryError):
    """The device ran out of memory even at the smallest batch size (exit 5)."""

    exit_code = 5


#: Exit status of a run stopped by Ctrl-C or SIGTERM.
EXIT_INTERRUPTED = 130


def describe_error(err: BaseException) -> tuple[str, int]:
    """The one-line message (without ``error:``) and exit code for ``err``.

    Data, not output: the CLI prints the line, a device worker sends it to its parent.
    (Typer's own usage errors are described by :mod:`grelu_cli.cli.errors`.)
    """
    if isinstance(err, GreluCliError):
        return str(err), err.exit_code
    if isinstance(err, KeyboardInterrupt):
        line = "interrupted (no output was written; a --resume run keeps its finished chunks)"
        return line, EXIT_INTERRUPTED
    # torch.cuda.OutOfMemoryError / torch.OutOfMemoryError, matched by name so this module
    # never imports torch.
    if isinstance(err, MemoryError) or type(err).__name__ == "OutOfMemoryError":
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        return f"out of memory: {first} (lower --batch-size or use --batch-size auto)", 5
    if isinstance(err, FileNotFoundError):
        return f"file not found: {err.filename or err} (check the path)", 4
    return (
        f"internal error: {type(err).__name__}: {err} "
        "(rerun with --debug for the traceback and report it)",
        1,
    )
