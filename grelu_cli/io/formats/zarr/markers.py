"""Which windows of a zarr store are written: one small JSON marker per written range.

A writer fills windows ``[a, b)`` of ``preds`` (each window is its own shard file), fsyncs
those files, and only then writes the marker ``STORE/.grelu/done/{a:012d}-{b:012d}.json``
(:func:`~grelu_cli.io.fs.fsafe.write_json_atomic`: a fresh temporary name created with
``O_EXCL | O_NOFOLLOW``, fsync, rename). So a window counts as done only once its data is on
disk, and a process killed mid-window leaves that window not done. Shards write disjoint window
ranges, so no two processes ever write the same marker or chunk file. When a shard ends it
writes one marker for its whole range (with its provenance), named ``{a}-{b}.shard-{i}.json``
since empty shards share a range, and removes its per-block ones.

Marker content: ``{"windows": [a, b], "clipped": {"<window>": n, ...}, ...}``; ``clipped``
counts float16-clipped values per window (only windows with any), so totals stay exact when
ranges are written twice (a resumed or repeated shard).
"""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from grelu_cli.io.formats.zarr.schema import marker_dir
from grelu_cli.io.fs.fsafe import write_json_atomic

_NAME = re.compile(r"^(\d{12})-(\d{12})(?:\.shard-\d+)?\.json$")


def marker_name(lo: int, hi: int, shard: int | None = None) -> str:
    """File name of the marker of windows ``[lo, hi)``; a shard's end-of-run marker carries
    its index (empty shards of one run share a range, not a name)."""
    return f"{lo:012d}-{hi:012d}" + (f".shard-{shard}" if shard is not None else "") + ".json"


def write_marker(
    store: Path, lo: int, hi: int, data: dict[str, Any], shard: int | None = None
) -> Path:
    """Record windows ``[lo, hi)`` as done (atomically; readers see all of it or nothing)."""
    folder = marker_dir(store)
    path = folder / marker_name(lo, hi, shard)
    write_json_atomic(path, {"windows": [lo, hi], **data}, "marker", compact=True)
    return path


def read_markers(store: Path) -> list[dict[str, Any]]:
    """Every readable marker, sorted by range. Unreadable ones count as not written."""
    folder = marker_dir(store)
    if not folder.is_dir():
        return []
    out = []
    for path in folder.iterdir():
        m = _NAME.match(path.name)
        if m is None:
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict) or data.get("windows") != [int(m[1]), int(m[2])]:
            continue
        data["file"] = path.name
        out.append(data)
    out.sort(key=lambda d: tuple(d["windows"]))
    return out


def done_mask(markers: list[dict[str, Any]], lo: int, hi: int) -> np.ndarray:
    """(hi - lo,) bool: which windows of ``[lo, hi)`` some marker covers."""
    delta = np.zeros(hi - lo + 1, dtype=np.int64)
    for data in markers:
        a, b = (max(lo, min(hi, int(v))) for v in data["windows"])
        if b > a:
            delta[a - lo] += 1
            delta[b - lo] -= 1
    return np.cumsum(delta[:-1]) > 0


def ranges(mask: np.ndarray, offset: int = 0, value: bool = False) -> list[tuple[int, int]]:
    """Runs of ``mask == value`` as ``[(a, b), ...]`` window ranges (shifted by ``offset``)."""
    hit = np.r_[False, np.asarray(mask, dtype=bool) == value, False]
    edges = np.flatnonzero(np.diff(hit.astype(np.int8)))
    return [
        (int(a) + offset, int(b) + offset) for a, b in zip(edges[::2], edges[1::2], strict=True)
    ]


def clipped_by_window(markers: list[dict[str, Any]]) -> dict[int, int]:
    """Window -> float16-clipped values, over every marker (a window written twice counts once)."""
    out: dict[int, int] = {}
    for data in markers:
        for key, n in (data.get("clipped") or {}).items():
            out[int(key)] = int(n)
    return out


def remove_markers(store: Path, names: list[str]) -> None:
    """Delete the named marker files (already superseded by a marker covering them)."""
    folder = marker_dir(store)
    for name in names:
        with contextlib.suppress(FileNotFoundError):
            (folder / name).unlink()
