"""Committed chunks and the manifest of a resumable run (``--resume``, ``--devices``).

A resumable run cuts its windows into chunks. Each finished chunk is written as its own
small parquet file (``part-000007.parquet``, per-window rows, atomically renamed into place)
in ``DIR/.NAME.partial.parts/``; then the manifest ``DIR/.NAME.partial.manifest.json`` is
rewritten atomically (temporary file, fsync, ``os.replace``) to list it. Only chunks the
manifest lists count: a part file written just before a kill, but not yet listed, is
predicted again. When every chunk is done the parts are stitched, in order, into the final
output (see :mod:`grelu_cli.io.formats.merge`), which is renamed into place; then the parts and
manifest are deleted. Nothing here ever has a final output's name, so a partial run is
never mistaken for a finished one.

The manifest also records what the run is, under neutral keys that serve every job kind
(:data:`IDENTITY`: fingerprint, shard, ``range`` of units, ``chunk_size``, ``grain`` (the unit
chunks are whole multiples of: a model batch of windows, a group of records), output target,
tasks), and the fingerprint's inputs: resuming with a different model, input or options is
refused, naming the option the user typed (the job kind passes its names in ``labels``).

The store holds the output's lock (:mod:`grelu_cli.io.fs.lock`) from :meth:`PartStore.open` to
:meth:`PartStore.discard` (or process exit), so a second process cannot write the same parts or
manifest; its names stay fixed so that a later ``--resume`` (a new process) finds them. Only the
final file's temporary name is unique per process (:mod:`grelu_cli.io.fs.atomic`).
"""

from __future__ import annotations

import contextlib
import json
import shutil
from pathlib import Path
from typing import Any

from grelu_cli.errors import UsageError
from grelu_cli.io.fs import lock
from grelu_cli.io.fs.atomic import manifest_path, parts_path
from grelu_cli.io.fs.fsafe import check_own, ensure_dir, make_parents, remove_stale, remove_tree
from grelu_cli.io.fs.fsafe import write_json_atomic as write_json_atomic
from grelu_cli.io.fs.oserrors import writing

MANIFEST_VERSION = 2
# What must match for a partial run to be continued (manifest key -> how messages name it;
# a job kind overrides ``range`` and ``chunk_size`` with its unit and option).
IDENTITY = {
    "fingerprint": "model, input or prediction options",
    "shard": "--shard",
    "range": "window range",
    "chunk_size": "--chunk-windows",
    "grain": "batch size (--batch-size: chunks hold whole batches)",
    "target": "output format or layout",
    "tasks": "tasks",
}
#: Recorded, not compared: what the fingerprint covers, to name what differs.
INPUTS_KEY = "fingerprint_inputs"


class PartStore:
    """The parts directory and manifest of one output (named after its first final path).

    Args:
        final: the output path (the first one, for a group of bigWig files).
        identity: the run's identity (keys of :data:`IDENTITY`), checked on resume.
        n_chunks: number of chunks in the run.
        resume: continue a matching partial run; otherwise any partial run is discarded.
        labels: how messages name identity keys, over :data:`IDENTITY`'s.
    """

    def __init__(
        self,
        final: str | Path,
        identity: dict[str, Any],
        n_chunks: int,
        resume: bool,
        labels: dict[str, str] | None = None,
    ) -> None:
        self.final = Path(final)
        self.dir = parts_path(self.final)
        self.manifest = manifest_path(self.final)
        self.identity = identity
        self.n_chunks = n_chunks
        self.resume = resume
        self.labels = {**IDENTITY, **(labels or {})}
        self.done: dict[int, int] = {}  # chunk -> rows
        self._lock: Path | None = None

    def open(self) -> int:
        """Lock the output, load a matching manifest (resume) or start fresh; returns chunks
        already done. Raises OutputLockedError when another process is writing the output."""
        try:
            return self._open()
        except BaseException:
            if self._lock is not None:  # refused (another run's manifest) or unwritable
                lock.release(self._lock)
                self._lock = None
            raise

    def _open(self) -> int:
        with writing(self.final):
            make_parents(self.final.parent)
            if self._lock is None:
                self._lock = lock.acquire(self.final)
            existing = self._load()
            if existing is not None and self.resume:
                self._check(existing)
                listed = {int(k): int(v) for k, v in existing.get("done", {}).items()}
                self.done = {k: v for k, v in listed.items() if self.part(k).is_file()}
            else:
                self._remove()
            ensure_dir(self.dir, "resume parts folder")
            self._write()
        return len(self.done)

    def todo(self) -> list[int]:
        """Chunks still to predict, in order."""
        return [k for k in range(self.n_chunks) if k not in self.done]

    def part(self, k: int) -> Path:
        """The part file of chunk ``k``."""
        return self.dir / f"part-{k:06d}.parquet"

    def commit(self, k: int, rows: int) -> None:
        """Record chunk ``k`` (its part file already in place) in the manifest."""
        self.done[k] = rows
        with writing(self.final):
            self._write()

    def forget(self, chunks: list[int]) -> None:
        """Take ``chunks`` off the manifest (their parts are bad): they are predicted again."""
        for k in chunks:
            self.done.pop(k, None)
            with contextlib.suppress(FileNotFoundError):
                self.part(k).unlink()
        self._write()

    def discard(self) -> None:
        """Delete the parts and the manifest (under the output's lock), and release the lock.

        Raises OutputLockedError when another process is writing the output (its parts are
        left alone)."""
        if not self.manifest.exists() and not self.dir.exists() and self._lock is None:
            return  # nothing to delete: no lock file to create (e.g. in a read-only folder)
        with lock.locked(self.final):
            self._remove()
        if self._lock is not None:
            lock.release(self._lock)
            self._lock = None

    def _remove(self) -> None:
        check_own(self.dir, "dir", "resume parts folder")  # a planted link: exit 2
        check_own(self.manifest, "file", "resume manifest")
        shutil.rmtree(self.dir, ignore_errors=True)
        remove_tree(self.manifest)
        remove_stale(self.manifest)  # a killed rewrite's temporary manifest

    def _load(self) -> dict[str, Any] | None:
        check_own(self.dir, "dir", "resume parts folder")  # a planted link: exit 2
        if not check_own(self.manifest, "file", "resume manifest"):
            return None
        try:
            data = json.loads(self.manifest.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None  # unreadable: cannot be trusted, start again
        if not isinstance(data, dict) or data.get("version") != MANIFEST_VERSION:
            return None
        return data

    def _check(self, manifest: dict[str, Any]) -> None:
        from grelu_cli.run.identity import fingerprint_differences

        for key, what in self.labels.items():
            if manifest.get(key) != self.identity.get(key):
                old, new = manifest.get(key), self.identity.get(key)
                detail = f"{what}: {old!r} vs now {new!r}"
                if key == "fingerprint":
                    named = fingerprint_differences(
                        manifest.get(INPUTS_KEY) or {}, self.identity.get(INPUTS_KEY) or {}
                    )
                    detail = f"{what}" + (f": {'; '.join(named)}" if named else "")
                raise UsageError(
                    f"the interrupted run of {self.final} ({self.manifest.name}) used a "
                    f"different {detail}",
                    fix="rerun with the original model, input and options, or run without "
                    "--resume to start again",
                )

    def _write(self) -> None:
        data = {
            "version": MANIFEST_VERSION,
            **self.identity,
            "chunks": self.n_chunks,
            "done": {str(k): v for k, v in sorted(self.done.items())},
        }
        write_json_atomic(self.manifest, data)
