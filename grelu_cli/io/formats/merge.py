"""Read per-window parquet files back as writer blocks, and merge shards of one run.

Shard outputs and resume parts are parquet files written by
:class:`~grelu_cli.io.formats.parquet.ParquetWriter`: rows are windows in input order, each window's
rows consecutive (``T x B`` rows in the long layout, ``B`` in the wide layout). Their
``grelu`` metadata records ``window_range`` ``[lo, hi)``, so :func:`parquet_blocks` can turn
them back into :class:`~grelu_cli.core.block.Block` objects with the same window indices,
values, bins and coordinates the predictor produced. Feeding those blocks, in window order,
into a fresh ParquetWriter or BigWigWriter gives exactly what one unsharded run writes
(same rows and row groups; same bigWig values, overlap averaging across shard boundaries
included, because the bigWig writer sees every window's bins, not shard bigWigs).
"""

from __future__ import annotations

import copy
import datetime as _dt
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from grelu_cli.core.block import Block
from grelu_cli.core.window import Window
from grelu_cli.errors import InputDataError, MissingResourceError, UsageError
from grelu_cli.io.formats.parquet import METADATA_KEY

_WINDOWS_PER_BLOCK = 1024


def read_record(path: str | Path) -> dict[str, Any]:
    """The ``grelu`` metadata record of a parquet file (or zarr store) written by grelu."""
    import pyarrow.parquet as pq

    path = Path(path)
    if path.is_dir():  # a variants run's zarr shard (a predict store is finalized, not merged)
        from grelu_cli.io.formats.zarr.read import read_record as store_record

        record = store_record(path)
        if record.get("command") == "variants":
            check_variant_store(path, record)
        return record
    if not path.is_file():
        raise MissingResourceError(f"merge input {path} does not exist", fix="check the path")
    try:
        meta = pq.read_metadata(path).metadata or {}
    except Exception as err:  # pyarrow raises several types for a file that is not parquet
        raise InputDataError(
            f"{path} is not a readable parquet file ({err})",
            fix="give the files written by grelu predict --shard",
        ) from None
    raw = meta.get(METADATA_KEY.encode())
    if raw is None:
        raise InputDataError(
            f"{path} has no grelu metadata", fix="give the files written by grelu predict"
        )
    return json.loads(raw)


def check_outputs_not_inputs(
    inputs: Sequence[str | Path], outputs: Sequence[str | Path], *, replaces_dirs: bool = False
) -> None:
    """UsageError (exit 2) if writing ``outputs`` could touch an input: an output that is an
    input under another name (a symlink, a relative path, ``./``, a hard link), an output inside
    an input (a zarr store), or, when the outputs are directories replaced as a whole
    (``replaces_dirs``: a zarr store), an input inside one.

    Only paths are compared (nothing is opened), so this runs before any output is touched.
    """
    for out in outputs:
        for inp in inputs:
            how = _overlap(Path(out), Path(inp))
            if how == "holds" and not replaces_dirs:
                continue  # a bigWig folder that also holds the shards: files sit side by side
            if how:
                raise UsageError(
                    f"-o {out} {how} input {inp}; writing it would destroy that input",
                    fix="choose an -o that is none of the inputs (nor inside one)",
                )


def _overlap(out: Path, inp: Path) -> str | None:
    """How ``out`` overlaps ``inp`` ("is", "is inside", "holds"), or None."""
    try:
        if os.path.exists(out) and os.path.exists(inp) and os.path.samefile(out, inp):
            return "is"
    except OSError:
        pass
    real_out, real_in = os.path.realpath(out), os.path.realpath(inp)
    if real_out == real_in:
        return "is"
    if real_out.startswith(real_in.rstrip(os.sep) + os.sep):
        return "is inside"
    if real_in.startswith(real_out.rstrip(os.sep) + os.sep):
        return "holds"
    return None


def check_variant_store(path: Path, record: dict[str, Any]) -> None:
    """InputDataError (exit 3) if a value array of a variants store lacks a chunk file of its
    rows (zarr would read those rows as NaN); only file names are listed, nothing is read."""
    from grelu_cli.io.formats.zarr.present import compact, missing_rows

    out = record.get("output") or {}
    rows = int(out.get("rows") or 0)
    for name in out.get("values") or []:
        lost = missing_rows(path / str(name))
        lost = lost[lost < rows]
        if len(lost):
            shard = record.get("shard") or {}
            again = f" --shard {shard['index']}/{shard['count']}" if shard else ""
            raise InputDataError(
                f"variants store {path}: the {name} values of {len(lost):,} of {rows:,} rows "
                f"are missing on disk (rows {compact(lost)}, 0-based: chunk files under "
                f"{name}/c/ are gone)",
                fix=f"predict it again (grelu variants ...{again} -o {path} --overwrite)",
            )


def parquet_blocks(
    path: str | Path,
    record: dict[str, Any] | None = None,
    windows_per_block: int = _WINDOWS_PER_BLOCK,
) -> Iterator[Block]:
    """Yield the blocks stored in one per-window parquet file, in row order.

    Window ``k`` of the file gets index ``window_range[0] + k``. Fields a writer does not
    need are not stored and come back neutral: ``region_index`` -1, all padding as
    ``pad_left``.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    record = record if record is not None else read_record(path)
    out = record["output"]
    tasks, layout, rows = list(out["tasks"]), out["layout"], int(out["rows"])
    lo, hi = (int(v) for v in record["window_range"])
    n_windows = hi - lo
    if n_windows == 0 or rows == 0:
        return
    per_window = rows // n_windows
    n_bins = per_window // len(tasks) if layout == "long" else per_window
    if per_window * n_windows != rows or n_bins * (len(tasks) if layout == "long" else 1) != (
        per_window
    ):
        raise InputDataError(
            f"{path}: {rows} rows do not split into {n_windows} windows of {len(tasks)} tasks",
            fix="the file was not written by grelu predict, or was changed",
        )
    step = per_window * max(1, windows_per_block)
    pending: list[Any] = []
    buffered = 0
    index = lo
    for batch in pq.ParquetFile(path).iter_batches(batch_size=step):
        pending.append(batch)
        buffered += batch.num_rows
        if buffered < per_window:
            continue
        table = pa.Table.from_batches(pending)
        usable = (buffered // per_window) * per_window
        block = _block(table.slice(0, usable), index, per_window, tasks, layout, n_bins)
        index += len(block.windows)
        yield block
        rest = table.slice(usable)
        pending, buffered = rest.to_batches(), rest.num_rows
    if buffered or index != hi:
        raise InputDataError(
            f"{path}: ended after window {index - lo} of {n_windows}",
            fix="the file is truncated; predict this shard again",
        )


def _block(
    table: Any, index: int, per_window: int, tasks: list[str], layout: str, n_bins: int
) -> Block:
    import pyarrow as pa

    k = table.num_rows // per_window
    first = pa.array(np.arange(k, dtype=np.int64) * per_window)

    def col(name: str) -> Any:
        return table.column(name).combine_chunks()

    def ints(name: str) -> np.ndarray:
        return col(name).take(first).to_numpy().astype(np.int64)

    names = col("name").take(first).to_pylist()
    chroms = col("chrom").take(first).to_pylist()
    strands = col("strand").take(first).to_pylist()
    starts, ends = ints("start"), ints("end")
    wstarts, wends, padded = ints("window_start"), ints("window_end"), ints("padded")
    windows = [
        Window(
            index + j,
            -1,
            names[j],
            chroms[j],
            int(starts[j]),
            int(ends[j]),
            strands[j],
            int(wstarts[j]),
            int(wends[j]),
            int(padded[j]),
            0,
        )
        for j in range(k)
    ]
    t = len(tasks)
    if layout == "long":
        values = col("value").to_numpy().reshape(k, t, n_bins)
        shape = (k, t, n_bins)
        bin_start = col("bin_start").to_numpy().reshape(shape)[:, 0, :]
        bin_end = col("bin_end").to_numpy().reshape(shape)[:, 0, :]
    else:
        values = np.stack([col(task).to_numpy() for task in tasks]).reshape(t, k, n_bins)
        values = values.transpose(1, 0, 2)
        bin_start = col("bin_start").to_numpy().reshape(k, n_bins)
        bin_end = col("bin_end").to_numpy().reshape(k, n_bins)
    bins = col("bin").slice(0, n_bins).to_numpy().astype(np.int64)
    return Block(
        windows,
        np.ascontiguousarray(values, dtype=np.float32),
        bins,
        np.ascontiguousarray(bin_start, dtype=np.int64),
        np.ascontiguousarray(bin_end, dtype=np.int64),
    )


def order_shards(paths: Sequence[str | Path]) -> list[tuple[Path, dict[str, Any]]]:
    """Check ``paths`` are all N shards of one run, each once; return them in shard order.

    Raises InputDataError naming the missing, repeated or foreign shard.
    """
    if not paths:
        raise InputDataError("no shard files to merge", fix="give every shard of the run")
    found: dict[int, tuple[Path, dict[str, Any]]] = {}
    first: tuple[Path, dict[str, Any]] | None = None
    for p in paths:
        path = Path(p)
        rec = read_record(path)
        shard = rec.get("shard")
        if not shard:
            raise InputDataError(
                f"{path} is not a shard (it was written without --shard)",
                fix="merge only the outputs of grelu predict --shard i/N",
            )
        if first is None:
            first = (path, rec)
        else:
            ref_path, ref = first
            if rec.get("fingerprint") != ref.get("fingerprint"):
                raise InputDataError(
                    f"{path} and {ref_path} come from different runs (model, input or "
                    "options differ)",
                    fix="merge shards of one run only",
                )
            if shard["count"] != ref["shard"]["count"]:
                raise InputDataError(
                    f"{path} is shard {shard['index']}/{shard['count']} but {ref_path} is "
                    f"shard {ref['shard']['index']}/{ref['shard']['count']}",
                    fix="merge shards of one run only",
                )
        i = int(shard["index"])
        if i in found:
            raise InputDataError(
                f"shard {i}/{shard['count']} given twice: {found[i][0]} and {path}",
                fix="give each shard once",
            )
        found[i] = (path, rec)
    assert first is not None
    count = int(first[1]["shard"]["count"])
    missing = [i for i in range(count) if i not in found]
    if missing:
        names = ", ".join(f"{i}/{count}" for i in missing[:10])
        raise InputDataError(
            f"{len(missing)} of {count} shards missing: {names}",
            fix="give every shard of the run (predict the missing ones first)",
        )
    ordered = [found[i] for i in range(count)]
    sizes = {rec["shard"].get("batch_size") for _, rec in ordered}
    if len(sizes) > 1:  # shard boundaries fall on batch boundaries (core/shards.py)
        raise InputDataError(
            "the shards were predicted with different batch sizes "
            f"({', '.join(str(s) for s in sorted(sizes, key=str))}), so their window ranges "
            "do not fit together",
            fix="predict every shard with the same --batch-size (and device type)",
        )
    pos = 0
    for path, rec in ordered:
        lo, hi = rec["window_range"]
        if lo != pos or hi < lo:
            raise InputDataError(
                f"{path}: windows [{lo}, {hi}) do not follow the previous shard's end {pos}",
                fix="the shards were not written by one grelu version; predict them again",
            )
        pos = hi
    if pos != first[1]["shard"]["total_windows"]:
        raise InputDataError(
            f"the shards cover {pos} windows but the run has {first[1]['shard']['total_windows']}",
            fix="predict every shard again with the same version",
        )
    return ordered


def merged_record(shards: list[tuple[Path, dict[str, Any]]], output: str) -> dict[str, Any]:
    """The metadata record of the merged output.

    Equal to the record an unsharded run writes, except: ``created`` (the merge time),
    ``options.output`` (the merge's ``-o``), ``options.shard`` (null, as unsharded), run-only
    options (device, batch size, log format...: those of shard 0) and ``window_range`` (the
    whole run); a ``merged`` entry lists the shard files and when each was made.
    """
    rec = copy.deepcopy(shards[0][1])
    rec.pop("output", None)  # the writer adds its own
    total = int(rec["shard"]["total_windows"])
    now = _dt.datetime.now(_dt.UTC).replace(microsecond=0)
    rec["created"] = now.isoformat().replace("+00:00", "Z")
    rec.setdefault("options", {})
    rec["options"]["shard"] = None
    rec["options"]["output"] = output
    rec["shard"] = None
    rec["window_range"] = [0, total]
    rec["merged"] = {
        "shards": len(shards),
        "from": [{"file": path.name, "created": r.get("created")} for path, r in shards],
    }
    return rec


def merged_blocks(shards: list[tuple[Path, dict[str, Any]]]) -> Iterator[Block]:
    """Every block of every shard, in window order."""
    for path, rec in shards:
        yield from parquet_blocks(path, rec)
