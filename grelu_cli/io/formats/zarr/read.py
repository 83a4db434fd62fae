"""Read grelu zarr stores back: the root record, windows, and writer blocks for chosen tasks.

:func:`store_blocks` turns a store into :class:`~grelu_cli.io.block.Block` objects (values
upcast to float32), so any writer can consume a finished store: :func:`store_to_bigwig` feeds
them to :class:`~grelu_cli.io.formats.bigwig.BigWigWriter`, which averages overlapping
windows exactly as ``grelu predict --format bigwig`` does.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from grelu_cli.core.block import Block
from grelu_cli.core.window import Window
from grelu_cli.errors import InputDataError, MissingResourceError, UsageError
from grelu_cli.io.formats.zarr.present import compact, missing_rows
from grelu_cli.io.formats.zarr.schema import ATTR, PREDS, WINDOW_COORDS

_BLOCK_VALUES = 1 << 24  # values per block read back (64 MB of float32)


def is_zarr_path(path: str | Path) -> bool:
    """True for a ``.zarr`` path or a directory holding a ``zarr.json``."""
    path = Path(path)
    return path.suffix.lower() == ".zarr" or (path / "zarr.json").is_file()


def read_record(path: str | Path) -> dict[str, Any]:
    """The root ``grelu`` attribute of a store (read from ``zarr.json``, no zarr import)."""
    path = Path(path)
    meta = path / "zarr.json"
    if not path.exists():
        raise MissingResourceError(f"zarr store {path} does not exist", fix="check the path")
    try:
        doc = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise InputDataError(
            f"{path} is not a readable zarr v3 store ({err})",
            fix="give a store written by grelu predict -o NAME.zarr",
        ) from None
    record = (doc.get("attributes") or {}).get(ATTR)
    if not isinstance(record, dict) or (record.get("output") or {}).get("format") != "zarr":
        raise InputDataError(
            f"{path} has no grelu metadata", fix="give a store written by grelu predict"
        )
    return record


def is_complete(path: str | Path) -> bool:
    """Whether the store at ``path`` is finished (``complete`` is true in its record)."""
    return read_record(path).get("complete") is True


@dataclass
class ZarrStore:
    """An open store. ``preds`` is the zarr array (window, task, bin)."""

    path: Path
    record: dict[str, Any]
    group: Any
    preds: Any

    def check_data(self, windows: Any = None, *, context: str = "") -> None:
        """Raise InputDataError (exit 3) if a window of ``windows`` (indices; default all)
        has no data file on disk (see :mod:`.present`); ``context`` starts the message."""
        lost = missing_rows(self.path / PREDS, windows)
        if len(lost):
            raise lost_windows_error(self.path, self.record, lost, self.n_windows, context)

    @property
    def tasks(self) -> list[str]:
        return [str(t) for t in self.record["output"]["tasks"]]

    @property
    def n_windows(self) -> int:
        return int(self.preds.shape[0])

    @property
    def bins(self) -> np.ndarray:
        """(B,) int64 output bin index of each column."""
        return np.asarray(self.group["bin"][:], dtype=np.int64)

    def windows(self, lo: int, hi: int) -> list[Window]:
        """Windows ``[lo, hi)``; chrom "" (FASTA input) comes back as None; padding as
        ``pad_left`` and ``region_index`` -1 (neither is stored)."""
        col = {key: self.group[key][lo:hi] for key in WINDOW_COORDS}
        names, chroms, strands = (
            [str(v) for v in col[k].tolist()] for k in ("name", "chrom", "strand")
        )
        ints = {k: col[k].astype(np.int64).tolist() for k in WINDOW_COORDS[2:] if k != "strand"}
        return [
            Window(
                lo + j,
                -1,
                names[j],
                chroms[j] or None,
                ints["start"][j],
                ints["end"][j],
                strands[j],
                ints["window_start"][j],
                ints["window_end"][j],
                ints["padded"][j],
                0,
            )
            for j in range(hi - lo)
        ]

    def bin_spans(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        """(bin_start, bin_end), each (hi - lo, B) int64."""
        start = np.asarray(self.group["bin_start"][lo:hi], dtype=np.int64)
        return start, np.asarray(self.group["bin_end"][lo:hi], dtype=np.int64)

    def overlapping(self, chrom: str, start: int, end: int) -> np.ndarray:
        """Indices of the windows on ``chrom`` whose input span overlaps ``[start, end)``
        (every bin of a window lies inside its input span)."""
        on = np.asarray(self.group["chrom"][:]) == chrom
        ws = np.asarray(self.group["window_start"][:], dtype=np.int64)
        we = np.asarray(self.group["window_end"][:], dtype=np.int64)
        return np.flatnonzero(on & (ws < end) & (we > start))

    def task_indices(self, names: Sequence[str] | None) -> list[int]:
        """Positions of ``names`` on the task axis (all when None), in the order given."""
        tasks = self.tasks
        if names is None:
            return list(range(len(tasks)))
        where = {t: i for i, t in reversed(list(enumerate(tasks)))}
        unknown = [n for n in names if n not in where]
        if unknown:
            shown = ", ".join(tasks[:12]) + (
                f", ... ({len(tasks)} in all)" if len(tasks) > 12 else ""
            )
            raise UsageError(
                f"--tasks {','.join(unknown)}: no such task in {self.path}; known: {shown}",
                fix="pick names from that list",
            )
        return list(dict.fromkeys(where[n] for n in names))


def shard_owners(record: dict[str, Any], markers: Sequence[dict[str, Any]], lost: Any) -> list[str]:
    """``["1/4", ...]``: the shards whose window ranges hold a window of ``lost``, from the
    shards' done markers (a store being written) or the record's ``merged`` list (finalized)."""
    entries = [m for m in markers if isinstance(m.get("shard"), dict)]
    entries += [
        m
        for m in (record.get("merged") or {}).get("from") or []
        if isinstance(m.get("shard"), dict)
    ]
    lost = np.asarray(lost, dtype=np.int64)
    owners: dict[tuple[int, int], None] = {}
    for m in sorted(entries, key=lambda e: int(e["shard"]["index"])):
        a, b = (int(v) for v in m["windows"])
        if ((lost >= a) & (lost < b)).any():
            owners[(int(m["shard"]["index"]), int(m["shard"]["count"]))] = None
    return [f"{i}/{n}" for i, n in owners]


def owned_by(owners: Sequence[str], verb: str) -> str:
    """``"; shards 1/4, 3/4 <verb>"`` (empty when no shard is known)."""
    if not owners:
        return ""
    return f"; shard{'s' if len(owners) > 1 else ''} {', '.join(owners)} {verb}"


def reopenable(record: dict[str, Any]) -> bool:
    """Whether ``grelu merge`` can reopen this finished store for lost windows: it lists its
    shards (a sharded run) and clipped no float16 value (per-window clip counts are not kept
    past finalizing, so a total above 0 could not be made exact again)."""
    shards = [
        m
        for m in (record.get("merged") or {}).get("from") or []
        if isinstance(m.get("shard"), dict)
    ]
    return bool(shards) and not int((record.get("counts") or {}).get("clipped") or 0)


def lost_windows_error(
    path: Path, record: dict[str, Any], lost: Any, total: int, context: str = ""
) -> InputDataError:
    """The error for windows of a finished store whose data files are gone."""
    owners = shard_owners(record, [], lost)
    if reopenable(record) and owners:
        fix = (
            f"run grelu merge {path}, which reopens the store for those windows, then shard "
            f"{owners[0]} (and any other named) again with --resume, then grelu merge again"
        )
    else:
        fix = f"restore those files, or delete the store and predict it again (-o {path})"
    return InputDataError(
        f"{context}zarr store {path}: the data of {len(lost):,} of {total:,} windows is missing "
        f"on disk (windows {compact(lost)}, 0-based: their files under {PREDS}/c/ are gone)"
        + owned_by(owners, "wrote them"),
        fix=fix,
    )


def open_store(path: str | Path, *, require_complete: bool = True) -> ZarrStore:
    """Open a grelu predict store for reading; InputDataError (exit 3) if it is not finished
    or is not a predict store (a ``grelu variants`` store has no ``preds``)."""
    import zarr

    path = Path(path)
    record = read_record(path)
    if (record.get("output") or {}).get("array") != PREDS:
        what = (
            "a grelu variants store (scores per allele and task)"
            if record.get("command") == "variants"
            else f"a zarr store without a {PREDS} array"
        )
        raise InputDataError(
            f"{path} is {what}, not grelu predict output",
            fix="give a store written by grelu predict -o NAME.zarr (or its bigWig or parquet "
            "output)",
        )
    if require_complete and record.get("complete") is not True:
        raise InputDataError(
            f"zarr store {path} is not complete (its shards are not all written, or it was "
            "not finalized)",
            fix=f"finish every shard, then run grelu merge {path}",
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # consolidated metadata is not yet in the v3 spec
        group = zarr.open_group(str(path), mode="r", zarr_format=3)
        try:
            preds = group[PREDS]
        except KeyError:
            raise InputDataError(
                f"zarr store {path} is damaged: its record names a {PREDS} array that is not there",
                fix="predict the store again",
            ) from None
    return ZarrStore(path, record, group, preds)


def store_blocks(
    store: ZarrStore | str | Path,
    tasks: Sequence[str] | None = None,
    *,
    lo: int = 0,
    hi: int | None = None,
    windows_per_block: int | None = None,
    check: bool = True,
) -> Iterator[Block]:
    """Blocks of windows ``[lo, hi)`` in window order, values (n, T_sel, B) as float32.

    ``tasks`` picks and orders tasks by name (all when None). A block holds about 16 M
    values unless ``windows_per_block`` says otherwise, so memory stays bounded. With
    ``check`` (default), InputDataError before the first block if a window of the range has
    no data file (zarr would read it as NaN).
    """
    if not isinstance(store, ZarrStore):
        store = open_store(store)
    picks = store.task_indices(tasks)
    hi = store.n_windows if hi is None else hi
    if check:
        store.check_data(range(lo, hi))
    bins = store.bins
    per_window = max(1, len(picks) * len(bins))
    step = windows_per_block or max(1, _BLOCK_VALUES // per_window)
    contiguous = picks == list(range(picks[0], picks[0] + len(picks))) if picks else True
    for a in range(lo, hi, step):
        z = min(a + step, hi)
        if contiguous and picks:
            values = store.preds[a:z, picks[0] : picks[-1] + 1, :]
        else:
            values = store.preds.get_orthogonal_selection((slice(a, z), picks, slice(None)))
        start, end = store.bin_spans(a, z)
        yield Block(
            store.windows(a, z),
            np.ascontiguousarray(values, dtype=np.float32),
            bins,
            start,
            end,
        )


def store_to_bigwig(
    path: str | Path,
    output: str | Path,
    *,
    tasks: Sequence[str] | None = None,
    overlap: str = "mean",
    overwrite: bool = False,
    chrom_sizes: Sequence[tuple[str, int]] | None = None,
) -> Any:
    """Write bigWig files (one per selected task) from a finished store; returns the writer
    (``.paths``, ``.nonfinite``).

    ``chrom_sizes`` defaults to the genome recorded in the store (``chrom_sizes``); give it
    for stores written without one.
    """
    from grelu_cli.io.formats.bigwig import BigWigWriter

    store = open_store(path)
    store.check_data()  # before any output file is opened
    if chrom_sizes is None:
        chrom_sizes = store.record.get("chrom_sizes")
    if not chrom_sizes:
        raise UsageError(
            f"zarr store {path} records no chromosome sizes, which bigWig headers need",
            fix="pass the genome (--genome FASTA) the predictions were made on",
        )
    names = [store.tasks[i] for i in store.task_indices(tasks)]
    writer = BigWigWriter(
        output,
        names,
        [(str(c), int(n)) for c, n in chrom_sizes],
        overlap=overlap,
        overwrite=overwrite,
    )
    with writer:
        for block in store_blocks(store, names, check=False):
            writer.write(block)
    return writer
