"""Read one genomic region of predicted tracks from bigWig files and ``grelu predict`` parquet
or zarr output.

Every track comes back at base resolution over the region, ``values: (L,)`` float64 with NaN
where nothing was predicted, so tracks from different files and bin sizes line up. Parquet
rows whose bins overlap (overlapping input regions) are averaged per base, as the bigWig
writer does; so are the windows of a zarr store. Inputs are recognised by their first bytes
(bigWig magic, parquet ``PAR1``) or, for a directory, by a ``zarr.json`` inside (a zarr
store), so names do not matter; any other directory stands for the bigWig files in it.

Track names: a bigWig file's stem (``out/motif_a.bw`` -> ``motif_a``), a parquet file's or
zarr store's task names. ``--tasks`` matches either the name or its file-safe form
(:func:`grelu_cli.io.formats.bigwig.safe_task_name`), so the same ``--tasks`` works for both
outputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from grelu_cli.errors import InputDataError, MissingResourceError, UsageError
from grelu_cli.io.formats.bigwig import BIGWIG_SUFFIXES, safe_task_name
from grelu_cli.io.readers.bed import read_bed
from grelu_cli.io.readers.regions import RegionSpec
from grelu_cli.viz.bigwig_check import BIGWIG_MAGIC, check_bigwig_layout, damaged
from grelu_cli.viz.quiet import c_stderr_silenced

#: Longest region drawn (bp): per-base arrays of this size stay small.
MAX_REGION_BP = 10_000_000
_PARQUET_MAGIC = b"PAR1"
_BIN_COLUMNS = ("chrom", "bin_start", "bin_end")


@dataclass
class Track:
    """One track over a region: ``values`` (L,) per base, NaN where nothing was predicted."""

    name: str
    source: str
    values: np.ndarray


@dataclass(frozen=True)
class Feature:
    """A BED interval to annotate (0-based half-open)."""

    chrom: str
    start: int
    end: int
    name: str | None
    strand: str


def check_region(region: RegionSpec) -> None:
    """Refuse regions too long to draw at base resolution."""
    if region.end - region.start > MAX_REGION_BP:
        raise UsageError(
            f"--region {region.text} spans {region.end - region.start:,} bp; grelu plot draws "
            f"at most {MAX_REGION_BP:,} bp",
            fix="choose a shorter region",
        )


def sniff(path: Path) -> str:
    """``"bigwig"`` or ``"parquet"`` from the file's first bytes (raises for anything else)."""
    if not path.exists():
        raise MissingResourceError(f"input {path} does not exist", fix="check the path")
    with open(path, "rb") as fh:
        head = fh.read(4)
    if head == BIGWIG_MAGIC:
        return "bigwig"
    if head == _PARQUET_MAGIC:
        return "parquet"
    raise InputDataError(
        f"input {path} is neither a bigWig nor a parquet file",
        fix="give grelu predict output: bigWig files, a folder of them, a parquet file or a "
        "zarr store",
    )


def expand_inputs(paths: Sequence[str | Path]) -> list[tuple[str, Path]]:
    """(kind, file) for each input; a directory expands to its bigWig files, sorted by name."""
    out: list[tuple[str, Path]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir() and (path / "zarr.json").is_file():
            out.append(("zarr", path))
        elif path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in BIGWIG_SUFFIXES)
            if not found:
                raise MissingResourceError(
                    f"folder {path} holds no .bw/.bigwig files",
                    fix="give the folder grelu predict --format bigwig wrote",
                )
            out.extend(("bigwig", p) for p in found)
        else:
            out.append((sniff(path), path))
    return out


def _matches(name: str, wanted: str) -> bool:
    return name == wanted or safe_task_name(name) == safe_task_name(wanted)


def _pick(names: Sequence[str], tasks: Sequence[str] | None) -> list[str]:
    """The names ``tasks`` asks for (all when None), in the order of ``names``."""
    if tasks is None:
        return list(names)
    return [n for n in names if any(_matches(n, t) for t in tasks)]


def read_tracks(
    inputs: Sequence[str | Path], region: RegionSpec, tasks: Sequence[str] | None = None
) -> list[Track]:
    """Tracks of ``region`` from every input, in input order (then task order within a file);
    with ``tasks``, only those, in the order given.

    Raises:
        UsageError: a task matches no track, the region's chromosome is in no input, the
            region runs past the chromosome's end, or nothing was predicted in the region.
        InputDataError / MissingResourceError: an input is unreadable or missing, is not
            grelu predict output (a variants store or parquet file), or is a zarr store whose
            windows in the region have no data file on disk (never drawn as NaN).
    """
    check_region(region)
    tracks: list[Track] = []
    known: list[str] = []
    chrom_seen = False
    for kind, path in expand_inputs(inputs):
        if kind == "bigwig":
            name = path.stem
            known.append(name)
            if not _pick([name], tasks):
                continue
            track = read_bigwig(path, region)
        else:
            read = read_zarr if kind == "zarr" else read_parquet
            names, found = read(path, region, tasks)
            known.extend(names)
            tracks.extend(found)
            chrom_seen = chrom_seen or bool(found)
            continue
        chrom_seen = True
        tracks.append(track)
    if tasks is not None:
        missing = [t for t in tasks if not any(_matches(tr.name, t) for tr in tracks)]
        if missing:
            raise UsageError(
                f"--tasks {','.join(missing)}: no such track in the inputs; known: "
                + _short_list(dict.fromkeys(known)),
                fix="pick names from that list",
            )
        tracks.sort(key=lambda tr: next(i for i, t in enumerate(tasks) if _matches(tr.name, t)))
    if not chrom_seen or not tracks:
        raise UsageError(
            f"--region {region.text}: chromosome '{region.chrom}' is in none of the inputs",
            fix="check the chromosome name",
        )
    if all(np.isnan(t.values).all() for t in tracks):
        raise UsageError(
            f"--region {region.text}: nothing was predicted there in any input",
            fix="pick a region that grelu predict covered",
        )
    _dedupe_names(tracks)
    return tracks


def _short_list(names: Sequence[str] | dict, limit: int = 12) -> str:
    names = list(names)
    text = ", ".join(names[:limit])
    return text + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def _dedupe_names(tracks: list[Track]) -> None:
    """Tracks of the same name from different files get the file name added."""
    counts: dict[str, int] = {}
    for t in tracks:
        counts[t.name] = counts.get(t.name, 0) + 1
    for t in tracks:
        if counts[t.name] > 1:
            t.name = f"{t.name} ({Path(t.source).name})"


def read_bigwig(path: Path, region: RegionSpec) -> Track:
    """One bigWig's values over ``region`` (per base; NaN where the file has no entry).

    Raises:
        InputDataError: the file is truncated or damaged (libBigWig's own messages on fd 2
            are silenced; this one line replaces them).
    """
    import pyBigWig

    check_bigwig_layout(path)  # libBigWig can crash (SIGSEGV) on files cut short
    try:
        with c_stderr_silenced():
            bw = pyBigWig.open(str(path))
    except RuntimeError:  # pyBigWig's "Received an error during file opening!"
        bw = None
    if bw is None:
        raise damaged(path, "libBigWig cannot open it")
    try:
        chroms = bw.chroms()
        if region.chrom not in chroms:
            raise UsageError(
                f"--region {region.text}: chromosome '{region.chrom}' is not in {path}; "
                f"known: {_short_list(list(chroms))}",
                fix="check the chromosome name",
            )
        _check_end(region, int(chroms[region.chrom]), path)
        values = np.full(region.end - region.start, np.nan)
        try:
            with c_stderr_silenced():
                found = bw.intervals(region.chrom, region.start, region.end) or ()
        except RuntimeError:  # a data block past the end of a truncated file
            where = f"{region.chrom}:{region.start}-{region.end}"
            raise damaged(path, f"cannot read {where}") from None
        for s, e, v in found:
            values[max(s, region.start) - region.start : min(e, region.end) - region.start] = v
    finally:
        bw.close()
    return Track(path.stem, str(path), values)


def _check_end(region: RegionSpec, length: int, path: Path) -> None:
    if region.end > length:
        raise UsageError(
            f"--region {region.text} ends at {region.end:,}, past the end of {region.chrom} "
            f"({length:,} bp in {path})",
            fix=f"end the region at {length:,} or before",
        )


def read_parquet(
    path: Path, region: RegionSpec, tasks: Sequence[str] | None
) -> tuple[list[str], list[Track]]:
    """(every task name in the file, tracks over ``region`` for the selected tasks).

    Reads only rows on the region's chromosome whose bins overlap it (parquet row-group
    statistics skip the rest). Long and wide layouts are both understood.
    """
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except Exception as e:  # pyarrow raises several types for damaged files
        raise InputDataError(f"cannot read parquet {path}: {e}", fix="check the file") from None
    cols = list(schema.names)
    _refuse_other_outputs(path, schema)
    missing = [c for c in _BIN_COLUMNS if c not in cols]
    if missing:
        raise InputDataError(
            f"{path} has no {', '.join(missing)} column(s); it is not a grelu predict output "
            "with genomic coordinates",
            fix="plot predictions made from --bed/--region/--chrom with a genome",
        )
    long = "task" in cols and "value" in cols
    if long:
        names = _unique_tasks(path)
    else:
        from grelu_cli.io.formats.parquet import WIDE_LEADING_COLUMNS

        names = [c for c in cols if c not in WIDE_LEADING_COLUMNS]
    chosen = _pick(names, tasks)
    if not chosen:
        return names, []
    filters = [
        ("chrom", "=", region.chrom),
        ("bin_end", ">", region.start),
        ("bin_start", "<", region.end),
    ]
    read_cols = [*_BIN_COLUMNS, "task", "value"] if long else [*_BIN_COLUMNS, *chosen]
    table = pq.read_table(path, columns=read_cols, filters=filters)
    if table.num_rows == 0 and not _has_chrom(path, region.chrom):
        return names, []
    start = np.asarray(table["bin_start"].to_numpy(zero_copy_only=False), dtype=np.int64)
    end = np.asarray(table["bin_end"].to_numpy(zero_copy_only=False), dtype=np.int64)
    tracks = []
    if long:
        task_col = np.asarray(table["task"].to_numpy(zero_copy_only=False)).astype(str)
        value = np.asarray(table["value"].to_numpy(zero_copy_only=False), dtype=np.float64)
        for name in chosen:
            keep = task_col == name
            tracks.append(
                Track(name, str(path), _per_base(region, start[keep], end[keep], value[keep]))
            )
    else:
        for name in chosen:
            value = np.asarray(table[name].to_numpy(zero_copy_only=False), dtype=np.float64)
            tracks.append(Track(name, str(path), _per_base(region, start, end, value)))
    return names, tracks


def _refuse_other_outputs(path: Path, schema: Any) -> None:
    """A parquet file grelu wrote for another command (``grelu variants``) is not tracks."""
    import json

    raw = (schema.metadata or {}).get(b"grelu")
    try:
        command = json.loads(raw).get("command") if raw else None
    except (ValueError, AttributeError):
        command = None
    if command not in (None, "predict"):
        raise InputDataError(
            f"{path} is grelu {command} output, not predicted tracks",
            fix="grelu plot draws grelu predict output: bigWig files, or its parquet files or "
            "zarr stores",
        )


def read_zarr(
    path: Path, region: RegionSpec, tasks: Sequence[str] | None
) -> tuple[list[str], list[Track]]:
    """(every task name in the store, tracks over ``region`` for the selected tasks).

    Reads only the windows that overlap the region and the selected tasks' chunks.
    """
    from grelu_cli.io.formats.zarr import open_store

    store = open_store(path)
    names = store.tasks
    chosen = _pick(names, tasks)
    if not chosen:
        return names, []
    hits = store.overlapping(region.chrom, region.start, region.end)
    if len(hits) == 0:
        chroms = np.asarray(store.group["chrom"][:])
        if len(chroms) and (chroms == "").all():
            raise InputDataError(
                f"{path} holds predictions for FASTA records, which have no genomic coordinates",
                fix="plot predictions made with --bed/--region/--chrom and --genome",
            )
        if not (chroms == region.chrom).any():
            return names, []
    # A window whose file is gone reads as NaN: say the data is missing, not "not predicted".
    store.check_data(hits, context=f"--region {region.text}: ")
    picks = store.task_indices(chosen)
    values = store.preds.get_orthogonal_selection((hits, picks, slice(None)))  # (n, T, B)
    start = np.asarray(store.group["bin_start"].get_orthogonal_selection((hits, slice(None))))
    end = np.asarray(store.group["bin_end"].get_orthogonal_selection((hits, slice(None))))
    tracks = [
        Track(
            name,
            str(path),
            _per_base(
                region,
                start.ravel(),
                end.ravel(),
                np.asarray(values[:, k, :], dtype=np.float64).ravel(),
            ),
        )
        for k, name in enumerate(chosen)
    ]
    return names, tracks


def _unique_tasks(path: Path) -> list[str]:
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    col = pq.read_table(path, columns=["task"])["task"]
    return [str(t) for t in pc.unique(col).to_pylist() if t is not None]


def _has_chrom(path: Path, chrom: str) -> bool:
    """Whether any row is on ``chrom``; raises for FASTA-input files (no chromosomes at all)."""
    import pyarrow.parquet as pq

    col = pq.read_table(path, columns=["chrom"])["chrom"]
    if len(col) and col.null_count == len(col):
        raise InputDataError(
            f"{path} holds predictions for FASTA records, which have no genomic coordinates",
            fix="plot predictions made with --bed/--region/--chrom and --genome",
        )
    return pq.read_table(path, columns=["chrom"], filters=[("chrom", "=", chrom)]).num_rows > 0


def _per_base(region: RegionSpec, start: np.ndarray, end: np.ndarray, value: np.ndarray):
    """Mean of every bin covering each base of the region: (L,) float64, NaN where none.

    Sums and counts are built with difference arrays, so cost is O(rows + L).
    """
    n = region.end - region.start
    ok = np.isfinite(value)
    s = np.clip(start[ok] - region.start, 0, n)
    e = np.clip(end[ok] - region.start, 0, n)
    total = np.zeros(n + 1)
    count = np.zeros(n + 1)
    np.add.at(total, s, value[ok])
    np.add.at(total, e, -value[ok])
    np.add.at(count, s, 1)
    np.add.at(count, e, -1)
    total, count = np.cumsum(total)[:n], np.cumsum(count)[:n]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0.5, total / np.maximum(count, 1), np.nan)


def read_features(path: str | Path, region: RegionSpec) -> list[Feature]:
    """BED intervals that overlap ``region``, in file order."""
    return [
        Feature(r.chrom, r.start, r.end, r.name, r.strand)
        for r in read_bed(path)
        if r.chrom == region.chrom and r.end > region.start and r.start < region.end
    ]
