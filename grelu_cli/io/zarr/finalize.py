"""Finalize a zarr store (``grelu merge STORE.zarr``): check every window is written, then
record counts and ``complete: true`` in the root attributes.

This is the only step that rewrites a store's root metadata after creation, so shard writers
never race on it. Finalizing a finished store changes nothing.
"""

from __future__ import annotations

import datetime as _dt
import json
import shutil
from pathlib import Path
from typing import Any

from grelu_cli.errors import InputDataError
from grelu_cli.io.provenance import to_json
from grelu_cli.io.shards import Shard, shard_range
from grelu_cli.io.zarr.markers import clipped_by_window, done_mask, ranges, read_markers
from grelu_cli.io.zarr.read import read_record
from grelu_cli.io.zarr.schema import ATTR, MARKER_DIR, consolidate


def finalize_store(path: str | Path, *, record: dict[str, Any] | None = None) -> dict[str, Any]:
    """Complete the store at ``path``; returns its final ``grelu`` record.

    Args:
        path: the store.
        record: the root record to write (the unsharded writer passes its own, with the
            run's counts); default: the record the store was created with.

    Raises:
        InputDataError (exit 3): windows are not written yet (the message lists the missing
            window ranges and, when known, the shards that own them).
    """
    import zarr

    path = Path(path)
    current = read_record(path)
    if current.get("complete"):
        return current
    total = int(current["output"]["windows"])
    markers = read_markers(path)
    missing = ranges(done_mask(markers, 0, total), 0, value=False)
    if missing:
        raise InputDataError(_missing_message(path, missing, markers, total), fix=_fix(markers))
    final = json.loads(to_json(record if record is not None else current))
    counts = dict(final.get("counts") or {})
    counts["windows_written"] = total
    if final.get("dtype") == "float16":
        counts["clipped"] = int(sum(clipped_by_window(markers).values()))
    final["counts"] = counts
    shards = [m for m in markers if m.get("shard")]
    if shards:
        final["merged"] = {
            "shards": len(shards),
            "from": [
                {"shard": m["shard"], "windows": m["windows"], "created": m.get("created")}
                for m in shards
            ],
        }
    now = _dt.datetime.now(_dt.UTC).replace(microsecond=0)
    final["finalized"] = now.isoformat().replace("+00:00", "Z")
    final["complete"] = True
    group = zarr.open_group(str(path), mode="r+", zarr_format=3, use_consolidated=False)
    group.attrs[ATTR] = final
    consolidate(path)
    # The markers only mattered while the store was being written.
    shutil.rmtree(path / MARKER_DIR[0], ignore_errors=True)
    return final


def _missing_message(
    path: Path, missing: list[tuple[int, int]], markers: list[dict[str, Any]], total: int
) -> str:
    n = sum(b - a for a, b in missing)
    shown = ", ".join(f"{a}-{b}" for a, b in missing[:8]) + (" ..." if len(missing) > 8 else "")
    text = f"zarr store {path}: {n:,} of {total:,} windows are not written yet (windows {shown})"
    count = _shard_count(markers)
    batch = _shard_batch(markers)
    if count:
        owners = [
            i
            for i in range(count)
            if any(
                a < hi and lo < b
                for lo, hi in [shard_range(total, Shard(i, count), batch)]
                for a, b in missing
            )
        ]
        text += f"; shards {', '.join(f'{i}/{count}' for i in owners[:20])} are not finished"
    return text


def _shard_count(markers: list[dict[str, Any]]) -> int | None:
    counts = {int(m["shard"]["count"]) for m in markers if isinstance(m.get("shard"), dict)}
    return counts.pop() if len(counts) == 1 else None


def _shard_batch(markers: list[dict[str, Any]]) -> int:
    """The batch size the shards' boundaries fall on (1 when unknown)."""
    sizes = {
        int(m["shard"].get("batch_size") or 1) for m in markers if isinstance(m.get("shard"), dict)
    }
    return sizes.pop() if len(sizes) == 1 else 1


def _fix(markers: list[dict[str, Any]]) -> str:
    return (
        "run the missing shards (grelu predict --shard i/N -o STORE.zarr --resume), "
        "then grelu merge STORE.zarr again"
        if markers
        else "run grelu predict --shard i/N -o STORE.zarr for every shard first"
    )
