"""bigWig tracks of ISM results (``grelu ism --format bigwig -o DIR/``): per task, at each
mutated genomic position, minus the mean of its mutations' deltas (result kind ``ism``).

The tracks are written by ``grelu predict``'s :class:`~grelu_cli.io.formats.bigwig.BigWigWriter`
(one file per task, atomic, overlapping regions averaged per base with ``--overlap mean``,
positions off the chromosome dropped): each region becomes one
:class:`~grelu_cli.core.block.Block` whose bins are its mutated bases, ``[pos, pos + 1)``,
and whose values are :func:`grelu_cli.ism.scores.importance`'s (recomputed here in numpy, the
same formula: ``-nanmean(delta, base axis)``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from grelu_cli.core.block import Block
from grelu_cli.core.ism_block import ISMBlock
from grelu_cli.io.formats.bigwig import BigWigWriter, bigwig_paths


def importance_block(block: ISMBlock) -> Block:
    """One region's ISM -> a Block of ``P`` one-base bins: values (1, T, P) = minus the mean
    of each position's mutation deltas."""
    delta = np.asarray(block.delta, dtype=np.float64)  # (P, 4, T)
    n = np.sum(~np.isnan(delta), axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        values = -(np.nansum(delta, axis=1) / n)  # (P, T)
    pos = np.asarray(block.pos, dtype=np.int64)
    return Block(
        windows=[block.window],
        values=values.T[None].astype(np.float32),
        bins=np.arange(len(pos), dtype=np.int64),
        bin_start=pos[None],
        bin_end=(pos + 1)[None],
    )


class ISMBigWigWriter(BigWigWriter):
    """:class:`BigWigWriter` taking :class:`ISMBlock` s (one region each)."""

    def write(self, block: Any) -> None:
        if isinstance(block, ISMBlock):
            block = importance_block(block)
        super().write(block)


def make_writer(spec: Any) -> ISMBigWigWriter:
    """The registry's factory (result kind ``ism``)."""
    from grelu_cli.errors import UsageError

    if not spec.chrom_sizes:
        raise UsageError("bigWig output needs --genome", fix="pass --genome FASTA")
    return ISMBigWigWriter(
        spec.output, spec.tasks, spec.chrom_sizes, overlap=spec.overlap, overwrite=spec.overwrite
    )


def output_paths(output: str, tasks: Sequence[str]) -> list[Path]:
    """One file per task."""
    return bigwig_paths(output, tasks)
