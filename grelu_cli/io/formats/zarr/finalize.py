"""Finalize a zarr store (``grelu merge STORE.zarr``): check every window is written and its
data is on disk, then record counts and ``complete: true`` in the root attributes.

This is the only step that rewrites a store's root metadata after creation, so shard writers
never race on it. Finalizing a finished store changes nothing, unless it lost data files since:
then a sharded store is reopened (done markers for what is on disk, ``complete: false``) so
that the owning shards can redo those windows with ``--resume``; any other is refused.

A window is written when a done marker covers it (:mod:`.markers`) *and* its file
``preds/c/<w>/0/0`` exists (:mod:`.present`; zarr would read a missing file as NaN). A window
marked done whose file is gone (deleted, or lost with a disk) is un-marked here, so that the
shard that owns it, run again with ``--resume``, predicts exactly those windows.
"""

from __future__ import annotations

import datetime as _dt
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from grelu_cli.core.shards import Shard, shard_range
from grelu_cli.errors import InputDataError
from grelu_cli.io.formats.provenance import to_json
from grelu_cli.io.formats.zarr.markers import (
    clipped_by_window,
    done_mask,
    ranges,
    read_markers,
    remove_markers,
    write_marker,
)
from grelu_cli.io.formats.zarr.present import compact, missing_rows
from grelu_cli.io.formats.zarr.read import (
    lost_windows_error,
    owned_by,
    read_record,
    reopenable,
    shard_owners,
)
from grelu_cli.io.formats.zarr.schema import ATTR, MARKER_DIR, PREDS, consolidate, marker_dir


def finalize_store(path: str | Path, *, record: dict[str, Any] | None = None) -> dict[str, Any]:
    """Complete the store at ``path``; returns its final ``grelu`` record.

    Args:
        path: the store.
        record: the root record to write (the unsharded writer passes its own, with the
            run's counts); default: the record the store was created with.

    Raises:
        InputDataError (exit 3): windows are not written yet, or are marked written but their
            data files are missing (the message lists the windows and, when known, the shards
            that own them; the latter are un-marked so that ``--resume`` redoes them, and a
            finished sharded store that lost files is reopened for them first).
    """
    import zarr

    path = Path(path)
    current = read_record(path)
    total = int(current["output"]["windows"])
    if current.get("complete"):
        lost = missing_rows(path / _array(current))
        if len(lost) and reopenable(current):
            owners = shard_owners(current, [], lost)
            _reopen(path, current, lost)
            raise InputDataError(
                f"zarr store {path} was finalized, but the data of {len(lost):,} of {total:,} "
                f"windows is missing on disk (windows {compact(lost)}, 0-based: their files "
                f"under {PREDS}/c/ are gone){owned_by(owners, 'own them')}; the store is "
                "reopened (complete: false) for those windows",
                fix=_resume_fix(path, owners),
            )
        if len(lost):
            raise lost_windows_error(path, current, lost, total)
        return current
    markers = read_markers(path)
    missing = ranges(done_mask(markers, 0, total), 0, value=False)
    if missing:
        raise InputDataError(_missing_message(path, missing, markers, total), fix=_fix(markers))
    lost = missing_rows(
        path / _array(current)
    )  # listed after the markers: a marker follows its data
    if len(lost):
        owners = shard_owners(current, markers, lost)
        _unmark(path, markers, lost)
        raise InputDataError(
            f"zarr store {path}: {len(lost):,} of {total:,} windows are marked written but "
            f"their data is missing on disk (windows {compact(lost)}, 0-based: their files "
            f"under {PREDS}/c/ are gone)" + owned_by(owners, "own them"),
            fix=_resume_fix(path, owners),
        )
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


def _array(record: dict[str, Any]) -> str:
    """The array with one file per window (row): ``preds``, or the one the record names."""
    return str((record.get("output") or {}).get("array") or PREDS)


def _resume_fix(path: Path, owners: list[str]) -> str:
    if not owners:
        return (
            f"predict those windows again (the same grelu predict -o {path} with --resume), "
            "then grelu merge it again"
        )
    return (
        f"run {'those shards' if len(owners) > 1 else 'that shard'} again with --resume "
        f"(grelu predict ... --shard {owners[0]} -o {path} --resume), which predicts only "
        f"those windows, then grelu merge {path} again"
    )


def _reopen(path: Path, record: dict[str, Any], lost: np.ndarray) -> None:
    """Turn a finished store that lost window files back into one being written: done markers
    for every window still on disk (a shard's end marker, as it wrote it, where none of its
    windows is lost), then ``complete: false``. The owning shards, run with ``--resume``,
    predict exactly the lost windows, and finalizing again rebuilds the record."""
    import zarr

    lost_set = set(lost.tolist())
    marker_dir(path).mkdir(parents=True, exist_ok=True)
    for m in (record.get("merged") or {}).get("from") or []:
        shard = m.get("shard")
        if not isinstance(shard, dict):
            continue
        a, b = (int(v) for v in m["windows"])
        if not any(a <= w < b for w in lost_set):
            data = {"clipped": {}, "shard": shard, "created": m.get("created")}
            write_marker(path, a, b, data, int(shard["index"]))
            continue
        keep = np.array([w not in lost_set for w in range(a, b)], dtype=bool)
        for lo, hi in ranges(keep, a, value=True):
            write_marker(path, lo, hi, {"clipped": {}})
    reopened = {k: v for k, v in record.items() if k not in ("finalized", "merged")}
    reopened["complete"] = False
    group = zarr.open_group(str(path), mode="r+", zarr_format=3, use_consolidated=False)
    group.attrs[ATTR] = reopened
    consolidate(path)


def _unmark(path: Path, markers: list[dict[str, Any]], lost: np.ndarray) -> None:
    """Make the done markers say what is on disk: each marker covering a window of ``lost``
    is replaced by plain markers for the rest of its range (new ones written first, so no
    window that has its data is ever unmarked, even if this is interrupted)."""
    lost_set = set(lost.tolist())
    stale = []
    for m in markers:
        a, b = (int(v) for v in m["windows"])
        if not any(a <= w < b for w in lost_set):
            continue
        keep = np.array([w not in lost_set for w in range(a, b)], dtype=bool)
        clipped = {int(k): int(n) for k, n in (m.get("clipped") or {}).items()}
        for lo, hi in ranges(keep, a, value=True):
            part = {str(w): n for w, n in clipped.items() if lo <= w < hi and n}
            write_marker(path, lo, hi, {"clipped": part})
        stale.append(str(m["file"]))
    remove_markers(path, stale)


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
