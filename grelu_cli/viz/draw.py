"""Draw tracks of one region to an image file: one panel per track, genomic x axis, BED features.

Uses matplotlib's object API with the Agg canvas (no pyplot, no global backend switch), so it
runs headless and leaves a host program's matplotlib state alone. matplotlib is an optional
extra: without it :func:`plot_region` raises MissingResourceError (exit 4) naming the install
command. Regions wider than ``max_points`` bases are drawn at ``max_points`` columns, each
showing the *maximum* of its bases, so narrow peaks stay visible; the title says so. BED
features are drawn below the tracks and shaded across them; a feature named like a track
(a motif and the task that reads it) takes that track's colour.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from grelu_cli.errors import MissingResourceError, UsageError
from grelu_cli.io.fs.atomic import atomic_path
from grelu_cli.io.readers.regions import RegionSpec
from grelu_cli.viz.tracks import Feature, Track

INSTALL_HINT = "pip install 'grelu-cli[plot]'"
FORMATS = ("png", "pdf", "svg")
# Colour-blind-safe palette (Okabe-Ito), cycled over tracks.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
_MAX_SHADED = 200  # features shaded across the track panels
_MAX_LABELS = 40  # features labelled by name

#: Allowed ranges (inclusive) of the figure options: ``--width`` and ``--track-height`` in
#: inches, ``--dpi`` in dots per inch.
LIMITS: dict[str, tuple[float, float]] = {
    "--width": (2.0, 100.0),
    "--track-height": (0.3, 20.0),
    "--dpi": (20, 1200),
}
#: Largest image drawn: pixels per side (Agg's own limit is 65,536) and in all.
MAX_SIDE_PX = 32_768
MAX_PIXELS = 30_000_000
_BASE_HEIGHT = 0.9  # inches of title and axis labels
_FEATURE_RATIO = 0.45  # height of the BED panel, in track heights


def check_figure(
    width: float, track_height: float, dpi: float, n_tracks: int = 1, features: bool = False
) -> None:
    """UsageError (exit 2) unless every figure option is a finite number in its range
    (:data:`LIMITS`) and the image of ``n_tracks`` panels stays within :data:`MAX_SIDE_PX`
    per side and :data:`MAX_PIXELS` in all. Cheap: call it before reading anything."""
    for option, value in (("--width", width), ("--track-height", track_height), ("--dpi", dpi)):
        lo, hi = LIMITS[option]
        if not (isinstance(value, int | float) and math.isfinite(value) and lo <= value <= hi):
            raise UsageError(
                f"{option} {value} is outside the allowed range {lo:g} to {hi:g}",
                fix=f"give {option} a number from {lo:g} to {hi:g}",
            )
    w, h = figure_inches(width, track_height, n_tracks, features)
    px_w, px_h = round(w * dpi), round(h * dpi)
    if max(px_w, px_h) > MAX_SIDE_PX or px_w * px_h > MAX_PIXELS:
        raise UsageError(
            f"--width {width:g} x --dpi {dpi:g} with {n_tracks} track(s) of --track-height "
            f"{track_height:g} makes a {px_w:,} x {px_h:,} pixel image; grelu plot draws at most "
            f"{MAX_SIDE_PX:,} pixels per side and {MAX_PIXELS:,} in all",
            fix="lower --dpi, --width or --track-height, or draw fewer tracks (--tasks)",
        )


def figure_inches(
    width: float, track_height: float, n_tracks: int, features: bool = False
) -> tuple[float, float]:
    """(width, height) of the figure in inches: panels plus title and axis labels."""
    panels = n_tracks + (_FEATURE_RATIO if features else 0.0)
    return width, _BASE_HEIGHT + track_height * panels


def require_matplotlib() -> tuple[Any, Any, Any]:
    """(Figure, FigureCanvasAgg, ticker), or MissingResourceError when not installed."""
    try:
        from matplotlib import ticker
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise MissingResourceError(
            "grelu plot needs matplotlib, which is not installed", fix=INSTALL_HINT
        ) from None
    return Figure, FigureCanvasAgg, ticker


def output_format(out: str | Path) -> str:
    """The image format named by ``out``'s suffix (png, pdf or svg)."""
    fmt = Path(out).suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise UsageError(
            f"-o {out}: cannot tell the image format from the suffix '{Path(out).suffix}'",
            fix="end the name in .png, .pdf or .svg",
        )
    return fmt


def downsample(values: np.ndarray, max_points: int) -> tuple[np.ndarray, int]:
    """(K,) column maxima of ``values: (L,)`` with ``K <= max_points``, and bases per column.

    NaN bases are ignored; a column of only NaN stays NaN (a gap in the plot).
    """
    step = max(1, -(-len(values) // max_points))
    if step == 1:
        return values, 1
    pad = (-len(values)) % step
    padded = np.concatenate([values, np.full(pad, np.nan)]).reshape(-1, step)
    return np.fmax.reduce(padded, axis=1), step


def _coord(x: float, _pos: Any = None) -> str:
    return f"{round(x):,}"


def plot_region(
    tracks: Sequence[Track],
    region: RegionSpec,
    out: str | Path,
    *,
    features: Sequence[Feature] | None = None,
    feature_label: str = "BED",
    title: str | None = None,
    width: float = 10.0,
    track_height: float = 1.3,
    dpi: int = 150,
    max_points: int = 2000,
    shared_y: bool = False,
    overwrite: bool = False,
) -> Path:
    """Draw ``tracks`` (each ``values: (L,)`` over ``region``) and ``features`` to ``out``.

    ``width``, ``track_height`` and ``dpi`` must lie in :data:`LIMITS` and the image within
    :data:`MAX_SIDE_PX` and :data:`MAX_PIXELS` (UsageError otherwise).
    Each panel is scaled to its own track unless ``shared_y`` (one y range for all, so
    heights compare across tracks). The file appears only when complete (temporary name +
    rename). Returns ``out``.
    """
    Figure, FigureCanvasAgg, ticker = require_matplotlib()
    fmt = output_format(out)
    if not tracks:
        raise ValueError("plot_region needs at least one track")
    n_bp = region.end - region.start
    has_features = features is not None
    check_figure(width, track_height, dpi, len(tracks), has_features)
    ratios = [1.0] * len(tracks) + ([_FEATURE_RATIO] if has_features else [])
    size = figure_inches(width, track_height, len(tracks), has_features)
    fig = Figure(figsize=size, dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(ratios), 1, sharex=True, height_ratios=ratios, squeeze=False)[:, 0]
    columns = [downsample(t.values, max_points) for t in tracks]
    step = columns[0][1]
    shared = _y_range(np.concatenate([v for v, _ in columns])) if shared_y else None
    colors = {t.name: PALETTE[i % len(PALETTE)] for i, t in enumerate(tracks)}
    for ax, track, (values, _) in zip(axes, tracks, columns, strict=False):
        edges = region.start + np.arange(len(values) + 1) * step
        edges[-1] = min(edges[-1], region.end)
        color = colors[track.name]
        ax.stairs(np.nan_to_num(values, nan=0.0), edges, fill=True, color=color, alpha=0.35)
        ax.stairs(values, edges, color=color, linewidth=0.9)
        ax.set_ylim(*(shared or _y_range(values)))
        ax.set_ylabel(track.name, rotation=0, ha="right", va="center", fontsize=9, labelpad=10)
        ax.tick_params(labelsize=7)
        ax.yaxis.set_major_locator(ticker.MaxNLocator(3))
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        if features and len(features) <= _MAX_SHADED:
            for f in features:
                ax.axvspan(f.start, f.end, color=_feature_color(f, colors), alpha=0.18, lw=0)
    if has_features:
        _draw_features(axes[-1], features or [], region, feature_label, colors)
    last = axes[-1]
    last.set_xlim(region.start, region.end)
    last.xaxis.set_major_formatter(ticker.FuncFormatter(_coord))
    last.xaxis.set_major_locator(ticker.MaxNLocator(8))
    last.set_xlabel(f"{region.chrom} (bp, 0-based)", fontsize=9)
    heading = title or f"{region.chrom}:{region.start + 1:,}-{region.end:,} ({n_bp:,} bp)"
    if step > 1:
        heading += f"  -  maximum per {step:,} bp"
    fig.suptitle(heading, fontsize=11)
    out = Path(out)
    with atomic_path(out, overwrite=overwrite) as tmp, warnings.catch_warnings():
        # Long track names in a narrow figure: matplotlib falls back to a plain layout and
        # says so on stderr; the image is still drawn.
        warnings.filterwarnings("ignore", message="constrained_layout not applied")
        fig.savefig(tmp, format=fmt, dpi=dpi)
    return out


def _y_range(values: np.ndarray) -> tuple[float, float]:
    """(bottom, top): from min(0, lowest) to 8% above the highest finite value."""
    finite = values[np.isfinite(values)]
    if not finite.size:
        return 0.0, 1.0
    top, bottom = float(finite.max()), min(0.0, float(finite.min()))
    return bottom, top * 1.08 if top > 0 else 1.0


def _feature_color(feature: Feature, colors: dict[str, str]) -> str:
    """A feature named like a track (a motif and its task) takes the track's colour."""
    return colors.get(feature.name or "", "0.3")


def _draw_features(
    ax: Any, features: Sequence[Feature], region: RegionSpec, label: str, colors: dict[str, str]
) -> None:
    """BED intervals as boxes (at least a hairline wide), names above when few."""
    ax.set_ylim(0, 1)
    ax.set_yticks([])
    ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9, labelpad=10)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    for f in features:
        s, e = max(f.start, region.start), min(f.end, region.end)
        color = _feature_color(f, colors)
        ax.broken_barh([(s, e - s)], (0.15, 0.4), facecolors=color, edgecolors=color, lw=0.8)
        if len(features) <= _MAX_LABELS and f.name:
            text = f"\u2190 {f.name}" if f.strand == "-" else f"{f.name} \u2192"
            ax.text((s + e) / 2, 0.62, text, ha="center", va="bottom", fontsize=7, clip_on=True)
