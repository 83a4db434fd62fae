"""Messages and progress for one command run, written to stderr; :func:`execute` runs a job
command with a :class:`RunLog` (the CLI's :class:`~grelu_cli.run.observer.RunObserver`).

- ``text`` (default): a rich progress bar (windows, regions/s, bp/s, ETA) while a terminal is
  attached, warnings as ``warning: ...`` lines, and a one-line summary at the end. The bar goes
  quiet when stderr is not a terminal (workflow logs) or with ``--quiet``.
- ``json``: one JSON object per line (``{"event": "start" | "progress" | "warning" | "summary"
  | "error", ...}``) for workflow engines; progress events at most every few seconds.

Data never goes to stderr, and messages never go to stdout (a dry run's report is the
command's output: stdout).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any, Literal, TextIO

import typer

from grelu_cli.cli.params import CLI_ONLY
from grelu_cli.core.choices import LOG_FORMATS
from grelu_cli.errors import UsageError

LogFormat = Literal["text", "json"]

JSON_PROGRESS_EVERY_S = 5.0


def execute(options: dict[str, Any], make_job: Callable[..., Any]) -> None:
    """Run a job command: ``options`` are its parameters, the keywords of ``make_job`` (the
    API's ``job``/``variants_job``) plus ``dry_run``, ``quiet`` and ``log_format``.

    Options left out (None) take the API's defaults, which are the CLI's (a test checks it).
    ``--dry-run`` prints the report of :func:`grelu_cli.run.job.dry_run` and exits 0, or 3 when
    the input has problems; otherwise :func:`grelu_cli.run.job.run_job` (the one entry point
    of every job kind) and the summary line.
    """
    from grelu_cli.run.job import dry_run as check
    from grelu_cli.run.job import run_job as run

    dry_run, quiet, log_format = (options.pop(name) for name in CLI_ONLY)
    if log_format not in LOG_FORMATS:
        fix = "use one of " + ", ".join(LOG_FORMATS)
        raise UsageError(f"--log-format {log_format!r} is not allowed", fix=fix)
    if options.get("output", "") is None and not dry_run:  # grelu variants without -o
        raise UsageError("no output given", fix="pass -o OUT.parquet (or --dry-run)")
    job = make_job(**{name: value for name, value in options.items() if value is not None})
    if dry_run:
        report = check(job)
        for line in report.lines:
            typer.echo(line)
        raise typer.Exit(0 if report.ok else 3)
    log = RunLog(log_format, quiet=quiet)
    summary = run(job, log)
    log.summary(summary.line(), **summary.fields())


class RunLog:
    """Report a run's start, progress, warnings and summary on stderr."""

    def __init__(
        self, fmt: LogFormat = "text", quiet: bool = False, stream: TextIO | None = None
    ) -> None:
        self.fmt = fmt
        self.quiet = quiet
        #: Model downloads may draw their own bar (RunObserver protocol).
        self.show_downloads = fmt == "text" and not quiet
        self.stream = stream if stream is not None else sys.stderr
        #: Progress is drawn (a tty) or emitted (json) (RunObserver protocol).
        self.shows_progress = fmt == "json" or (not quiet and self.stream.isatty())
        self._t0 = time.perf_counter()
        self.n_warnings = 0

    @property
    def elapsed(self) -> float:
        """Seconds since this log was created."""
        return time.perf_counter() - self._t0

    def _emit(self, event: str, **fields: Any) -> None:
        record = {"event": event, "time": round(time.time(), 3), **fields}
        self.stream.write(json.dumps(record, default=str) + "\n")
        self.stream.flush()

    def start(self, command: str, **fields: Any) -> None:
        """Announce the run (json only: humans see the progress bar)."""
        if self.fmt == "json":
            self._emit("start", command=command, **fields)

    def info(self, message: str) -> None:
        """A one-line note for humans (e.g. 'indexing genome.fa'); json: an info event."""
        if self.fmt == "json":
            self._emit("info", message=message)
        elif not self.quiet:
            self.stream.write(f"{message}\n")

    def warn(self, message: str, **counts: Any) -> None:
        """A warning; always shown, also with --quiet. ``counts`` (json) say how many."""
        self.n_warnings += 1
        if self.fmt == "json":
            self._emit("warning", message=message, **counts)
        else:
            self.stream.write(f"warning: {message}\n")

    def error(self, message: str, exit_code: int) -> None:
        """json only: the error as an event (the plain ``error:`` line is printed as well)."""
        if self.fmt == "json":
            self._emit("error", message=message, exit_code=exit_code)

    def summary(self, line: str, **fields: Any) -> None:
        """The closing line: counts, seconds, output path."""
        if self.fmt == "json":
            fields.setdefault("warnings", self.n_warnings)
            self._emit("summary", seconds=round(self.elapsed, 3), **fields)
        elif not self.quiet:
            self.stream.write(f"{line}\n")

    @contextmanager
    def progress(self, total: int, what: str = "windows") -> Iterator[Progress]:
        """Track ``total`` units of work; yields a :class:`Progress` to advance."""
        drawn = self.fmt == "text" and not self.quiet and self.stream.isatty()
        bar = _rich_bar(total, what, self.stream) if drawn else None
        with bar if bar is not None else nullcontext():
            yield Progress(self, total, what, bar)


class Progress:
    """Counts of finished work; feeds a rich bar or periodic JSON progress events."""

    def __init__(self, log: RunLog, total: int, what: str, bar: Any) -> None:
        self.log, self.total, self.what, self.bar = log, total, what, bar
        self.done = 0
        self._skipped = 0
        self.bp = 0
        self._t0 = time.perf_counter()
        self._last_emit = self._t0

    def skip(self, n: int) -> None:
        """Count ``n`` units done by an earlier run (--resume); they do not count in rates."""
        self.done += n
        self._skipped += n

    def advance(self, n: int, bp: int = 0) -> None:
        """Record ``n`` more finished units covering ``bp`` input bases."""
        self.done += n
        self.bp += bp
        if self.bar is not None:
            rate = f"{self.rate:,.1f}/s {_human_bp(self.bp_rate)}/s"
            self.bar.update(self.bar.task_ids[0], completed=self.done, rate=rate)
        elif self.log.fmt == "json":
            now = time.perf_counter()
            if now - self._last_emit >= JSON_PROGRESS_EVERY_S or self.done >= self.total:
                self._last_emit = now
                self.log._emit(
                    "progress",
                    done=self.done,
                    total=self.total,
                    unit=self.what,
                    per_s=round(self.rate, 2),
                    bp_per_s=round(self.bp_rate, 1),
                )

    @property
    def rate(self) -> float:
        """Units per second so far."""
        dt = time.perf_counter() - self._t0
        return (self.done - self._skipped) / dt if dt > 0 else 0.0

    @property
    def bp_rate(self) -> float:
        """Input bases per second so far."""
        dt = time.perf_counter() - self._t0
        return self.bp / dt if dt > 0 else 0.0


def _rich_bar(total: int, what: str, stream: TextIO) -> Any:
    """A rich progress bar on ``stream`` with one task; imported here so start-up stays fast."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.progress import Progress as RichProgress

    bar = RichProgress(
        TextColumn("[bold]predict"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(what),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=Console(file=stream),
        transient=False,
    )
    bar.add_task("predict", total=total, rate="")
    return bar


def _human_bp(bp: float) -> str:
    for unit, scale in (("Gbp", 1e9), ("Mbp", 1e6), ("kbp", 1e3)):
        if bp >= scale:
            return f"{bp / scale:.1f} {unit}"
    return f"{bp:.0f} bp"
