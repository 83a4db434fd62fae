"""Seeded synthetic inputs for the benchmark: a genome FASTA and BED files of fixed-length regions.

Plain numpy and the standard library, so the gReLU runner (another virtualenv) could import it
too. The same seed always gives the same bytes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

LINE = 80


def write_genome(path: Path, chrom_sizes: dict[str, int], seed: int = 0) -> Path:
    """Write a random ACGT genome (uniform bases, one N run per chromosome) and return
    ``path``; also ``path.sizes`` (chrom, size), which gReLU's genome reader needs."""
    rng = np.random.default_rng(seed)
    alphabet = np.frombuffer(b"ACGT", dtype=np.uint8)
    with open(path, "wb") as fh:
        for chrom, size in chrom_sizes.items():
            seq = alphabet[rng.integers(0, 4, size)]
            # A short N run per chromosome, so the encoder's N path is exercised too.
            lo = int(rng.integers(0, max(1, size - 100)))
            seq[lo : lo + 100] = ord("N")
            fh.write(f">{chrom}\n".encode())
            body = seq.tobytes()
            for i in range(0, size, LINE):
                fh.write(body[i : i + LINE] + b"\n")
    with open(f"{path}.sizes", "w") as fh:
        for chrom, size in chrom_sizes.items():
            fh.write(f"{chrom}\t{size}\n")
    return path


def genome_sizes(n_regions: int, region_len: int, n_chroms: int = 2) -> dict[str, int]:
    """Chromosome sizes big enough for ``n_regions`` random regions (overlap allowed),
    capped so the FASTA stays small: at most 8 Mb per chromosome, at least 4 region lengths."""
    per = max(4 * region_len, min(8_000_000, n_regions * region_len // n_chroms // 4))
    return {f"chr{i + 1}": int(per) for i in range(n_chroms)}


def write_bed(
    path: Path, chrom_sizes: dict[str, int], n_regions: int, region_len: int, seed: int = 1
) -> Path:
    """Write ``n_regions`` regions of exactly ``region_len`` bp, sorted by chromosome then
    start (a typical peak file), named r0, r1, ... All '+' strand, so gReLU's outputs (model
    orientation) and ours (genome orientation) compare bin for bin."""
    rng = np.random.default_rng(seed)
    chroms = list(chrom_sizes)
    which = np.sort(rng.integers(0, len(chroms), n_regions))
    with open(path, "w") as fh:
        i = 0
        for c, chrom in enumerate(chroms):
            k = int((which == c).sum())
            starts = np.sort(rng.integers(0, chrom_sizes[chrom] - region_len, k))
            for s in starts:
                fh.write(f"{chrom}\t{s}\t{s + region_len}\tr{i}\t0\t+\n")
                i += 1
    return path
