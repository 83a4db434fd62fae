"""Read a sequence logo's letters from an attribution or ISM zarr store over one region.

A logo panel is a matrix ``(L, 4)`` over the region's bases (columns A, C, G, T); a letter's
height is its value (below the axis when negative); NaN where the store has no value:

* ``grelu attribute`` store (``attribution (region, target, position, base)``): the stored
  matrix itself, one panel per target. Attribution x one-hot (inputxgradient,
  integratedgradients, deepliftshap) draws the reference base alone; saliency and
  ``--hypothetical`` draw all four letters.
* ``grelu ism`` store (``delta (region, position, base, task)``, NaN at the reference base):
  the reference letter at the height of minus the mean of its mutations' deltas (the
  importance its bigWig track holds: tall where any change lowers the target), one panel per
  task. A position whose reference is N draws nothing.

Of the stored windows on the region's chromosome, the one holding the most of the region's
bases is drawn (the first on a tie); bases it lacks are left blank. ``pos (region,
position)`` places each column on the genome (both stores record it).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from grelu_cli.errors import InputDataError, UsageError
from grelu_cli.io.readers.regions import RegionSpec

#: Widest region a logo draws (bp): letters of wider ones are too thin to read.
MAX_LOGO_BP = 1_000
#: The value arrays of the stores a logo reads, by the record's ``output.array``.
LOGO_ARRAYS = ("attribution", "delta")


@dataclass
class LogoPanel:
    """One panel: ``matrix (L, 4)`` over the region's bases (NaN: no value)."""

    name: str
    matrix: np.ndarray


def logo_store(path: Path) -> str | None:
    """``"attribution"`` or ``"delta"`` when ``path`` is such a zarr store, else None."""
    from grelu_cli.io.formats.zarr.read import read_record

    if not (Path(path).is_dir() and (Path(path) / "zarr.json").is_file()):
        return None
    try:
        array = (read_record(path).get("output") or {}).get("array")
    except (InputDataError, OSError):
        return None
    return str(array) if array in LOGO_ARRAYS else None


def read_logo(
    path: Path, region: RegionSpec, names: Sequence[str] | None = None
) -> tuple[str, list[LogoPanel]]:
    """(the window drawn, as ``name chrom:start-end``; the panels over ``region``)."""
    import zarr

    width = region.end - region.start
    if width > MAX_LOGO_BP:
        raise UsageError(
            f"--region {region.text} is {width:,} bp; a sequence logo draws at most "
            f"{MAX_LOGO_BP:,} bp",
            fix="give a narrower --region (e.g. 100-300 bp around a motif)",
        )
    kind = logo_store(path)
    if kind is None:
        raise InputDataError(f"{path} is not a grelu attribute or ism store", fix="check the path")
    group: Any = zarr.open_group(str(path), mode="r")
    record = group.attrs["grelu"]
    if not record.get("complete"):
        raise InputDataError(
            f"zarr store {path} is not complete", fix=f"finish it first (grelu merge {path})"
        )
    labels = [str(t) for t in record["output"]["tasks"]]
    chosen = _pick(labels, names, path)
    chroms = _text(group["chrom"][...])
    best, best_hits = -1, 0
    for r in np.flatnonzero(chroms == region.chrom):
        pos = np.asarray(group["pos"][int(r)])
        hits = int(((pos >= region.start) & (pos < region.end)).sum())
        if hits > best_hits:
            best, best_hits = int(r), hits
    if best < 0:
        raise InputDataError(
            f"--region {region.text}: no window of {path} covers it",
            fix="pick a region inside a window the run attributed (see its region coordinates)",
        )
    pos = np.asarray(group["pos"][best])
    ref = _text(group["ref"][best])
    inside = (pos >= region.start) & (pos < region.end)
    cols = pos[inside] - region.start
    if kind == "attribution":
        values = np.asarray(group["attribution"][best], dtype=np.float64)  # (G, P, 4)
        per = {name: values[labels.index(name)][inside] for name in chosen}
    else:
        delta = np.asarray(group["delta"][best], dtype=np.float64)  # (P, 4, T)
        per = {
            name: _ism_letters(delta[inside, :, labels.index(name)], ref[inside]) for name in chosen
        }
    panels = []
    for name in chosen:
        matrix = np.full((width, 4), np.nan)
        matrix[cols] = per[name]
        panels.append(LogoPanel(name, matrix))
    w = {k: np.asarray(group[k][best]) for k in ("name", "window_start", "window_end")}
    drawn = f"{w['name']} {region.chrom}:{int(w['window_start']) + 1:,}-{int(w['window_end']):,}"
    return drawn, panels


def _text(values: Any) -> np.ndarray:
    """A zarr string array (numpy's StringDType) as plain ``str`` items."""
    return np.array([str(v) for v in np.asarray(values).ravel()], dtype=object)


def _ism_letters(delta: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """``delta (P, 4)`` of one task and ``ref (P,)`` letters -> ``(P, 4)``: minus the mean
    delta on the reference letter, 0 elsewhere (NaN where the reference is N)."""
    out = np.zeros((len(ref), 4))
    with warnings.catch_warnings():  # an all-NaN row (an N reference) is expected
        warnings.simplefilter("ignore", RuntimeWarning)
        importance = -np.nanmean(delta, axis=1)
    for p, base in enumerate(ref):
        if base and base in "ACGT":
            out[p, "ACGT".index(base)] = importance[p]
        else:
            out[p] = np.nan
    return out


def _pick(labels: list[str], names: Sequence[str] | None, path: Path) -> list[str]:
    if names is None:
        return labels
    unknown = [n for n in names if n not in labels]
    if unknown:
        raise UsageError(
            f"--tasks {', '.join(unknown)}: not in {path} (it holds {', '.join(labels[:12])})",
            fix="name targets or tasks the store holds",
        )
    return list(names)
