"""The bases of each window, exactly as the model sees them (before one-hot encoding).

:class:`WindowSequences` reads a window's span from the genome (or the FASTA record), fills
the parts off the sequence with N, and reverse-complements '-' strand windows. It opens files
lazily, once per process, so it can be shipped to DataLoader workers.
"""

from __future__ import annotations

import numpy as np

from grelu_cli.core.window import Window
from grelu_cli.genome.encode import one_hot_batch, reverse_complement
from grelu_cli.genome.genome import Genome
from grelu_cli.genome.table import RegionTable
from grelu_cli.io.readers.fasta import FastaRecords


class WindowSequences:
    """Window -> bytes of length ``window.length`` (N-padded, '-' reverse-complemented).

    Args:
        table: the regions the windows came from.
        genome: the genome for genome input (None for FASTA input).
    """

    def __init__(self, table: RegionTable, genome: Genome | None) -> None:
        if table.kind == "genome" and genome is None:
            raise ValueError("genome input needs a Genome")
        self.table = table
        self.genome = genome
        self._records: FastaRecords | None = None
        if table.kind == "fasta":
            if table.fasta_path is None:
                raise ValueError("FASTA input needs the scanned file's path")
            self._records = FastaRecords(table.fasta_path)
        self._cached: tuple[int, bytes] | None = None  # last FASTA record (tiles reuse it)

    def _record(self, r: int) -> bytes:
        if self._cached is None or self._cached[0] != r:
            t = self.table
            assert self._records is not None and t.offset is not None and t.nbytes is not None
            self._cached = (r, self._records.read(int(t.offset[r]), int(t.nbytes[r])))
        return self._cached[1]

    def read(self, w: Window, flank: int = 0) -> bytes:
        """The window's bases in model orientation, ``window.length + 2 * flank`` long.

        ``flank`` adds context on both sides for shift augmentation (``--shifts``), as gReLU's
        ``max_seq_shift`` does: genome bases (N off the chromosome) for genome input, and N
        for FASTA records (gReLU pads the resized string with N).
        """
        if self._records is not None:
            rec = self._record(w.region_index)
            lo, hi = max(w.window_start, 0), min(w.window_end, len(rec))
            pad = b"N" * flank
            seq = b"N" * (lo - w.window_start) + rec[lo:hi] + b"N" * (w.window_end - hi)
            seq = pad + seq + pad if flank else seq
        else:
            assert self.genome is not None and w.chrom is not None
            seq = self.genome.fetch(w.chrom, w.window_start - flank, w.window_end + flank)
        return reverse_complement(seq) if w.strand == "-" else seq

    def encode(
        self,
        windows: list[Window],
        dtype: np.dtype | type = np.float32,
        out: np.ndarray | None = None,
        flank: int = 0,
    ) -> np.ndarray:
        """One-hot batch: N windows of equal length L -> (N, 4, L + 2 * flank) array of
        ``dtype`` (written into ``out`` when given)."""
        return one_hot_batch([self.read(w, flank) for w in windows], dtype=dtype, out=out)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_cached"] = None
        return state
