"""Pieces of the per-region stores (``grelu ism``'s and ``grelu attribute``'s): one row per
region, a position axis instead of output bins, predict's per-window coordinates.

:func:`region_vector` writes a 1-D coordinate array as predict's store writes its own
(:func:`~grelu_cli.io.formats.zarr.schema.coordinate_array`); :func:`region_columns` writes the
regions' window coordinates (``name`` .. ``padded``) as ``(region,)`` arrays; :class:`NoBins`
is the base writer's bin layout for stores without output bins.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from grelu_cli.core.window import Window
from grelu_cli.io.formats.zarr.schema import WINDOW_COORDS, WindowSource, coordinate_array

#: Regions read from the window source at a time while writing their coordinates.
_ROWS = 1 << 16
_TEXT = ("name", "chrom", "strand")


class NoBins:
    """A store without output bins (the base writer's bin layout)."""

    bins = np.zeros(0, dtype=np.int64)

    def coordinates(self, windows: Sequence[Window]) -> tuple[np.ndarray, np.ndarray]:
        empty = np.zeros((len(windows), 0), dtype=np.int64)
        return empty, empty


def region_vector(group: Any, name: str, values: np.ndarray, dim: str) -> None:
    """A 1-D coordinate array ``name`` with dimension ``dim``."""
    coordinate_array(group, name, values, (dim,))


def region_columns(group: Any, windows: WindowSource, n: int) -> None:
    """The window coordinates of regions ``[0, n)`` as ``(region,)`` arrays (None as "")."""
    columns: dict[str, list[Any]] = {key: [] for key in WINDOW_COORDS}
    for lo in range(0, n, _ROWS):
        for w in windows.window_list(lo, min(n, lo + _ROWS)):
            for key in WINDOW_COORDS:
                value = getattr(w, key)
                columns[key].append("" if value is None else value)
    for key, values in columns.items():
        kind = str if key in _TEXT else np.int64
        region_vector(group, key, np.array(values, dtype=kind).reshape(n), "region")
