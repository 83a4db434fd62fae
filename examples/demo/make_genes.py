"""Write examples/demo/genes.gtf: a few genes on the demo genome, some carrying planted motifs.

    python examples/demo/make_genes.py [OUT]   # deterministic; default: genes.gtf here

Genes (GENCODE-style GTF: gene, transcript and exon lines, 1-based inclusive) are placed from
``motifs.bed`` by fixed rules, so the file is the same every time:

* ``MOTA1`` (+, chr1): three exons; the middle one carries a planted ``motif_a`` copy. Two
  transcripts (one skips the last exon): the gene is the union of their exons.
* ``MOTB1`` (-, chr2): two exons; the first (in genome order) carries a ``motif_b`` copy.
* ``MOTA3LONG`` (+, chr3, held out from training): 2.4 kb, longer than the model's 896 bp
  output span, so ``grelu predict --genes`` tiles it; one exon carries a ``motif_a`` copy.
* ``BG1`` (+, chr1), ``BG2`` (-, chr2, lncRNA), ``BGLONG`` (-, chr1, 2.4 kb, tiled): no
  planted motif within 150 bp of the gene span: background only.

Motif genes take the first copy of their motif (in ``motifs.bed`` order, from 5 kb into the
chromosome) whose gene span, widened by 150 bp, holds no other motif and no N; background
genes the first such span, scanning from 5 kb in steps of 500 bp, that holds no motif at all.
So in ``grelu predict --genes`` the motif genes stand out on their motif's task (the demo
model puts a bump of height ~20 for motif_a, ~10 for motif_b on each copy) and the
background genes sit at the model's background of about 0.2 per bp.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
MARGIN = 150  # bp around a gene span that must be free of other motifs
START = 5_000  # genes start this far into a chromosome
N_RUNS = {
    "chr1": ((0, 2_000), (70_000, 72_000)),
    "chr2": ((97_000, 100_000),),
    "chr3": ((0, 1_000),),
}
SIZES = {"chr1": 150_000, "chr2": 100_000, "chr3": 60_000}

# Exons relative to the anchor (a motif's first base, or the scan position), 0-based half-open.
SHORT = [(-300, -180), (-60, 72), (220, 340)]  # 640 bp: fits one output span
LONG = [(-1200, -1050), (-60, 72), (600, 760), (1050, 1200)]  # 2.4 kb: tiled
TWO = [(-40, 90), (300, 420)]

# (gene name, chrom, strand, gene_type, motif or None, exon layout, second transcript)
GENES = (
    ("MOTA1", "chr1", "+", "protein_coding", "motif_a", SHORT, True),
    ("MOTB1", "chr2", "-", "protein_coding", "motif_b", TWO, False),
    ("MOTA3LONG", "chr3", "+", "protein_coding", "motif_a", LONG, False),
    ("BG1", "chr1", "+", "protein_coding", None, SHORT, False),
    ("BG2", "chr2", "-", "lncRNA", None, TWO, False),
    ("BGLONG", "chr1", "-", "protein_coding", None, LONG, False),
)


def read_motifs(path: Path) -> list[tuple[str, int, int, str]]:
    out = []
    for line in path.read_text().splitlines():
        chrom, s, e, name = line.split("\t")[:4]
        out.append((chrom, int(s), int(e), name))
    return out


def _free(chrom: str, lo: int, hi: int, motifs, taken, allow=None) -> bool:
    """No motif (other than ``allow``), N run or already placed gene in ``[lo, hi)``."""
    if lo < START or hi > SIZES[chrom] - START:
        return False
    if any(s < hi and e > lo for s, e in N_RUNS[chrom]):
        return False
    if any(c == chrom and s < hi and e > lo for c, s, e in taken):
        return False
    return all(not (m[0] == chrom and m[1] < hi and m[2] > lo) or m == allow for m in motifs)


def place(motifs, taken) -> list[tuple[str, str, str, str, list[list[tuple[int, int]]]]]:
    """Every gene: (name, chrom, strand, type, transcripts' exons)."""
    genes = []
    for name, chrom, strand, gtype, motif, layout, second in GENES:
        lo_off, hi_off = layout[0][0], layout[-1][1]
        anchors = (
            [m for m in motifs if m[0] == chrom and m[3] == motif]
            if motif
            else [(chrom, p, p, "") for p in range(START, SIZES[chrom], 500)]
        )
        for m in anchors:
            a = m[1]
            lo, hi = a + lo_off - MARGIN, a + hi_off + MARGIN
            if _free(chrom, lo, hi, motifs, taken, allow=m if motif else None):
                break
        else:
            raise SystemExit(f"no place for {name}")
        exons = [(a + s, a + e) for s, e in layout]
        taken.append((chrom, lo, hi))
        txs = [exons] + ([exons[:-1]] if second else [])
        genes.append((name, chrom, strand, gtype, txs))
    return genes


def gtf_lines(genes) -> list[str]:
    lines = ["##description: grelu-cli demo genes (examples/demo/make_genes.py)"]
    for i, (name, chrom, strand, gtype, txs) in enumerate(genes, 1):
        gid = f"DEMOG{i:04d}.1"
        lo = min(s for tx in txs for s, _ in tx)
        hi = max(e for tx in txs for _, e in tx)
        base = f'gene_id "{gid}"; gene_type "{gtype}"; gene_name "{name}";'
        lines.append(f"{chrom}\tdemo\tgene\t{lo + 1}\t{hi}\t.\t{strand}\t.\t{base}")
        for t, exons in enumerate(txs, 1):
            tid = f'transcript_id "DEMOT{i:04d}{t}.1";'
            t_lo, t_hi = exons[0][0], exons[-1][1]
            lines.append(
                f"{chrom}\tdemo\ttranscript\t{t_lo + 1}\t{t_hi}\t.\t{strand}\t.\t{base} {tid}"
            )
            order = exons if strand == "+" else exons[::-1]
            for n, (s, e) in enumerate(order, 1):
                extra = f" exon_number {n};"
                lines.append(
                    f"{chrom}\tdemo\texon\t{s + 1}\t{e}\t.\t{strand}\t.\t{base} {tid}{extra}"
                )
    return lines


def main(out: Path) -> None:
    motifs = read_motifs(HERE / "motifs.bed")
    genes = place(motifs, [])
    out.write_text("\n".join(gtf_lines(genes)) + "\n")
    for name, chrom, strand, _, txs in genes:
        print(f"{name}\t{chrom}:{txs[0][0][0]}-{txs[0][-1][1]}({strand})", file=sys.stderr)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "genes.gtf")
