"""How a run reports while it works: an observer the caller passes in.

The library never prints. A run calls its observer's :meth:`~RunObserver.start`,
:meth:`~RunObserver.info`, :meth:`~RunObserver.warn` and :meth:`~RunObserver.progress`; the
CLI's :class:`grelu_cli.cli.runlog.RunLog` renders them on stderr (text or JSON lines), and
:class:`SilentObserver` (the API's default) keeps the warnings and shows nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Protocol


class Progress(Protocol):
    """Finished work of one run, advanced as it is done."""

    def skip(self, n: int) -> None:
        """``n`` units were done by an earlier run (resume); they do not count in rates."""

    def advance(self, n: int, bp: int = 0) -> None:
        """``n`` more units are done, covering ``bp`` input bases."""


class RunObserver(Protocol):
    """What a run tells its caller. Every method may be a no-op."""

    #: Whether model downloads may draw their own progress bar on stderr.
    show_downloads: bool
    #: Whether progress is shown: a run may skip counting its total when not (optional
    #: attribute, read with ``getattr(observer, "shows_progress", False)``).
    shows_progress: bool

    def start(self, command: str, **fields: Any) -> None:
        """The run begins (after the cheap checks)."""

    def info(self, message: str) -> None:
        """A one-line note (e.g. 'resuming ...')."""

    def warn(self, message: str, **counts: Any) -> None:
        """A warning; ``counts`` say how many things it covers."""

    def progress(self, total: int, what: str = "windows") -> AbstractContextManager[Progress]:
        """Track ``total`` units of work (``what``: windows, or records for variants)."""


class _NoProgress:
    def skip(self, n: int) -> None:
        pass

    def advance(self, n: int, bp: int = 0) -> None:
        pass


class SilentObserver:
    """Shows nothing; keeps every warning in :attr:`warnings`."""

    show_downloads = False
    shows_progress = False

    def __init__(self) -> None:
        self.warnings: list[str] = []

    def start(self, command: str, **fields: Any) -> None:
        pass

    def info(self, message: str) -> None:
        pass

    def warn(self, message: str, **counts: Any) -> None:
        self.warnings.append(message)

    @contextmanager
    def progress(self, total: int, what: str = "windows") -> Iterator[Progress]:
        yield _NoProgress()
