"""``grelu plot`` as one library call: check the figure, read the tracks of a region, draw;
for a ``grelu attribute`` or ``grelu ism`` zarr store, a sequence logo (viz/logo.py)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any


def plot(
    inputs: Sequence[Path],
    region: str,
    output: Path,
    *,
    tasks: Sequence[str] | None = None,
    bed: Path | None = None,
    title: str | None = None,
    width: float = 10.0,
    track_height: float = 1.3,
    dpi: int = 150,
    shared_y: bool = False,
    overwrite: bool = False,
) -> tuple[Path, int, int]:
    """Draw the tracks of ``inputs`` (bigWigs, a bigWig folder, parquet or a zarr store) over
    ``region`` (``chr:start-end``, 1-based inclusive) into ``output``, with the intervals of
    ``bed`` underneath: (the file written, number of tracks, region length in bp)."""
    from grelu_cli.io.readers.regions import parse_region
    from grelu_cli.viz.draw import check_figure, output_format, plot_region, require_matplotlib
    from grelu_cli.viz.logo import logo_store
    from grelu_cli.viz.tracks import read_features, read_tracks

    check_figure(width, track_height, dpi)  # before any work (a huge --dpi would exhaust RAM)
    require_matplotlib()  # fail fast (exit 4) before reading anything
    output_format(output)
    spec = parse_region(region)
    if len(inputs) == 1 and logo_store(Path(inputs[0])) is not None:
        return _logo(
            Path(inputs[0]),
            spec,
            output,
            tasks,
            bed,
            title,
            width,
            track_height,
            dpi,
            shared_y,
            overwrite,
        )
    tracks = read_tracks(inputs, spec, list(tasks) if tasks is not None else None)
    features = read_features(bed, spec) if bed is not None else None
    out = plot_region(
        tracks,
        spec,
        output,
        features=features,
        feature_label=bed.name if bed is not None else "BED",
        title=title,
        width=width,
        track_height=track_height,
        dpi=dpi,
        shared_y=shared_y,
        overwrite=overwrite,
    )
    return Path(out), len(tracks), spec.end - spec.start


def _logo(
    store: Path,
    spec: Any,
    output: Path,
    tasks: Sequence[str] | None,
    bed: Path | None,
    title: str | None,
    width: float,
    track_height: float,
    dpi: int,
    shared_y: bool,
    overwrite: bool,
) -> tuple[Path, int, int]:
    """A sequence logo of a ``grelu attribute`` or ``grelu ism`` store (viz/logo.py)."""
    from grelu_cli.errors import UsageError
    from grelu_cli.viz.logo import read_logo
    from grelu_cli.viz.logo_draw import plot_logo

    if bed is not None:
        raise UsageError("--bed is not drawn on a sequence logo", fix="drop --bed")
    drawn, panels = read_logo(store, spec, list(tasks) if tasks is not None else None)
    heading = title or f"{spec.text}  -  {drawn}"
    out = plot_logo(
        panels,
        spec,
        output,
        title=heading,
        width=width,
        track_height=track_height,
        dpi=dpi,
        shared_y=shared_y,
        overwrite=overwrite,
    )
    return Path(out), len(panels), spec.end - spec.start
