"""ZarrWriter: streams :class:`~grelu_cli.core.block.Block` predictions into a dense zarr store.

Same protocol as the parquet and bigWig writers (``open``, ``write(block)``, ``finish`` /
``abort``, a ``metadata`` dict whose ``counts`` the caller fills in before ``finish``).

Two modes:

* unsharded (``sharded=False``): the store is built at ``DIR/.NAME.partial/`` and renamed to
  ``NAME`` when every window is written and the store is finalized, as the parquet writer
  does. ``abort`` deletes it, unless ``resume`` is set: then it stays, and a later
  ``resume=True`` writer of the same run (same fingerprint) continues it, skipping the
  windows already written.
* sharded (``sharded=True``, ``--shard i/N``): every shard writes into the one store at
  ``NAME``. The first shard to arrive creates it (atomically, see
  :func:`~grelu_cli.io.formats.zarr.schema.publish_store`); the others check that it holds the same
  run (fingerprint; exit 3 otherwise) and join. Each shard writes only its own windows
  ``[lo, hi)`` (whole shard files) and marks them done (:mod:`.markers`); ``finish`` never
  touches the root metadata. ``grelu merge NAME``
  (:func:`~grelu_cli.io.formats.zarr.finalize_store`) completes the store. With ``resume``,
  windows already marked done are skipped.

Locks (:mod:`grelu_cli.io.fs.lock`): an unsharded writer holds the output's lock
(``DIR/.NAME.lock``) while it writes, so a second run on the same ``-o`` stops at once (exit
2); a shard holds the lock of its window range (``DIR/.NAME.shard-LO-HI.lock``), so shards
of one run write side by side but the same shard never runs twice at once.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np

from grelu_cli.core.block import Block
from grelu_cli.errors import InputDataError
from grelu_cli.io.formats.zarr.checks import check_zarr_output
from grelu_cli.io.formats.zarr.finalize import finalize_store
from grelu_cli.io.formats.zarr.markers import (
    clipped_by_window,
    done_mask,
    marker_name,
    ranges,
    read_markers,
    remove_markers,
    write_marker,
)
from grelu_cli.io.formats.zarr.read import read_record
from grelu_cli.io.formats.zarr.schema import (
    DIMS,
    PREDS,
    BinSource,
    StoreSpec,
    WindowList,
    WindowSource,
    check_dtype,
    chunk_shapes,
    partial_store,
    publish_store,
    remove_tree,
    rename_into_place,
    task_variables,
)
from grelu_cli.io.fs import lock
from grelu_cli.io.fs.atomic import AllOrNothing
from grelu_cli.io.fs.fsafe import check_no_links, make_parents

F16_MAX = float(np.finfo(np.float16).max)  # 65504


class ZarrWriter(AllOrNothing):
    """Write blocks into a dense zarr store (see the module docstring for the two modes).

    Args:
        path: the store, ``NAME.zarr``.
        tasks: output task names (T), in the order of the blocks' task axis.
        windows: every window of the run (W), in run order (a ``WindowPlan``, or a list);
            the store's coordinates are written once, at creation, from it.
        bin_layout: the kept bins (``.bins`` (B,)) and their genomic spans
            (``.coordinates(windows)``), e.g. the predictor's ``BinLayout``.
        task_table: the tasks-table rows of the output tasks (pandas DataFrame), or None.
        dtype: "float32", or "float16" (values beyond +-65504 are clipped and counted).
        metadata: provenance record (kept as ``self.metadata``; ``counts`` may be filled in
            before ``finish``).
        fingerprint: the run fingerprint (default ``metadata["fingerprint"]``); required
            when sharded.
        window_range: ``[lo, hi)`` this writer fills (default: every window).
        sharded: write into a shared store (``--shard``) instead of a private partial one.
        resume: skip windows already written by an interrupted run of the same run; keep
            the partial store on abort.
        overwrite: replace an existing finished store (unsharded only).
        chrom_sizes: the genome's (name, length) pairs, recorded so that the store can be
            turned into bigWig files later without the genome.
        durable: fsync each window's shard file before marking it done.
    """

    #: The array with one file per window (row); its files say which windows are on disk.
    array = PREDS

    def __init__(
        self,
        path: str | Path,
        tasks: Sequence[str],
        *,
        windows: WindowSource | Sequence[Any],
        bin_layout: BinSource,
        task_table: Any = None,
        dtype: str = "float32",
        metadata: Mapping[str, Any] | None = None,
        fingerprint: str | None = None,
        window_range: tuple[int, int] | None = None,
        sharded: bool = False,
        resume: bool = False,
        overwrite: bool = False,
        chrom_sizes: Sequence[tuple[str, int]] | None = None,
        durable: bool = True,
    ) -> None:
        self.path = Path(path)
        self.tasks = [str(t) for t in tasks]
        self.windows: WindowSource = (
            cast(WindowSource, windows) if hasattr(windows, "window_list") else WindowList(windows)
        )
        self.bin_layout = bin_layout
        self.bins = np.asarray(bin_layout.bins, dtype=np.int64)
        self.task_table = task_table
        self.dtype = check_dtype(dtype)
        self.metadata: dict[str, Any] = dict(metadata or {})
        self.fingerprint = fingerprint or self.metadata.get("fingerprint")
        if sharded and not self.fingerprint:
            raise ValueError("a sharded ZarrWriter needs the run fingerprint")
        self.total = self.windows.count()
        self.lo, self.hi = window_range if window_range is not None else (0, self.total)
        if not 0 <= self.lo <= self.hi <= self.total:
            raise ValueError(f"window range [{self.lo}, {self.hi}) outside [0, {self.total}]")
        self.sharded, self.resume, self.overwrite = sharded, resume, overwrite
        self.chrom_sizes = [[str(c), int(n)] for c, n in chrom_sizes] if chrom_sizes else None
        self.durable = durable
        self.store = self.path if sharded else partial_store(self.path)
        self.paths = [self.path]  # the final output (the writer protocol)
        self.already_complete = False  # resume found a finished store: nothing to write
        self.clipped = 0  # float16 values clipped by this writer
        self.windows_written = 0
        self._done = np.zeros(self.hi - self.lo, dtype=bool)
        self._clipped: dict[int, int] = {}  # window -> clipped values, this writer's range
        self._block_markers: list[str] = []
        self._preds: Any = None
        self._lock: Path | None = None

    def output_label(self) -> str:
        """How messages name this output."""
        return str(self.path)

    # -- opening ----------------------------------------------------------------------------
    def open(self) -> None:
        """Create or join the store; with ``resume``, find the windows already written."""
        make_parents(self.path.parent)
        if self.sharded and self.hi > self.lo:  # empty shards share a range: no lock to share
            self._lock = lock.acquire(
                self.path.with_name(f"{self.path.name}.shard-{self.lo}-{self.hi}"),
                what=f"windows {self.lo}-{self.hi} of zarr store {self.path}",
            )
        elif not self.sharded:
            self._lock = lock.acquire(self.path)
        try:
            check_no_links(self.store, what="zarr store")
            self._open()
        except BaseException:
            self._release()
            raise

    def _open(self) -> None:
        import zarr

        if check_zarr_output(
            self.path, overwrite=self.overwrite, sharded=self.sharded, resume=self.resume
        ):
            self.already_complete = True
            self._done[:] = True
            return
        if not self.sharded:
            self._open_partial()
        else:
            self._create(self.path)
        self._check_store(read_record(self.store))
        markers = read_markers(self.store)
        if self.resume:
            self._done = done_mask(markers, self.lo, self.hi)
            self._clipped = {
                w: n for w, n in clipped_by_window(markers).items() if self.lo <= w < self.hi
            }
        self._preds = zarr.open_array(str(self.store / self.array), mode="r+").with_config(
            {"write_empty_chunks": True}  # an all-NaN window still gets its file (present.py)
        )

    def _open_partial(self) -> None:
        """Unsharded: continue a matching partial store (resume) or build a fresh one."""
        if self.store.exists():
            keep = False
            if self.resume:
                try:
                    record = read_record(self.store)
                    same = record.get("fingerprint") == self.fingerprint
                    keep = same and self.fingerprint is not None
                except (InputDataError, OSError):
                    keep = False
            if not keep:
                remove_tree(self.store)
        if not self.store.exists():
            self._create(self.store)

    def _create(self, path: Path) -> None:
        """Create the store at ``path`` unless it exists (racing shards: one wins)."""
        publish_store(path, self._spec())

    def _spec(self) -> StoreSpec:
        return StoreSpec(
            tasks=tuple(self.tasks),
            task_table=self.task_table,
            windows=self.windows,
            bin_layout=self.bin_layout,
            dtype=self.dtype,
            record=self.root_record(),
        )

    def root_record(self) -> dict[str, Any]:
        """The root ``grelu`` attribute: provenance plus the store's description."""
        record = copy.deepcopy(self.metadata)
        if self.sharded:  # the store is the whole run's, not this shard's
            # Shard boundaries fall on whole batches: every shard must use the same size.
            record["shard_batch_size"] = (record.get("shard") or {}).get("batch_size")
            record["shard"] = None
            record["window_range"] = [0, self.total]
            if isinstance(record.get("options"), dict):
                record["options"]["shard"] = None
        chunks, shards = chunk_shapes(len(self.tasks), len(self.bins))
        record["layout"] = list(DIMS)
        record["dtype"] = self.dtype
        record["complete"] = False
        record["fingerprint"] = self.fingerprint
        record["output"] = {
            "format": "zarr",
            "array": PREDS,
            "tasks": self.tasks,
            "windows": self.total,
            "bins": len(self.bins),
            "chunks": list(chunks),
            "shards": list(shards),
            "task_columns": {
                v: c for v, (c, _) in task_variables(self.task_table, self.tasks).items()
            },
        }
        if self.chrom_sizes is not None:
            record["chrom_sizes"] = self.chrom_sizes
        return record

    def _check_store(self, record: dict[str, Any]) -> None:
        """A joined store must hold this very run (fingerprint, shape and dtype)."""
        out = record.get("output") or {}
        mismatch = None
        if record.get("fingerprint") != self.fingerprint:
            mismatch = "it was written by a different run (model, input or options differ)"
        elif out.get("tasks") != self.tasks or out.get("windows") != self.total:
            mismatch = "its tasks or windows differ from this run's"
        elif out.get("bins") != len(self.bins) or record.get("dtype") != self.dtype:
            mismatch = "its bins or dtype differ from this run's"
        elif self.sharded and not _same_batches(record, self.metadata):
            mismatch = (
                f"its shards were predicted in batches of {record['shard_batch_size']}, this "
                f"one in batches of {self.metadata['shard']['batch_size']} (shard boundaries "
                "fall on whole batches: give every shard the same --batch-size and device type)"
            )
        if mismatch:
            raise InputDataError(
                f"zarr store {self.store} cannot take this run's predictions: {mismatch}",
                fix="write to another -o, or delete the store to start again",
            )

    def todo(self) -> list[tuple[int, int]]:
        """Window ranges of ``[lo, hi)`` still to write (after ``open``), in order."""
        return ranges(self._done, self.lo, value=False)

    # -- writing ----------------------------------------------------------------------------
    def report(self) -> Any:
        """What was written (:func:`grelu_cli.io.formats.registry.write_report`)."""
        from grelu_cli.io.formats.registry import WriteReport

        return WriteReport(
            rows=self.hi - self.lo, clipped=self.clipped, already_complete=self.already_complete
        )

    def write(self, block: Block) -> None:
        """Write the windows of one block (values (N, T, B)); windows already done are skipped.

        Blocks may come in any order; each window's ``index`` says where it goes.
        """
        if self.already_complete:
            return
        if self._preds is None:
            raise RuntimeError("ZarrWriter.write() outside an open writer")
        n, t, b = block.values.shape
        if t != len(self.tasks) or b != len(self.bins):
            raise ValueError(
                f"block has {t} tasks x {b} bins; the store holds {len(self.tasks)} x "
                f"{len(self.bins)}"
            )
        if n == 0:
            return
        index = np.fromiter((w.index for w in block.windows), dtype=np.int64, count=n)
        if index.min() < self.lo or index.max() >= self.hi:
            raise ValueError(
                f"block windows {index.min()}..{index.max()} are outside this writer's "
                f"range [{self.lo}, {self.hi})"
            )
        keep = ~self._done[index - self.lo]
        if not keep.any():
            return
        values, index = np.asarray(block.values, dtype=np.float32)[keep], index[keep]
        clipped = np.zeros(len(index), dtype=np.int64)
        if self.dtype == "float16":
            values, clipped = _to_float16(values)
        # Runs of consecutive windows: one zarr call writes several whole shard files.
        breaks = np.flatnonzero(np.diff(index) != 1) + 1
        for part in np.split(np.arange(len(index)), breaks):
            a, z = int(index[part[0]]), int(index[part[-1]]) + 1
            self._preds[a:z] = values[part]
            self._mark_written(a, z, clipped[part])

    def _mark_written(self, a: int, z: int, clipped: np.ndarray) -> None:
        """Windows ``[a, z)`` are written: fsync their files, then mark them done.
        ``clipped``: (z - a,) float16-clipped values per window."""
        if self.durable:
            self._sync(a, z)
        counts = {str(a + i): int(c) for i, c in enumerate(clipped) if c}
        write_marker(self.store, a, z, {"clipped": counts})
        self._block_markers.append(marker_name(a, z))
        self._done[a - self.lo : z - self.lo] = True
        self._clipped.update({int(k): v for k, v in counts.items()})
        self.windows_written += z - a
        self.clipped += int(clipped.sum())

    def _sync(self, a: int, z: int) -> None:
        """fsync the shard files of windows ``[a, z)`` (one per window: ``c/<w>/0/0``)."""
        for w in range(a, z):
            shard = self.store / PREDS / "c" / str(w) / "0" / "0"
            try:
                fd = os.open(shard, os.O_RDONLY)
            except FileNotFoundError:
                continue  # an all-NaN window: zarr stores no chunk (it reads as fill value)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    # -- closing ----------------------------------------------------------------------------
    def finish(self) -> None:
        """Sharded: mark the shard done. Unsharded: finalize the store and rename it into
        place. Raises if a window of the range was not written."""
        if self.already_complete:
            self._release()
            return
        missing = self.todo()
        if missing:
            a, z = missing[0]
            self.abort()
            raise ValueError(
                f"ZarrWriter closed with {sum(z - a for a, z in missing)} windows not written "
                f"(first: {a}-{z})"
            )
        try:
            if self.sharded:
                self._finish_shard()
            else:
                finalize_store(self.store, record=self._final_record())
                self._publish()
        except BaseException:
            self.abort()
            raise
        self._release()

    def _final_record(self) -> dict[str, Any]:
        record = self.root_record()
        record["counts"] = dict(record.get("counts") or {})
        return record

    def _finish_shard(self) -> None:
        index = (self.metadata.get("shard") or {}).get("index")
        name = marker_name(self.lo, self.hi, index)
        shard_info = {
            "shard": self.metadata.get("shard"),
            "created": self.metadata.get("created"),
            "counts": self.metadata.get("counts"),
        }
        clipped = {str(w): n for w, n in sorted(self._clipped.items()) if n}
        write_marker(self.store, self.lo, self.hi, {"clipped": clipped, **shard_info}, index)
        # Block markers inside [lo, hi) (this run's, an interrupted run's) are covered now.
        # Other shards' markers stay, even an empty shard's at the edge of this range.
        inside = [
            m["file"]
            for m in read_markers(self.store)
            if self.lo <= m["windows"][0]
            and m["windows"][1] <= self.hi
            and m["file"] != name
            and not m.get("shard")
        ]
        remove_markers(self.store, inside)
        self._block_markers = []

    def _publish(self) -> None:
        """Rename the finished partial store to its final name (replacing with overwrite)."""
        rename_into_place(self.store, self.path, overwrite=self.overwrite)

    def abort(self) -> None:
        """Unsharded: delete the partial store (kept with ``resume``). Sharded: leave the
        shared store; windows already marked done stay done."""
        self._preds = None
        if not self.sharded and not self.resume and self._lock is not None:
            remove_tree(self.store)  # only when ours (we hold the lock)
        self._release()

    def _release(self) -> None:
        if self._lock is not None:
            lock.release(self._lock)
            self._lock = None


def _same_batches(record: Mapping[str, Any], metadata: Mapping[str, Any]) -> bool:
    """Whether a joining shard's batch size is the store's (True when either is unknown)."""
    theirs = record.get("shard_batch_size")
    ours = (metadata.get("shard") or {}).get("batch_size")
    return theirs is None or ours is None or theirs == ours


def _to_float16(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, T, B) float32 -> float16, finite values beyond +-65504 clipped; (N,) clip counts.

    NaN and +-inf stay as they are (float16 holds them).
    """
    over = np.isfinite(values) & (np.abs(values) > F16_MAX)
    counts = over.reshape(len(values), -1).sum(axis=1)
    if counts.any():
        values = np.where(over, np.copysign(F16_MAX, values), values)
    return values.astype(np.float16), counts
