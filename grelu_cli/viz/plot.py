"""``grelu plot`` as one library call: check the figure, read the tracks of a region, draw."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


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
    from grelu_cli.viz.tracks import read_features, read_tracks

    check_figure(width, track_height, dpi)  # before any work (a huge --dpi would exhaust RAM)
    require_matplotlib()  # fail fast (exit 4) before reading anything
    output_format(output)
    spec = parse_region(region)
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
