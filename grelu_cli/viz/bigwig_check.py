"""Is a bigWig file whole? A check of its layout before libBigWig opens it.

libBigWig prints C messages on fd 2 and can even crash (SIGSEGV) on a file cut short, so
:func:`check_bigwig_layout` reads the bbi header itself first: every offset it holds must lie
inside the file, and the file must end with the signature it starts with.
"""

from __future__ import annotations

import struct
from pathlib import Path

from grelu_cli.errors import InputDataError

BIGWIG_MAGIC = (0x888FFC26).to_bytes(4, "little")
# bbi header: magic, version, zoom levels, chromosome tree, full data, full index offsets,
# field counts, autoSql, total summary offsets, uncompress buffer size, extension offset.
BBI_HEADER = struct.Struct("<IHHQQQHHQQIQ")
# zoom header: reduction level, reserved, data offset, index offset
BBI_ZOOM = struct.Struct("<IIQQ")


def check_bigwig_layout(path: Path) -> None:
    """Refuse a bigWig whose header points past its end or that lacks the closing signature.

    Every bigWig ends with the same 4-byte signature it starts with (UCSC's bbi format), and
    its header and zoom headers hold file offsets of the chromosome tree, data, index and
    zoom levels. A file cut short (an interrupted copy or download) fails one of these checks;
    libBigWig itself prints C messages and may even crash on such files.
    """
    size = path.stat().st_size
    with open(path, "rb") as fh:
        header = fh.read(BBI_HEADER.size)
        if len(header) < BBI_HEADER.size:
            raise damaged(path, f"only {size} bytes, shorter than its header")
        fields = BBI_HEADER.unpack(header)
        n_zoom = fields[2]
        offsets = [fields[i] for i in (3, 4, 5, 8, 9, 11)]
        zooms = fh.read(BBI_ZOOM.size * n_zoom)
        if len(zooms) < BBI_ZOOM.size * n_zoom:
            raise damaged(path, "its zoom-level headers are cut short")
        for z in range(n_zoom):
            offsets += BBI_ZOOM.unpack_from(zooms, z * BBI_ZOOM.size)[2:]
        fh.seek(max(size - 4, 0))
        tail = fh.read(4)
    if any(off >= size for off in offsets) or tail != BIGWIG_MAGIC:
        raise damaged(path, f"it ends at byte {size:,} before its last section")


def damaged(path: Path, what: str) -> InputDataError:
    """The one-line error for a bigWig that libBigWig must not be given."""
    return InputDataError(
        f"bigWig {path} is truncated or damaged: {what}",
        fix="write it again, e.g. rerun grelu predict --format bigwig",
    )
