"""Dense zarr v3 store of attributions (``grelu attribute -o attr.zarr``), written window by
window, by one run or by the shards of one run (result kind ``attribution`` of the registry).

Store layout (``R`` regions, ``G`` targets, ``P`` positions)::

    zarr.json            root group; attribute ``grelu``: provenance, ``layout``, ``dtype``,
                         ``complete``, ``attribute`` (method and options), ``output`` (array
                         ``attribution``, targets, regions, positions)
    attribution/         (region, target, position, base) float32 (float16 with --dtype
                         float16), genome orientation; one file per region
    ref/                 (region, position) reference base "A", "C", "G", "T" or "N"
    pos/                 (region, position) int64 0-based genomic position (-1 for FASTA
                         input and for N padding past a chromosome end)
    region/ target/ position/ base/
                         dimension coordinates (target = "mean", or task names with
                         --per-task; base = A, C, G, T)
    name/ chrom/ start/ end/ strand/ window_start/ window_end/ padded/
                         per-region coordinates, as ``grelu predict``'s per-window ones
    .grelu/done/         markers of written regions while the store is being written

A region is one model window placed as ``grelu predict`` places it. The writing protocol
(temporary store and rename, shards joining one store, done markers, ``--resume``, ``grelu
merge STORE`` to finalize) is :class:`~grelu_cli.io.formats.zarr.writer.ZarrWriter`'s; this
module only says what the store holds and how a block of regions is written.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from grelu_cli.core.attribution_block import BASES, LETTERS, AttributionBlock
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

ATTRIBUTION = "attribution"
DIMS = ("region", "target", "position", "base")


@dataclass(frozen=True)
class AttributionStoreSpec:
    """What a store is created from: targets, every region's window, positions, dtype and
    the root record."""

    targets: tuple[str, ...]
    windows: WindowSource
    positions: int
    dtype: str
    record: dict[str, Any]


def create_attribution_store(path: Path, spec: AttributionStoreSpec) -> None:
    """Create the store at ``path`` (must not exist): metadata and region coordinates; no
    region's values (they read NaN until written)."""
    import zarr

    n, g, p = spec.windows.count(), len(spec.targets), int(spec.positions)
    group = zarr.open_group(str(path), mode="w-", zarr_format=3)
    values = group.create_array(
        ATTRIBUTION,
        shape=(n, g, p, 4),
        chunks=(1, max(1, g), max(1, p), 4),
        dtype=spec.dtype,
        fill_value=np.nan,
        compressors=codec(),
        dimension_names=DIMS,
    )
    group.create_array(
        "ref",
        shape=(n, p),
        chunks=(1, max(1, p)),
        dtype=str,
        fill_value="",
        dimension_names=("region", "position"),
    )
    group.create_array(
        "pos",
        shape=(n, p),
        chunks=(1, max(1, p)),
        dtype="int64",
        fill_value=-1,
        compressors=codec(),
        dimension_names=("region", "position"),
    )
    region_vector(group, "region", np.arange(n, dtype=np.int64), "region")
    region_vector(group, "target", np.array(list(spec.targets), dtype=str), "target")
    region_vector(group, "position", np.arange(p, dtype=np.int64), "position")
    region_vector(group, "base", np.array(BASES, dtype=str), "base")
    region_columns(group, spec.windows, n)
    # CF convention, which xarray decodes: these are coordinates of the attribution array.
    values.attrs["coordinates"] = " ".join((*WINDOW_COORDS, "ref", "pos"))
    group.attrs[ATTR] = json.loads(to_json(spec.record))
    marker_dir(path).mkdir(parents=True)
    consolidate(path)


class AttributionZarrWriter(ZarrWriter):
    """Write :class:`~grelu_cli.core.attribution_block.AttributionBlock` results into a store.

    Args (beyond :class:`ZarrWriter`'s ``path, windows, dtype, metadata, window_range,
    sharded, resume, overwrite, chrom_sizes``):
        targets: the target names (G), the store's target axis.
        positions: ``P``, the store's position axis (the model's input length).
    """

    array = ATTRIBUTION

    def __init__(
        self, path: str | Path, targets: Sequence[str], *, positions: int, **kw: Any
    ) -> None:
        super().__init__(path, targets, bin_layout=NoBins(), **kw)
        self.positions = int(positions)
        self._arrays: dict[str, Any] = {}

    def _create(self, path: Path) -> None:
        spec = AttributionStoreSpec(
            tuple(self.tasks), self.windows, self.positions, self.dtype, self.root_record()
        )
        publish_store(path, spec, create_attribution_store)

    def root_record(self) -> dict[str, Any]:
        record = super().root_record()
        record["layout"] = list(DIMS)
        record["output"] = {
            "format": "zarr",
            "array": ATTRIBUTION,
            "tasks": self.tasks,
            "targets": self.tasks,
            "windows": self.total,  # regions: the name finalize_store reads
            "regions": self.total,
            "positions": self.positions,
        }
        return record

    def _check_store(self, record: dict[str, Any]) -> None:
        out = record.get("output") or {}
        if (
            record.get("fingerprint") != self.fingerprint
            or out.get("array") != ATTRIBUTION
            or out.get("targets") != self.tasks
            or out.get("regions") != self.total
            or out.get("positions") != self.positions
            or record.get("dtype") != self.dtype
        ):
            raise InputDataError(
                f"zarr store {self.store} cannot take this run's attributions: it was written "
                "by a different run (model, input or options differ)",
                fix="write to another -o, or delete the store to start again",
            )

    def _open(self) -> None:
        import zarr

        super()._open()
        if self.already_complete:
            return
        for name in ("ref", "pos"):
            array = zarr.open_array(str(self.store / name), mode="r+")
            self._arrays[name] = array.with_config({"write_empty_chunks": True})

    def write(self, block: Any) -> None:
        """Write the regions of one :class:`AttributionBlock` (regions already done are
        skipped)."""
        if self.already_complete:
            return
        if self._preds is None:
            raise RuntimeError("AttributionZarrWriter.write() outside an open writer")
        if not isinstance(block, AttributionBlock):
            raise TypeError(f"an attribution store takes AttributionBlocks, not {type(block)}")
        _, g, p, _ = block.values.shape
        if g != len(self.tasks) or p != self.positions:
            raise ValueError(
                f"block has {g} targets x {p} positions; the store holds {len(self.tasks)} x "
                f"{self.positions}"
            )
        for i, window in enumerate(block.windows):
            w = int(window.index)
            if not self.lo <= w < self.hi:
                raise ValueError(
                    f"region {w} is outside this writer's range [{self.lo}, {self.hi})"
                )
            if self._done[w - self.lo]:
                continue
            values: np.ndarray = np.asarray(block.values[i : i + 1], dtype=np.float32)
            clipped = np.zeros(1, dtype=np.int64)
            if self.dtype == "float16":
                values, clipped = _to_float16(values)
            self._arrays["ref"][w : w + 1] = LETTERS[block.ref[i]][None]
            self._arrays["pos"][w : w + 1] = block.pos[i][None]
            self._preds[w : w + 1] = values  # last: its file says the region is written
            self._mark_written(w, w + 1, clipped)

    def _sync(self, a: int, z: int) -> None:
        """fsync each region's files (``attribution/c/<w>/0/0/0``, ``ref|pos/c/<w>/0``)."""
        for w in range(a, z):
            for name, depth in ((ATTRIBUTION, 4), ("ref", 2), ("pos", 2)):
                path = (self.store / name / "c" / str(w)).joinpath(*(["0"] * (depth - 1)))
                try:
                    fd = os.open(path, os.O_RDONLY)
                except FileNotFoundError:
                    continue
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)


@dataclass(frozen=True)
class AttributionRegion:
    """One region read back from a store: ``values (G, P, 4)``, ``ref (P,)`` letters,
    ``pos (P,)``, ``targets`` and the region's coordinates."""

    index: int
    name: str
    chrom: str
    start: int
    end: int
    strand: str
    values: np.ndarray
    ref: np.ndarray
    pos: np.ndarray
    targets: list[str]


def read_attribution_store(
    path: str | Path, lo: int = 0, hi: int | None = None
) -> Iterator[AttributionRegion]:
    """Yield the regions ``[lo, hi)`` of a finished attribution store, in order."""
    import zarr

    record = read_record(path)
    if (record.get("output") or {}).get("array") != ATTRIBUTION:
        raise InputDataError(f"{path} is not a grelu attribute store", fix="check the path")
    group: Any = zarr.open_group(str(path), mode="r")
    n = int(record["output"]["regions"])
    hi = n if hi is None else min(hi, n)
    targets = [str(t) for t in record["output"]["targets"]]
    coords = {
        key: np.asarray(group[key][lo:hi]) for key in ("name", "chrom", "start", "end", "strand")
    }
    for w in range(lo, hi):
        k = w - lo
        yield AttributionRegion(
            w,
            str(coords["name"][k]),
            str(coords["chrom"][k]),
            int(coords["start"][k]),
            int(coords["end"][k]),
            str(coords["strand"][k]),
            np.asarray(group[ATTRIBUTION][w], dtype=np.float32),
            np.asarray(group["ref"][w]).astype("U1"),
            np.asarray(group["pos"][w], dtype=np.int64),
            targets,
        )


def make_writer(spec: Any) -> AttributionZarrWriter:
    """The registry's factory (result kind ``attribution``); ``spec.values`` holds the
    number of positions (``[P]``)."""
    return AttributionZarrWriter(
        spec.output,
        spec.tasks,
        positions=int(spec.values[0]),
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
    """One store (a directory), whatever the targets."""
    return [Path(output.rstrip("/") or output)]
