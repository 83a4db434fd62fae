"""One-hot encoding and reverse complement of DNA, vectorised over bytes.

Channels are A, C, G, T in that order, as in gReLU 1.1.0 (``strings_to_one_hot``). N and every
other IUPAC code (R, Y, ...) encode as an all-zero column; lowercase (soft-masked) bases encode
like uppercase. A 256-entry lookup table maps each byte to its channel in one numpy indexing
step, so no Python loop runs per base.
"""

from __future__ import annotations

import numpy as np

from grelu_cli.core.alphabet import DNA_CHARS

#: Channel order of the one-hot encoding.
BASES = "ACGT"

# Byte -> channel index (0..3), or 4 for "no channel" (N, IUPAC, anything else).
_CHANNEL = np.full(256, 4, dtype=np.uint8)
for _i, _b in enumerate(BASES):
    _CHANNEL[ord(_b)] = _i
    _CHANNEL[ord(_b.lower())] = _i

# Rows of the table that ``_CHANNEL`` indexes: channel i -> unit vector i; 4 -> zeros.
_EYE = np.vstack([np.eye(4, dtype=np.uint8), np.zeros((1, 4), dtype=np.uint8)])

# Complement table for bytes.translate: IUPAC-aware, case-preserving (pyfaidx does the same).
_COMPLEMENT = bytes.maketrans(
    b"ACGTURYKMSWBDHVNacgturykmswbdhvn", b"TGCAAYRMKSWVHDBNtgcaayrmkswvhdbn"
)

_VALID = np.zeros(256, dtype=bool)
_VALID[list(DNA_CHARS)] = True


def _as_bytes(seq: str | bytes | bytearray | memoryview) -> bytes | bytearray | memoryview:
    return seq.encode("ascii", errors="replace") if isinstance(seq, str) else seq


def channel_index(seq: str | bytes) -> np.ndarray:
    """Channel of each base: (L,) uint8 with 0..3 for A, C, G, T and 4 for anything else."""
    return _CHANNEL[np.frombuffer(_as_bytes(seq), dtype=np.uint8)]


def one_hot(seq: str | bytes, dtype: np.dtype | type = np.float32) -> np.ndarray:
    """Encode one sequence: ``seq`` of length L -> (4, L) array of ``dtype``."""
    return np.ascontiguousarray(_EYE[channel_index(seq)].T, dtype=dtype)


def one_hot_batch(
    seqs: list[bytes] | list[str],
    dtype: np.dtype | type = np.float32,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Encode N sequences of equal length L -> (N, 4, L) array of ``dtype``.

    ``out``, when given, is a preallocated (N, 4, L) array (e.g. a view of shared memory)
    that receives the encoding; its dtype wins over ``dtype``. It may be channel-major (the
    default C order) or position-major (an (N, L, 4) array transposed), whichever the model
    reads.
    """
    lengths = {len(s) for s in seqs}
    if len(lengths) > 1:
        raise ValueError(f"one_hot_batch needs equal lengths; got {sorted(lengths)}")
    length = lengths.pop() if lengths else 0
    if out is None:
        out = np.empty((len(seqs), 4, length), dtype=dtype)
    elif out.shape != (len(seqs), 4, length):
        raise ValueError(f"out has shape {out.shape}; expected {(len(seqs), 4, length)}")
    if not seqs:
        return out
    buf = np.frombuffer(b"".join(_as_bytes(s) for s in seqs), dtype=np.uint8)
    idx = _CHANNEL[buf].reshape(len(seqs), length)
    if out.ndim == 3 and out.strides[1] == out.itemsize and out.strides[2] == 4 * out.itemsize:
        # Position-major memory ((N, L, 4) seen as (N, 4, L), what channels-last convs read):
        # one table lookup per base copies its four channels as a single item (3x faster
        # than four comparisons).
        rows = _eye_rows(out.dtype)
        dst = out.transpose(0, 2, 1).view(rows.dtype).reshape(idx.shape)
        np.take(rows, idx, out=dst, mode="clip")
        return out
    # One comparison per channel writes straight into the (N, 4, L) layout (no transpose copy).
    for c in range(4):
        np.equal(idx, c, out=out[:, c, :], casting="unsafe")
    return out


_EYE_ROWS: dict[np.dtype, np.ndarray] = {}


def _eye_rows(dtype: np.dtype) -> np.ndarray:
    """(5,) table of one-hot rows: item i is channel i's four values in ``dtype``, as one
    opaque 4-value item (item 4: all zero)."""
    dtype = np.dtype(dtype)
    if dtype not in _EYE_ROWS:
        row = np.dtype((np.void, 4 * dtype.itemsize))
        _EYE_ROWS[dtype] = np.ascontiguousarray(_EYE.astype(dtype)).view(row).reshape(5)
    return _EYE_ROWS[dtype]


def reverse_complement(seq: bytes) -> bytes:
    """Reverse complement of a byte sequence (IUPAC-aware, case kept; unknown bytes kept)."""
    return seq.translate(_COMPLEMENT)[::-1]


def invalid_positions(seq: bytes) -> np.ndarray:
    """0-based positions of bytes that are not IUPAC nucleotide codes (either case)."""
    return np.flatnonzero(~_VALID[np.frombuffer(seq, dtype=np.uint8)])
