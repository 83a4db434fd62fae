"""A small multi-exon annotation written as GENCODE-style GTF and GFF3 (the same genes).

Coordinates are laid out around the output span of a 2,048 bp window (64 bins of 32 bp)
starting at ``OUT_A`` on chr1, so that the tests exercise: transcripts with overlapping exons,
genes on both strands overlapping each other, a gene cut by each edge of the span, a single-bin
exon, an exon too small for a majority bin, exons ending exactly on .5 bin boundaries (both
parities, numpy rounds half to even), a gene near a chromosome start (negative ``out_start``)
and a gene far away.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

BIN, N_BINS = 32, 64
SEQ_LEN = BIN * N_BINS
OUT_A = 3976  # output span start of a variant at VCF pos 5000: 5000 - 2048 // 2
H = BIN // 2


def _b(k: float) -> int:
    """Genome position of bin coordinate ``k`` of window A."""
    return OUT_A + int(k * BIN)


# gene_id -> (chrom, strand, gene_type, gene_name, {transcript_id: [(start, end) 0-based]})
GENES: dict[str, tuple[str, str, str, str, dict[str, list[tuple[int, int]]]]] = {
    "ENSG00000000001.5": (
        "chr1",
        "+",
        "protein_coding",
        "ALPHA",
        {
            "ENST01.1": [(OUT_A + 100, OUT_A + 300), (OUT_A + 600, OUT_A + 700)],
            "ENST02.1": [(OUT_A + 250, OUT_A + 400), (OUT_A + 600, OUT_A + 720)],
        },
    ),
    "ENSG00000000002.3": (
        "chr1",
        "-",
        "lncRNA",
        "BETA",
        {
            "ENST03.1": [(OUT_A + 350, OUT_A + 500), (OUT_A + 900, OUT_A + 1000)],
        },
    ),
    "ENSG00000000003.1": (
        "chr1",
        "+",
        "protein_coding",
        "GAMMA",
        {
            "ENST04.2": [(OUT_A + 1900, OUT_A + 2100), (OUT_A + 2500, OUT_A + 2600)],
        },
    ),
    "ENSG00000000004.7": (
        "chr1",
        "-",
        "protein_coding",
        "DELTA",
        {
            "ENST05.1": [(_b(40), _b(41)), (_b(45) + 2, _b(45) + 10)],
        },
    ),
    "ENSG00000000005.2": (
        "chr1",
        "+",
        "protein_coding",
        "EPS",
        {
            "ENST06.1": [(_b(10) + H, _b(13) + H), (_b(21) + H, _b(24) + H)],
            "ENST07.1": [(_b(30) + H, _b(33) + H)],
        },
    ),
    "ENSG00000000006.1": (
        "chr1",
        "-",
        "lncRNA",
        "ZETA",
        {
            "ENST08.1": [(_b(50) + 1, _b(50) + 9)],
        },
    ),
    "ENSG00000000007.4": (
        "chr1",
        "-",
        "protein_coding",
        "ETA",
        {
            "ENST09.1": [(OUT_A - 300, OUT_A - 100), (OUT_A - 50, OUT_A + 40)],
        },
    ),
    "ENSG00000000008.1": (
        "chr1",
        "+",
        "protein_coding",
        "THETA",
        {
            "ENST10.1": [(100_000, 100_500), (100_700, 101_000)],
        },
    ),
    "ENSG00000000009.2": (
        "chr2",
        "-",
        "lncRNA",
        "IOTA",
        {
            "ENST11.1": [(100, 400), (700, 800)],
        },
    ),
    "ENSG00000000010.1": (
        "chr1",
        "+",
        "protein_coding",
        "KAPPA",
        {
            "ENST12.1": [(OUT_A + 1300, OUT_A + 1500)],
            "ENST13.1": [(OUT_A + 1500, OUT_A + 1600)],  # touches ENST12's exon
        },
    ),
}


def _span(tx: dict[str, list[tuple[int, int]]]) -> tuple[int, int]:
    ex = [e for exons in tx.values() for e in exons]
    return min(s for s, _ in ex), max(e for _, e in ex)


TRICKY_NAME = "BETA;2"  # gene ENSG00000000002.3 with tricky=True: a ';' inside a quoted value


def _name(gid: str, tricky: bool) -> str:
    return TRICKY_NAME if tricky and gid == "ENSG00000000002.3" else GENES[gid][3]


def gtf_text(type_key: str = "gene_type", tricky: bool = True) -> str:
    """GENCODE-style GTF (1-based inclusive) with gene/transcript/exon lines.

    ``tricky`` adds what Calico's own GTF reader cannot take: a comment line between genes and
    a gene name with ``;`` inside its quotes (the reference test writes it without).
    """
    out = ["##description: test annotation", "##provider: tests"]
    for gid, (chrom, strand, gtype, _, tx) in GENES.items():
        name = _name(gid, tricky)
        s, e = _span(tx)
        base = f'gene_id "{gid}"; {type_key} "{gtype}"; gene_name "{name}";'
        out.append(f"{chrom}\tTEST\tgene\t{s + 1}\t{e}\t.\t{strand}\t.\t{base} level 2;")
        for tid, exons in tx.items():
            ts, te = min(a for a, _ in exons), max(b for _, b in exons)
            attrs = f'gene_id "{gid}"; transcript_id "{tid}"; {type_key} "{gtype}"; '
            attrs += f'gene_name "{name}"; tag "basic"; tag "CCDS";'
            out.append(f"{chrom}\tTEST\ttranscript\t{ts + 1}\t{te}\t.\t{strand}\t.\t{attrs}")
            for k, (a, b) in enumerate(exons, 1):
                ex = f'{attrs} exon_number {k}; exon_id "{tid}.e{k}";'
                out.append(f"{chrom}\tTEST\texon\t{a + 1}\t{b}\t.\t{strand}\t.\t{ex}")
        if tricky:
            out.append("# a comment between genes")
    return "\n".join(out) + "\n"


def gff3_text(ensembl: bool = False) -> str:
    """The same genes as GFF3: GENCODE style (ID = gene_id, gene_type, gene_name) or Ensembl
    style (ID=gene:..., Name=, biotype=); names percent-encoded; exons listed before their
    transcript to check that parents may come later."""
    out = ["##gff-version 3", "#!genome-build test"]
    for gid, (chrom, strand, gtype, _, tx) in GENES.items():
        s, e = _span(tx)
        enc = quote(_name(gid, True), safe="")
        if ensembl:
            gref = f"gene:{gid}"
            gattr = f"ID={gref};Name={enc};biotype={gtype}"
        else:
            gref = gid
            gattr = f"ID={gid};gene_id={gid};gene_type={gtype};gene_name={enc}"
        out.append(f"{chrom}\tTEST\tgene\t{s + 1}\t{e}\t.\t{strand}\t.\t{gattr}")
        for tid, exons in tx.items():
            tref = f"transcript:{tid}" if ensembl else tid
            for k, (a, b) in enumerate(exons, 1):
                out.append(
                    f"{chrom}\tTEST\texon\t{a + 1}\t{b}\t.\t{strand}\t.\t"
                    f"ID=exon:{tid}:{k};Parent={tref};exon_number={k}"
                )
            ts, te = min(a for a, _ in exons), max(b for _, b in exons)
            out.append(
                f"{chrom}\tTEST\tmRNA\t{ts + 1}\t{te}\t.\t{strand}\t.\tID={tref};Parent={gref}"
            )
    out.append("##FASTA")
    out.append(">chr1")
    out.append("ACGT")
    return "\n".join(out) + "\n"


def write_annotation(directory: Path) -> tuple[Path, Path]:
    """Write annotation.gtf and annotation.gff3 into ``directory``."""
    gtf = directory / "annotation.gtf"
    gff = directory / "annotation.gff3"
    gtf.write_text(gtf_text())
    gff.write_text(gff3_text())
    return gtf, gff


def expected_exons(gene_id: str) -> list[tuple[int, int]]:
    """The union of a gene's exons, overlapping and touching ones merged (0-based)."""
    merged: list[tuple[int, int]] = []
    for s, e in sorted(e for exons in GENES[gene_id][4].values() for e in exons):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged
