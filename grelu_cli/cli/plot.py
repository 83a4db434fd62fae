"""``grelu plot``: draw predicted tracks of one region to PNG/PDF/SVG, or a sequence logo of a
``grelu attribute`` or ``grelu ism`` store.

A thin command over :mod:`grelu_cli.viz` (reading tracks, drawing them); matplotlib and
pyBigWig are imported only when the command runs.
"""

from __future__ import annotations

from pathlib import Path

import typer

from grelu_cli.cli.options import examples, split_csv
from grelu_cli.errors import UsageError

EPILOG = examples(
    "grelu plot --region chr1:10,001-12,000 out/ -o plot.png",
    "grelu plot --region chr1:10,001-12,000 preds.parquet --tasks motif_a -o plot.png",
    "grelu plot --region chr3:9,001-14,000 out/motif_a.bw out/motif_b.bw --bed motifs.bed "
    "-o plot.pdf",
    "grelu plot attr.zarr --region chr1:10,951-11,050 -o logo.png  # grelu attribute store",
    "grelu plot ism.zarr --region chr1:10,951-11,050 --tasks dnase -o logo.png",
)


def plot(
    inputs: list[Path] = typer.Argument(
        ...,
        metavar="INPUT",
        help="bigWig files, folders of bigWig files (grelu predict --format bigwig), or "
        "parquet files (long or wide layout) or zarr stores from grelu predict; or one "
        "grelu attribute or grelu ism zarr store: a sequence logo.",
        show_default=False,
    ),
    region: str = typer.Option(
        ...,
        "--region",
        "-r",
        help="Region to draw, 1-based inclusive like samtools/IGV: chr1:10,001-12,000.",
        show_default=False,
    ),
    output: Path = typer.Option(
        ..., "--output", "-o", help="Image file (.png, .pdf or .svg).", show_default=False
    ),
    tasks: str | None = typer.Option(
        None,
        "--tasks",
        "-t",
        help="Comma-separated track names to draw, in this order (default: all). bigWig "
        "tracks are named by file name without .bw; logos by target or task.",
    ),
    bed: Path | None = typer.Option(
        None, "--bed", help="BED file of features to mark (e.g. motifs, peaks, genes)."
    ),
    title: str | None = typer.Option(None, "--title", help="Figure title (default: the region)."),
    width: float = typer.Option(10.0, "--width", help="Figure width in inches (2 to 100)."),
    track_height: float = typer.Option(
        1.3, "--track-height", help="Inches per track panel (0.3 to 20)."
    ),
    dpi: int = typer.Option(
        150,
        "--dpi",
        help="Dots per inch (20 to 1200); the image is at most 32,768 pixels a side and 30 "
        "million in all.",
    ),
    shared_y: bool = typer.Option(
        False, "--shared-y", help="One y range for every track (default: each its own)."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output."),
) -> None:
    """Draw predicted tracks for one region: one panel per track on a genomic x axis.

    Needs matplotlib: pip install 'grelu-cli\\[plot]'.
    Wide regions show each pixel column's maximum, so narrow peaks stay visible.

    A grelu attribute store draws a sequence logo (at most 1,000 bp), one panel per target:
    the stored matrix (attribution x one-hot: the reference letter; saliency or
    --hypothetical: all four letters). A grelu ism store: the reference letter at minus the
    mean delta of its mutations, one panel per task.
    """
    from grelu_cli.viz.plot import plot

    names = split_csv(tasks)
    if tasks is not None and not names:
        raise UsageError(f"--tasks {tasks!r} names no track", fix="e.g. --tasks motif_a,motif_b")
    out, n_tracks, span = plot(
        inputs,
        region,
        output,
        tasks=names,
        bed=bed,
        title=title,
        width=width,
        track_height=track_height,
        dpi=dpi,
        shared_y=shared_y,
        overwrite=overwrite,
    )
    typer.echo(f"wrote {out} ({n_tracks} track(s), {span:,} bp)", err=True)
