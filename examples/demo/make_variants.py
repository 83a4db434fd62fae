"""Write examples/demo/variants.vcf: variants that break planted motifs, and controls.

    python examples/demo/make_variants.py [OUT]   # deterministic; default: variants.vcf here

From ``motifs.bed`` (every planted motif) it takes motif copies spread over the three
chromosomes (chr3 was held out from training) and breaks each with one kind of variant:

* ``break_mnv``: the 4 central motif bases replaced (``MNV``);
* ``break_del``: 5 motif bases deleted (the VCF anchor base kept before them);
* ``break_ins``: 6 bases inserted in the middle of the motif;
* ``break_snv``: the central base changed (one mismatch leaves most of the motif: a
  smaller effect than the others, still well above the controls).

Controls (``bg_*``): SNVs and one indel at least 1 kb from every planted motif, where the
model sees only background. One record carries two ALTs (a multi-allelic site) and one has a
symbolic ALT that ``grelu variants`` skips and counts. IDs say what each record is.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def read_genome(path: Path) -> dict[str, str]:
    seqs: dict[str, list[str]] = {}
    name = None
    for line in path.read_text().splitlines():
        if line.startswith(">"):
            name = line[1:].split()[0]
            seqs[name] = []
        elif name is not None:
            seqs[name].append(line.strip())
    return {k: "".join(v) for k, v in seqs.items()}


def main(out: Path = HERE / "variants.vcf") -> None:
    rng = random.Random(11)
    genome = read_genome(HERE / "genome.fa")
    motifs = [ln.split("\t") for ln in (HERE / "motifs.bed").read_text().splitlines()]
    motifs = [(c, int(s), int(e), n) for c, s, e, n, *_ in motifs]
    records: list[tuple[str, int, str, str, str]] = []  # chrom, POS, id, REF, ALT

    def other(base: str) -> str:
        return rng.choice([b for b in "ACGT" if b != base.upper()])

    kinds = ["break_mnv", "break_del", "break_ins", "break_snv"]
    picked: dict[str, int] = {}
    for chrom, start, end, name in motifs:
        key = f"{chrom}/{name}"
        if picked.get(key, 0) >= 2 or start < 2000 or end > len(genome[chrom]) - 2000:
            continue
        kind = kinds[sum(picked.values()) % len(kinds)]
        picked[key] = picked.get(key, 0) + 1
        seq = genome[chrom]
        mid = (start + end) // 2  # 0-based centre base
        vid = f"{kind}:{name}"
        if kind == "break_mnv":
            ref = seq[mid - 2 : mid + 2]
            alt = "".join(other(b) for b in ref)
            records.append((chrom, mid - 1, vid, ref, alt))
        elif kind == "break_del":
            anchor = mid - 3
            records.append((chrom, anchor + 1, vid, seq[anchor : anchor + 6], seq[anchor]))
        elif kind == "break_ins":
            ins = "".join(rng.choice("ACGT") for _ in range(6))
            records.append((chrom, mid + 1, vid, seq[mid], seq[mid] + ins))
        else:
            records.append((chrom, mid + 1, vid, seq[mid], other(seq[mid])))
    # Controls far from every motif.
    n_bg = 0
    while n_bg < 10:
        chrom = rng.choice(sorted(genome))
        pos0 = rng.randrange(1500, len(genome[chrom]) - 1500)
        near = any(c == chrom and s - 1000 <= pos0 < e + 1000 for c, s, e, _ in motifs)
        ref = genome[chrom][pos0]
        if near or ref.upper() not in "ACGT":
            continue
        n_bg += 1
        if n_bg == 1:  # multi-allelic control
            alts = [b for b in "ACGT" if b != ref.upper()][:2]
            records.append((chrom, pos0 + 1, f"bg_multi{n_bg}", ref, ",".join(alts)))
        elif n_bg == 2:
            records.append((chrom, pos0 + 1, f"bg_del{n_bg}", genome[chrom][pos0 : pos0 + 4], ref))
        elif n_bg == 3:
            records.append((chrom, pos0 + 1, f"bg_symbolic{n_bg}", ref, "<DEL>"))
        else:
            records.append((chrom, pos0 + 1, f"bg_snv{n_bg}", ref, other(ref)))
    order = {c: i for i, c in enumerate(genome)}
    records.sort(key=lambda r: (order[r[0]], r[1]))
    lines = [
        "##fileformat=VCFv4.2",
        "##source=examples/demo/make_variants.py",
        '##ALT=<ID=DEL,Description="Deletion">',
        *(f"##contig=<ID={c},length={len(s)}>" for c, s in genome.items()),
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO",
    ]
    lines += [f"{c}\t{p}\t{i}\t{r}\t{a}\t.\t.\t." for c, p, i, r, a in records]
    out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "variants.vcf")
