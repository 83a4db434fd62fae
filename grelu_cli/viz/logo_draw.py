"""Draw sequence logos with matplotlib alone: one panel per target or task, letters as
glyph outlines scaled to their values (no logomaker).

At each position the positive letters stack upwards from 0, smallest at the bottom, and the
negative ones downwards, so the letter farthest from the axis is the largest in magnitude.
Colours are the usual ones (A green, C blue, G orange, T red). The figure uses the Agg canvas
and appears at its path only when complete (temporary name + rename), like every plot.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from grelu_cli.io.fs.atomic import atomic_path
from grelu_cli.io.readers.regions import RegionSpec
from grelu_cli.viz.draw import check_figure, figure_inches, output_format, require_matplotlib
from grelu_cli.viz.logo import LogoPanel

COLORS = {"A": "#109648", "C": "#255C99", "G": "#F7B32B", "T": "#D62839"}
_WIDTH = 0.9  # of a position's column


def plot_logo(
    panels: Sequence[LogoPanel],
    region: RegionSpec,
    out: str | Path,
    *,
    title: str | None = None,
    width: float = 10.0,
    track_height: float = 1.3,
    dpi: int = 150,
    shared_y: bool = False,
    overwrite: bool = False,
) -> Path:
    """Draw ``panels`` (each ``matrix (L, 4)`` over ``region``) to ``out``; returns it."""
    Figure, FigureCanvasAgg, ticker = require_matplotlib()
    fmt = output_format(out)
    if not panels:
        raise ValueError("plot_logo needs at least one panel")
    check_figure(width, track_height, dpi, len(panels))
    fig = Figure(
        figsize=figure_inches(width, track_height, len(panels)), dpi=dpi, layout="constrained"
    )
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False)[:, 0]
    glyphs = _glyphs()
    limits = [_limits(p.matrix) for p in panels]
    shared = (min(lo for lo, _ in limits), max(hi for _, hi in limits)) if shared_y else None
    for ax, panel, lim in zip(axes, panels, limits, strict=True):
        _draw_panel(ax, panel.matrix, region.start, glyphs)
        ax.set_ylim(*(shared or lim))
        ax.axhline(0, color="#555555", linewidth=0.5)
        ax.set_ylabel(panel.name, rotation=0, ha="right", va="center", fontsize=9, labelpad=10)
        ax.tick_params(labelsize=7)
        ax.yaxis.set_major_locator(ticker.MaxNLocator(3))
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    last = axes[-1]
    last.set_xlim(region.start, region.end)
    last.xaxis.set_major_locator(ticker.MaxNLocator(8, integer=True))
    last.xaxis.set_major_formatter(ticker.FuncFormatter(lambda x, _p=None: f"{round(x):,}"))
    last.set_xlabel(f"{region.chrom} (bp, 0-based)", fontsize=9)
    n_bp = region.end - region.start
    fig.suptitle(
        title or f"{region.chrom}:{region.start + 1:,}-{region.end:,} ({n_bp:,} bp)", fontsize=11
    )
    out = Path(out)
    with atomic_path(out, overwrite=overwrite) as tmp, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="constrained_layout not applied")
        fig.savefig(tmp, format=fmt, dpi=dpi)
    return out


def _glyphs() -> dict[str, Any]:
    """Each letter's outline, normalised to the unit square."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextPath
    from matplotlib.transforms import Affine2D

    font = FontProperties(family="DejaVu Sans", weight="bold")
    out = {}
    for letter in COLORS:
        path = TextPath((0, 0), letter, size=1, prop=font)
        box = path.get_extents()
        unit = Affine2D().translate(-box.x0, -box.y0).scale(1 / box.width, 1 / box.height)
        out[letter] = unit.transform_path(path)
    return out


def _draw_panel(ax: Any, matrix: np.ndarray, start: int, glyphs: dict[str, Any]) -> None:
    """Stack the letters of every position of ``matrix (L, 4)`` (x = genomic base)."""
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import PathPatch
    from matplotlib.transforms import Affine2D

    patches, colors = [], []
    for col, row in enumerate(np.nan_to_num(matrix, nan=0.0)):
        x = start + col + (1 - _WIDTH) / 2
        up, down = 0.0, 0.0
        for b in np.argsort(np.abs(row)):
            h = float(row[b])
            if h == 0.0:
                continue
            letter = "ACGT"[b]
            y = up if h > 0 else down + h
            place = Affine2D().scale(_WIDTH, abs(h)).translate(x, y)
            patches.append(PathPatch(place.transform_path(glyphs[letter])))
            colors.append(COLORS[letter])
            if h > 0:
                up += h
            else:
                down += h
    if patches:
        ax.add_collection(
            PatchCollection(patches, facecolors=colors, edgecolors="none", linewidths=0)
        )


def _limits(matrix: np.ndarray) -> tuple[float, float]:
    """(bottom, top) that hold every stack, 8% headroom; (-1, 1) for an empty panel."""
    m = np.nan_to_num(matrix, nan=0.0)
    top = float(np.clip(m, 0, None).sum(axis=1).max(initial=0.0))
    bottom = float(np.clip(m, None, 0).sum(axis=1).min(initial=0.0))
    if top == bottom == 0.0:
        return -1.0, 1.0
    pad = 0.08 * (top - bottom)
    return bottom - (pad if bottom < 0 else 0.0), top + (pad if top > 0 else 0.0)
