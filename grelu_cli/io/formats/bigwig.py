"""bigWig writer: one file per task, from blocks that arrive in any order and may overlap.

Output names: ``-o DIR/`` writes ``DIR/{task}.bw``; a path containing ``{task}`` is a
template (``out/{task}.signal.bw``); a single ``.bw``/``.bigwig`` path is allowed when exactly
one task is written. Task names are made safe for file names by :func:`safe_task_name`.

How it works, with bounded memory:

1. ``write(block)`` clips each bin to its chromosome (bins wholly outside it, i.e. in edge
   padding, are dropped) and appends the bins to per-chromosome spill files in a scratch
   directory next to the output: intervals (start, end, input order, label) as int64 and
   values as float32 chunks of shape (T, k).
2. ``close()`` handles one chromosome at a time, in genome-index order: it sorts the
   intervals, resolves overlaps at base resolution, then for each task reads that task's
   values, merges adjacent bases with equal values into one entry, and adds the entries with
   vectorised ``addEntries`` calls. Memory is bounded by one chromosome's intervals (plus, when
   intervals overlap, one entry per interval-segment pair) and one task's values; at most
   ``files_open`` bigWig files are open at once.
3. The files are renamed into place together (:mod:`grelu_cli.io.fs.atomic`).

Overlaps (``overlap``): ``"mean"`` averages every prediction of a base (per base, so bins
of windows offset by a non-multiple of the bin size average correctly); ``"first"`` keeps
the prediction of the window earliest in input order; ``"error"`` raises naming two
overlapping regions (as soon as a window arrives when the input is sorted, else at close).

Non-finite values (NaN, inf) are not written: a bigWig cannot mark them, and some readers
crash on them (pyBigWig's ``header()``); the other predictions of those bases still count.
``writer.nonfinite[t]`` counts the dropped values of task ``t`` so the caller can warn.

Header: every chromosome of the genome index, in index order. Zoom levels: pyBigWig's
(up to ``max_zooms``, default 10), which genome browsers such as IGV read.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from grelu_cli.core.block import Block
from grelu_cli.core.choices import OVERLAPS as OVERLAP_MODES
from grelu_cli.core.window import Window
from grelu_cli.errors import InputDataError, UsageError
from grelu_cli.io.fs.atomic import AllOrNothing, AtomicOutputs

if TYPE_CHECKING:
    from grelu_cli.io.formats.registry import WriterSpec

TASK_FIELD = "{task}"
BIGWIG_SUFFIXES = (".bw", ".bigwig")
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")
_MAX_NAME = 200  # bytes left for the extension and the ".partial" temporary suffix
_ENTRY_BATCH = 1 << 20  # entries per addEntries call
_IV_COLS = 4  # spill record: start, end, order, label


def safe_task_name(name: str) -> str:
    """A task name as a file name: runs of characters other than ``A-Z a-z 0-9 . _ + -``
    become one ``_``; leading dots and underscores (in any mix) and trailing underscores are
    removed; an empty result becomes ``task``; names are cut to 200 characters.

    So no name starts with a dot (hidden, or ``.``/``..``) and none holds a ``/``: every
    file stays in the output folder, visible. ``"DNASE:K562 (ENCODE)"`` ->
    ``"DNASE_K562_ENCODE"``; ``"../x"`` and ``"../../x"`` -> ``"x"``; ``".."`` -> ``"task"``.
    """
    safe = _UNSAFE.sub("_", name).lstrip("._")[:_MAX_NAME].rstrip("_")
    return safe or "task"


def task_file_stems(tasks: Sequence[str]) -> list[str]:
    """Distinct safe names, one per task. Tasks whose safe names collide (ignoring case, for
    case-insensitive file systems) each get their 0-based task index appended: ``a_b_3``."""
    stems = [safe_task_name(t) for t in tasks]
    folded = [s.casefold() for s in stems]
    counts: dict[str, int] = {}
    for f in folded:
        counts[f] = counts.get(f, 0) + 1
    stems = [
        f"{stem}_{i}" if counts[fold] > 1 else stem
        for i, (stem, fold) in enumerate(zip(stems, folded, strict=True))
    ]
    if len({s.casefold() for s in stems}) != len(stems):
        raise UsageError(
            "task names map to the same bigWig file name even after adding their index: "
            + ", ".join(tasks),
            fix="select tasks with distinct names",
        )
    return stems


def bigwig_paths(output: str | Path, tasks: Sequence[str]) -> list[Path]:
    """Output file of each task: template with ``{task}``, ``DIR/{task}.bw``, or one file."""
    text = str(output)
    stems = task_file_stems(tasks)
    if TASK_FIELD in text:
        return [Path(text.replace(TASK_FIELD, stem)) for stem in stems]
    path = Path(text)
    if path.suffix.lower() in BIGWIG_SUFFIXES and not text.endswith(("/", "\\")):
        if len(tasks) == 1:
            return [path]
        raise UsageError(
            f"-o {text} names one bigWig file but {len(tasks)} tasks are written",
            fix="give a directory (-o DIR/) or a template such as 'out/{task}.bw'",
        )
    return [path / f"{stem}.bw" for stem in stems]


class BigWigWriter(AllOrNothing):
    """Write blocks as one bigWig per task (atomically: all files appear at close, or none).

    Args:
        output: directory, template with ``{task}``, or one ``.bw`` file (single task).
        tasks: task names, in the order of the blocks' task axis (T).
        chrom_sizes: (name, length) of every chromosome of the genome index, in index order.
        overlap: "mean", "first" or "error" (see the module docstring).
        overwrite: replace existing outputs (otherwise OutputExistsError).
        max_zooms: zoom levels to write (pyBigWig's default 10).
        files_open: bigWig files written at the same time at close (more tasks take several
            passes over the spill files).
    """

    def __init__(
        self,
        output: str | Path,
        tasks: Sequence[str],
        chrom_sizes: Sequence[tuple[str, int]],
        *,
        overlap: str = "mean",
        overwrite: bool = False,
        max_zooms: int = 10,
        files_open: int = 64,
    ) -> None:
        if overlap not in OVERLAP_MODES:
            raise UsageError(f"unknown overlap mode '{overlap}'", fix="use mean, first or error")
        if not chrom_sizes:
            raise UsageError(
                "bigWig output needs the genome's chromosome sizes", fix="give --genome"
            )
        self.tasks = [str(t) for t in tasks]
        self.paths = bigwig_paths(output, self.tasks)
        self.chrom_sizes = [(str(c), int(n)) for c, n in chrom_sizes]
        self.overlap = overlap
        self.max_zooms = max_zooms
        self.files_open = max(1, files_open)
        self._chrom_id = {c: i for i, (c, _) in enumerate(self.chrom_sizes)}
        self._sizes = np.array([n for _, n in self.chrom_sizes], dtype=np.int64)
        self._outputs = AtomicOutputs(self.paths, overwrite=overwrite)
        self._scratch: Path | None = None
        self._chunks: dict[int, list[int]] = {}  # chrom id -> bins per spilled chunk
        self._labels: dict[int, int] = {}  # chrom id -> label lines written (error mode)
        self._last: dict[int, tuple[int, int, str]] = {}  # chrom id -> (max start, max end, label)
        self._unsorted: set[int] = set()
        self.nonfinite = [0] * len(self.tasks)  # per task: NaN/inf bin values not written

    # -- context manager -------------------------------------------------------------------
    def finish(self) -> None:
        """Leaving the ``with`` block without an error closes (and publishes) the output."""
        self.close()

    def open(self) -> None:
        """Check the outputs and create the scratch directory."""
        self._outputs.open()
        self._scratch = self._outputs.scratch_dir()

    def abort(self) -> None:
        """Discard everything: no output, temporary or spill file remains."""
        self._scratch = None
        self._outputs.abort()

    @property
    def _spill(self) -> Path:
        if self._scratch is None:
            raise RuntimeError("BigWigWriter used outside an open writer")
        return self._scratch

    # -- spilling --------------------------------------------------------------------------
    def write(self, block: Block) -> None:
        """Spill one block: values (N, T, B), bins at [bin_start, bin_end) on each chromosome."""
        spill = self._spill
        n, t, _ = block.values.shape
        if t != len(self.tasks):
            raise ValueError(f"block has {t} tasks, the writer was opened for {len(self.tasks)}")
        if n == 0:
            return
        cid = np.array([self._window_chrom(w) for w in block.windows], dtype=np.int64)
        size = self._sizes[cid][:, None]
        starts = np.maximum(np.asarray(block.bin_start, dtype=np.int64), 0)
        ends = np.minimum(np.asarray(block.bin_end, dtype=np.int64), size)
        win, col = np.nonzero(ends > starts)  # bins on the chromosome, window-major
        if len(win) == 0:
            return
        order = np.array([w.index for w in block.windows], dtype=np.int64)
        labels = np.full(n, -1, dtype=np.int64)
        if self.overlap == "error":
            labels = self._check_and_label(block, cid, starts, ends, win, col)
        values = np.asarray(block.values, dtype=np.float32)
        records = np.stack([starts[win, col], ends[win, col], order[win], labels[win]], axis=1)
        vals = values.transpose(1, 0, 2)[:, win, col]  # (T, K)
        chroms = cid[win]
        perm = np.argsort(chroms, kind="stable")
        bounds = np.flatnonzero(np.diff(chroms[perm])) + 1
        for part in np.split(perm, bounds):
            c = int(chroms[part[0]])
            with open(spill / f"{c}.iv", "ab") as handle:
                handle.write(np.ascontiguousarray(records[part]).tobytes())
            with open(spill / f"{c}.val", "ab") as handle:
                handle.write(np.ascontiguousarray(vals[:, part]).tobytes())
            self._chunks.setdefault(c, []).append(len(part))

    def _window_chrom(self, window: Window) -> int:
        if window.chrom is None:
            raise UsageError(
                f"bigWig output needs genomic coordinates; '{window.name}' is a FASTA record",
                fix="use --format parquet for FASTA input",
            )
        try:
            return self._chrom_id[window.chrom]
        except KeyError:
            raise InputDataError(
                f"chromosome '{window.chrom}' of region '{window.name}' is not in the genome index",
                fix="check that the regions and --genome use the same assembly",
            ) from None

    def _check_and_label(
        self,
        block: Block,
        cid: np.ndarray,
        starts: np.ndarray,
        ends: np.ndarray,
        win: np.ndarray,
        col: np.ndarray,
    ) -> np.ndarray:
        """Error mode: catch overlaps early when windows arrive sorted; write region labels."""
        n = len(block.windows)
        labels = np.full(n, -1, dtype=np.int64)
        hi = np.full(n, -1, dtype=np.int64)  # last base + 1 each window predicts
        np.maximum.at(hi, win, ends[win, col])
        first = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)  # first base it predicts
        np.minimum.at(first, win, starts[win, col])
        lines: dict[int, list[str]] = {}
        for i in np.unique(win):
            w = block.windows[i]
            c = int(cid[i])
            label = _label(w)
            prev = self._last.get(c)
            if prev is not None and c not in self._unsorted:
                if first[i] < prev[0]:
                    self._unsorted.add(c)  # overlaps are then found at close
                elif first[i] < prev[1]:
                    raise _overlap_error(self.chrom_sizes[c][0], int(first[i]), prev[2], label)
            if prev is None or hi[i] > prev[1]:
                self._last[c] = (int(first[i]), int(hi[i]), label)
            else:
                self._last[c] = (int(first[i]), prev[1], prev[2])
            labels[i] = self._labels.get(c, 0)
            self._labels[c] = labels[i] + 1
            lines.setdefault(c, []).append(label.replace("\n", " ") + "\n")
        for c, text in lines.items():
            with open(self._spill / f"{c}.labels", "a", encoding="utf-8") as handle:
                handle.writelines(text)
        return labels

    # -- merging ---------------------------------------------------------------------------
    def close(self) -> None:
        """Merge the spill files into the bigWig files and rename them into place."""
        try:
            for g0 in range(0, len(self.tasks), self.files_open):
                self._write_files(range(g0, min(g0 + self.files_open, len(self.tasks))))
        except BaseException:
            self.abort()
            raise
        self._scratch = None
        self._outputs.commit()

    def _write_files(self, tasks: range) -> None:
        import pyBigWig

        handles = []
        try:
            for t in tasks:
                handle = pyBigWig.open(str(self._outputs.temps[t]), "w")
                handles.append(handle)
                handle.addHeader(self.chrom_sizes, maxZooms=self.max_zooms)
            for c, (chrom, _) in enumerate(self.chrom_sizes):
                if c not in self._chunks:
                    continue
                records = self._records(c)
                plan = self._plan(c, records)
                for handle, t in zip(handles, tasks, strict=True):
                    values = self._task_values(c, t)
                    finite = np.isfinite(values)
                    if finite.all():
                        entries = plan.entries(values)
                    else:
                        # NaN/inf are not written (bigWig readers choke on them, e.g.
                        # pyBigWig's header()); other predictions of those bases still count.
                        self.nonfinite[t] += int((~finite).sum())
                        keep = np.flatnonzero(finite)
                        entries = self._plan(c, records[keep]).entries(values[keep])
                    starts, ends, vals = _coalesce(*entries)
                    for a in range(0, len(starts), _ENTRY_BATCH):
                        z = slice(a, a + _ENTRY_BATCH)
                        handle.addEntries(
                            [chrom] * len(starts[z]), starts[z], ends=ends[z], values=vals[z]
                        )
        finally:
            for handle in handles:
                handle.close()

    def _task_values(self, c: int, t: int) -> np.ndarray:
        """(n,) float32 values of task ``t`` for every spilled interval of chromosome ``c``."""
        data = np.memmap(self._spill / f"{c}.val", dtype=np.float32, mode="r")
        parts, offset, n_tasks = [], 0, len(self.tasks)
        for k in self._chunks[c]:
            parts.append(np.array(data[offset + t * k : offset + (t + 1) * k]))
            offset += n_tasks * k
        return np.concatenate(parts)

    def _records(self, c: int) -> np.ndarray:
        """(n, 4) int64 spilled intervals of chromosome ``c``: start, end, order, label."""
        return np.fromfile(self._spill / f"{c}.iv", dtype=np.int64).reshape(-1, _IV_COLS)

    def _plan(self, c: int, records: np.ndarray) -> _Plan:
        """How intervals ``records`` of chromosome ``c`` map to entries (checks overlaps)."""
        starts, ends, order = records[:, 0], records[:, 1], records[:, 2]
        perm = np.lexsort((order, starts))
        reach = np.maximum.accumulate(ends[perm])
        clash = np.flatnonzero(starts[perm][1:] < reach[:-1])
        if len(clash) == 0:
            return _Plan(starts[perm], ends[perm], pick=perm)
        if self.overlap == "error":
            k = int(clash[0])
            a = perm[int(np.argmax(ends[perm][: k + 1]))]
            b = perm[k + 1]
            where = int(starts[b])
            first, second = self._read_labels(c, [int(records[a, 3]), int(records[b, 3])])
            raise _overlap_error(self.chrom_sizes[c][0], where, first, second)
        return _Plan.segments(starts, ends, order, self.overlap)

    def _read_labels(self, c: int, lines: list[int]) -> list[str]:
        wanted = {line: "" for line in lines}
        with open(self._spill / f"{c}.labels", encoding="utf-8") as handle:
            for i, text in enumerate(handle):
                if i in wanted:
                    wanted[i] = text.rstrip("\n")
                if i >= max(lines):
                    break
        return [wanted[line] for line in lines]


class _Plan:
    """How one chromosome's interval values (n,) become bigWig entries (E,), any task.

    Either a permutation of disjoint intervals (``pick``, E == n), or, with overlaps,
    elementary segments between all interval bounds: ``first`` picks one interval per
    segment, ``mean`` averages the intervals covering each segment.
    """

    def __init__(
        self,
        starts: np.ndarray,
        ends: np.ndarray,
        pick: np.ndarray | None = None,
        seg: np.ndarray | None = None,
        rep: np.ndarray | None = None,
        count: np.ndarray | None = None,
    ) -> None:
        self.starts, self.ends = starts, ends
        self.pick, self.seg, self.rep, self.count = pick, seg, rep, count

    @classmethod
    def segments(cls, starts: np.ndarray, ends: np.ndarray, order: np.ndarray, mode: str) -> _Plan:
        """Split intervals at every bound; M = total segment-interval pairs is held in memory."""
        bounds = np.unique(np.concatenate([starts, ends]))
        js = np.searchsorted(bounds, starts)
        span = np.searchsorted(bounds, ends) - js
        rep = np.repeat(np.arange(len(starts)), span)  # interval of each pair
        seg = js[rep] + np.arange(len(rep)) - np.repeat(np.cumsum(span) - span, span)
        count = np.bincount(seg, minlength=len(bounds) - 1)
        covered = np.flatnonzero(count)
        seg_starts, seg_ends = bounds[covered], bounds[covered + 1]
        if mode == "first":
            by = np.lexsort((order[rep], seg))
            head = np.r_[True, seg[by][1:] != seg[by][:-1]]
            return cls(seg_starts, seg_ends, pick=rep[by][head])
        # Compact segment ids to covered ones so per-task sums are only as long as the output.
        dense = np.cumsum(count > 0) - 1
        return cls(seg_starts, seg_ends, seg=dense[seg], rep=rep, count=count[covered])

    def entries(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(starts, ends, values) of the entries for one task's interval values (n,)."""
        if self.pick is not None:
            return self.starts, self.ends, values[self.pick]
        assert self.seg is not None and self.rep is not None and self.count is not None
        # bincount adds in float64: exact for a handful of float32 values per base, no drift
        # along the chromosome (unlike a running sum).
        sums = np.bincount(self.seg, weights=values[self.rep], minlength=len(self.count))
        return self.starts, self.ends, (sums / self.count).astype(np.float32)


def _coalesce(
    starts: np.ndarray, ends: np.ndarray, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge runs of abutting entries with equal values (sorted, disjoint input)."""
    if len(starts) < 2:
        return starts, ends, values
    breaks = np.r_[True, (starts[1:] != ends[:-1]) | (values[1:] != values[:-1])]
    first = np.flatnonzero(breaks)
    last = np.r_[first[1:] - 1, len(starts) - 1]
    return starts[first], ends[last], values[first]


def _label(window: Window) -> str:
    return f"'{window.name}' ({window.chrom}:{window.start}-{window.end})"


def _overlap_error(chrom: str, position: int, first: str, second: str) -> InputDataError:
    return InputDataError(
        f"regions {first} and {second} both predict {chrom}:{position + 1} (--overlap error)",
        fix="use --overlap mean or --overlap first, or give non-overlapping regions",
    )


def make_writer(spec: WriterSpec) -> BigWigWriter:
    """The registry's factory (:mod:`grelu_cli.io.formats.registry`)."""
    if not spec.chrom_sizes:
        raise UsageError("bigWig output needs --genome", fix="pass --genome FASTA")
    return BigWigWriter(
        spec.output, spec.tasks, spec.chrom_sizes, overlap=spec.overlap, overwrite=spec.overwrite
    )


def output_paths(output: str, tasks: Sequence[str]) -> list[Path]:
    """One file per task (:func:`bigwig_paths`)."""
    return bigwig_paths(output, tasks)
