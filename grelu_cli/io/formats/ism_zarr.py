"""Dense zarr v3 store of ISM results (``grelu ism -o ism.zarr``), written region by region,
by one run or by the shards of one run (result kind ``ism`` of the writer registry).

Store layout (``R`` regions, ``P`` positions, ``T`` tasks)::

    zarr.json            root group; attribute ``grelu``: provenance, ``layout``, ``dtype``,
                         ``complete``, ``output`` (array ``delta``, tasks, regions, positions)
    delta/               (region, position, base, task) float32 (float16 with --dtype float16):
                         target(mutant) - target(reference) (or log2fc), NaN at the reference
                         base and past a region's last position; one file per region
    target_ref/          (region, task) float32 target of the reference window
    ref/                 (region, position) reference base "A", "C", "G", "T" or "N" ("" past
                         a region's last position)
    pos/                 (region, position) int64 0-based genomic position (-1 for FASTA input
                         and past a region's last position)
    offset/              (region, position) int64 window offset (genome orientation; -1 past
                         the last position)
    region/ position/ base/ task/
                         dimension coordinates (base = A, C, G, T)
    name/ chrom/ start/ end/ strand/ window_start/ window_end/ padded/
                         per-region coordinates, as ``grelu predict``'s per-window ones
    .grelu/done/         markers of written regions while the store is being written

``P`` is ``--ism-end - --ism-start`` or ``--ism-width``; a region with fewer positions (shorter
than the width) fills the rest as said. Every per-region array is chunked one region per
chunk row, so shards write disjoint chunk files. The writing protocol (temporary store and
rename, shards joining one store, done markers, ``--resume``, ``grelu merge STORE`` to
finalize) is :class:`~grelu_cli.io.formats.zarr.writer.ZarrWriter`'s; this module only says
what the store holds and how a region is written.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from grelu_cli.core.ism_block import BASES, ISMBlock, ref_codes, ref_letters
from grelu_cli.core.window import Window
from grelu_cli.errors import InputDataError
from grelu_cli.io.formats.provenance import to_json
from grelu_cli.io.formats.zarr.read import read_record
from grelu_cli.io.formats.zarr.regions import NoBins, region_columns, region_vector
from grelu_cli.io.formats.zarr.schema import (
    ATTR,
    WINDOW_COORDS,
    WindowSource,
    codec,
    consolidate,
    marker_dir,
    publish_store,
)
from grelu_cli.io.formats.zarr.writer import ZarrWriter, _to_float16

DELTA = "delta"
DIMS = ("region", "position", "base", "task")
#: (region, position) arrays written with each region, and their fill for missing positions.
POSITION_ARRAYS = {"ref": "", "pos": -1, "offset": -1}
#: Regions held and written together by :class:`ISMZarrWriter` (one zarr call per array and one
#: done marker per run): writing region by region cost 14 ms per region on a 2-core CPU (five
#: zarr calls, five fsyncs, a marker), 40-70% of fast ISM's own time on a 2,048 bp ConvModel
#: with 200 positions; held by 4, 8 ms. Small, so markers still come often (resume, kills) ...
FLUSH_REGIONS = 4
#: ... and the longest a region is held (so slow regions are marked done as they come).
FLUSH_SECONDS = 0.2


@dataclass(frozen=True)
class ISMStoreSpec:
    """What an ISM store is created from: tasks, every region's window, positions, dtype and
    the root record."""

    tasks: tuple[str, ...]
    windows: WindowSource
    positions: int
    dtype: str
    record: dict[str, Any]


def create_ism_store(path: Path, spec: ISMStoreSpec) -> None:
    """Create the store at ``path`` (must not exist): every array's metadata, the region
    coordinates, and no region's values (they read NaN / fill until written)."""
    import zarr

    n, p, t = spec.windows.count(), int(spec.positions), len(spec.tasks)
    group = zarr.open_group(str(path), mode="w-", zarr_format=3)
    delta = group.create_array(
        DELTA,
        shape=(n, p, 4, t),
        chunks=(1, max(1, p), 4, max(1, t)),
        dtype=spec.dtype,
        fill_value=np.nan,
        compressors=codec(),
        dimension_names=DIMS,
    )
    group.create_array(
        "target_ref",
        shape=(n, t),
        chunks=(1, max(1, t)),
        dtype="float32",
        fill_value=np.nan,
        compressors=codec(),
        dimension_names=("region", "task"),
    )
    for name, fill in POSITION_ARRAYS.items():
        text = isinstance(fill, str)
        group.create_array(
            name,
            shape=(n, p),
            chunks=(1, max(1, p)),
            dtype=str if text else "int64",
            fill_value=fill,
            compressors="auto" if text else codec(),
            dimension_names=("region", "position"),
        )
    region_vector(group, "region", np.arange(n, dtype=np.int64), "region")
    region_vector(group, "position", np.arange(p, dtype=np.int64), "position")
    region_vector(group, "base", np.array(BASES, dtype=str), "base")
    region_vector(group, "task", np.array(list(spec.tasks), dtype=str), "task")
    region_columns(group, spec.windows, n)
    # CF convention, which xarray decodes: these are coordinates of delta.
    delta.attrs["coordinates"] = " ".join((*WINDOW_COORDS, "ref", "pos", "offset"))
    group.attrs[ATTR] = json.loads(to_json(spec.record))
    marker_dir(path).mkdir(parents=True)
    consolidate(path)


class ISMZarrWriter(ZarrWriter):
    """Write :class:`~grelu_cli.core.ism_block.ISMBlock` results into an ISM store.

    Args (beyond :class:`ZarrWriter`'s ``path, tasks, windows, dtype, metadata,
    window_range, sharded, resume, overwrite, chrom_sizes``):
        positions: ``P``, the store's position axis.
    """

    array = DELTA

    def __init__(self, path: str | Path, tasks: Sequence[str], *, positions: int, **kw: Any):
        super().__init__(path, tasks, bin_layout=NoBins(), **kw)
        self.positions = int(positions)
        self._arrays: dict[str, Any] = {}
        self._held: list[tuple[int, np.ndarray, np.ndarray, dict[str, np.ndarray]]] = []
        self._held_since = 0.0

    def _create(self, path: Path) -> None:
        spec = ISMStoreSpec(
            tuple(self.tasks), self.windows, self.positions, self.dtype, self.root_record()
        )
        publish_store(path, spec, create_ism_store)

    def root_record(self) -> dict[str, Any]:
        record = super().root_record()
        record["layout"] = list(DIMS)
        record["output"] = {
            "format": "zarr",
            "array": DELTA,
            "tasks": self.tasks,
            "windows": self.total,  # regions: the name finalize_store reads
            "regions": self.total,
            "positions": self.positions,
        }
        return record

    def _check_store(self, record: dict[str, Any]) -> None:
        out = record.get("output") or {}
        if (
            record.get("fingerprint") != self.fingerprint
            or out.get("array") != DELTA
            or out.get("tasks") != self.tasks
            or out.get("regions") != self.total
            or out.get("positions") != self.positions
            or record.get("dtype") != self.dtype
        ):
            raise InputDataError(
                f"zarr store {self.store} cannot take this run's ISM results: it was written "
                "by a different run (model, input or options differ)",
                fix="write to another -o, or delete the store to start again",
            )

    def _open(self) -> None:
        import zarr

        super()._open()
        if self.already_complete:
            return
        for name in ("target_ref", *POSITION_ARRAYS):
            array = zarr.open_array(str(self.store / name), mode="r+")
            self._arrays[name] = array.with_config({"write_empty_chunks": True})

    def write(self, block: Any) -> None:
        """Write one region (an :class:`ISMBlock`); a region already done is skipped.

        Consecutive regions are held and written together (one zarr call per array and one
        done marker per run of regions, :meth:`_flush`): at most :data:`FLUSH_REGIONS`
        regions and :data:`FLUSH_SECONDS` after the first one held, so a killed run loses
        little and ``--resume`` redoes only the regions not marked done."""
        if self.already_complete:
            return
        if self._preds is None:
            raise RuntimeError("ISMZarrWriter.write() outside an open writer")
        w = int(block.window.index)
        if not self.lo <= w < self.hi:
            raise ValueError(f"region {w} is outside this writer's range [{self.lo}, {self.hi})")
        if self._done[w - self.lo]:
            return
        p = block.n_positions
        if p > self.positions or block.delta.shape[2] != len(self.tasks):
            raise ValueError(
                f"region {w}: {p} positions x {block.delta.shape[2]} tasks; the store holds "
                f"{self.positions} x {len(self.tasks)}"
            )
        if self._held and w != self._held[-1][0] + 1:
            self._flush()
        delta = np.full((1, self.positions, 4, len(self.tasks)), np.nan, dtype=np.float32)
        delta[0, :p] = block.delta
        clipped = np.zeros(1, dtype=np.int64)
        values: np.ndarray = delta
        if self.dtype == "float16":
            values, clipped = _to_float16(delta)
        rows = {
            "ref": _padded(ref_letters(block.ref).astype(str), self.positions, ""),
            "pos": _padded(block.pos, self.positions, -1),
            "offset": _padded(block.offset, self.positions, -1),
            "target_ref": np.asarray(block.target_ref, np.float32),
        }
        if not self._held:
            self._held_since = time.monotonic()
        self._held.append((w, values, clipped, rows))
        if len(self._held) >= FLUSH_REGIONS or time.monotonic() - self._held_since >= FLUSH_SECONDS:
            self._flush()

    def _flush(self) -> None:
        """Write the held run of consecutive regions ``[a, z)``: each array in one call,
        ``delta`` last (its files say the regions are written), then one done marker."""
        if not self._held:
            return
        held, self._held = self._held, []
        a, z = held[0][0], held[-1][0] + 1
        for name in ("ref", "pos", "offset", "target_ref"):
            self._arrays[name][a:z] = np.stack([h[3][name] for h in held])
        self._preds[a:z] = np.concatenate([h[1] for h in held])
        self._mark_written(a, z, np.concatenate([h[2] for h in held]))

    def finish(self) -> None:
        """Write the held regions, then finish as :class:`ZarrWriter` does."""
        if not self.already_complete and self._preds is not None:
            try:
                self._flush()
            except BaseException:
                self.abort()
                raise
        super().finish()

    def abort(self) -> None:
        """Drop the held regions (never marked done: ``--resume`` redoes them)."""
        self._held = []
        super().abort()

    def _sync(self, a: int, z: int) -> None:
        import os

        for w in range(a, z):
            for name in (DELTA, "target_ref", *POSITION_ARRAYS):
                depth = 4 if name == DELTA else 2
                path = self.store / name / "c" / str(w)
                path = path.joinpath(*(["0"] * (depth - 1)))
                try:
                    fd = os.open(path, os.O_RDONLY)
                except FileNotFoundError:
                    continue
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)


def _padded(values: np.ndarray, n: int, fill: Any) -> np.ndarray:
    values = np.asarray(values)
    if len(values) == n:
        return values
    out = np.full(n, fill, dtype=values.dtype if not isinstance(fill, str) else object)
    out[: len(values)] = values
    return out.astype(values.dtype) if not isinstance(fill, str) else out.astype(str)


def read_ism_store(path: str | Path, lo: int = 0, hi: int | None = None) -> Iterator[ISMBlock]:
    """Yield one :class:`ISMBlock` per region ``[lo, hi)`` of a finished ISM store, in order.

    ``alt`` is rebuilt from ``target_ref`` and ``delta`` (``diff``: r + d; ``log2fc``:
    ``(r + c) * 2^d - c``)."""
    import zarr

    record = read_record(path)
    if record.get("command") != "ism":
        raise InputDataError(f"{path} is not a grelu ism store", fix="check the path")
    group: Any = zarr.open_group(str(path), mode="r")
    n = int(record["output"]["regions"])
    hi = n if hi is None else hi
    ism = record.get("ism") or {}
    how, c = ism.get("score", "diff"), float(ism.get("pseudocount") or 0.0)
    coords = {key: np.asarray(group[key][lo:hi]) for key in WINDOW_COORDS}
    for w in range(lo, hi):
        offset = np.asarray(group["offset"][w])
        keep = offset >= 0
        delta = np.asarray(group[DELTA][w], dtype=np.float32)[keep]
        ref = np.asarray(group["target_ref"][w], dtype=np.float32)
        if how == "diff":
            alt = ref[None, None, :] + delta
        else:
            alt = (ref[None, None, :] + c) * np.exp2(delta) - c
        i = w - lo
        chrom = str(coords["chrom"][i])
        window = Window(
            index=w,
            region_index=w,
            name=str(coords["name"][i]),
            chrom=chrom or None,
            start=int(coords["start"][i]),
            end=int(coords["end"][i]),
            strand=str(coords["strand"][i]),
            window_start=int(coords["window_start"][i]),
            window_end=int(coords["window_end"][i]),
            pad_left=int(coords["padded"][i]),
        )
        yield ISMBlock(
            window=window,
            offset=offset[keep].astype(np.int64),
            pos=np.asarray(group["pos"][w])[keep].astype(np.int64),
            ref=ref_codes(np.asarray(group["ref"][w])[keep]),
            delta=delta,
            alt=alt.astype(np.float32),
            target_ref=ref,
        )


def make_writer(spec: Any) -> ISMZarrWriter:
    """The registry's factory (result kind ``ism``): ``spec.metadata["ism"]["positions"]``
    is the store's position axis."""
    return ISMZarrWriter(
        spec.output,
        spec.tasks,
        positions=int(spec.metadata["ism"]["positions"]),
        windows=spec.windows,
        dtype=spec.dtype,
        metadata=spec.metadata,
        window_range=spec.window_range,
        sharded=spec.sharded,
        resume=spec.resume,
        overwrite=spec.overwrite,
        chrom_sizes=spec.chrom_sizes,
    )


def output_paths(output: str, tasks: Sequence[str]) -> list[Path]:
    """One store, whatever the tasks."""
    return [Path(output.rstrip("/") or output)]
