"""``grelu ism``'s chunked work for the run engine (``--resume`` on parquet and bigWig).

:class:`ISMParts` is a :class:`~grelu_cli.run.parts.ChunkedWork`: chunks of whole regions,
each committed as a long ISM parquet part (:mod:`grelu_cli.io.formats.ism_parquet`); at the
end the parts are read back, in chunk order, into the output's writer (parquet rows as they
are; bigWig from the regions' blocks), so the output equals one uninterrupted run's.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grelu_cli.run.parts import Chunk, PartWriter

if TYPE_CHECKING:
    from grelu_cli.core.ism_block import ISMBlock
    from grelu_cli.run.ism_build import BuiltISM
    from grelu_cli.run.resume import PartStore


class ISMParts:
    """Regions -> ISM blocks -> one parquet part per chunk; :meth:`stitch` fills ``final``."""

    unit = "regions"

    def __init__(self, built: BuiltISM, final: Any, fingerprint: str) -> None:
        self.built, self.final, self.fingerprint = built, final, fingerprint

    def pieces(self, todo: list[Chunk]) -> Iterator[tuple[int, ISMBlock]]:
        for k, lo, hi in todo:
            for block in self.built.blocks(lo, hi):
                yield k, block

    def open_part(self, path: Path, chunk: Chunk) -> PartWriter:
        from grelu_cli.io.formats.ism_parquet import ISMParquetWriter

        k, lo, hi = chunk
        meta = {"chunk": k, "window_range": [lo, hi], "fingerprint": self.fingerprint}
        return ISMParquetWriter(
            path, self.built.tasks, metadata=meta, overwrite=True, compression="lz4"
        )

    def bases(self, n: int) -> int:
        return n * self.built.seq_len

    def stitch(self, store: PartStore) -> None:
        import pyarrow.parquet as pq

        from grelu_cli.io.formats.ism_parquet import table_blocks
        from grelu_cli.io.formats.merge import read_record

        with self.final as writer:
            for k in range(store.n_chunks):
                table = pq.read_table(store.part(k))
                if hasattr(writer, "write_table"):
                    writer.write_table(table)
                else:
                    first = int(read_record(store.part(k))["window_range"][0])
                    for block in table_blocks(table, self.built.tasks, first):
                        writer.write(block)
            if hasattr(writer, "metadata"):
                writer.metadata["counts"] = self.built.source.counts()
