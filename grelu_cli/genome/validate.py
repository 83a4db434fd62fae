"""Check the input against the genome and the model before any model loads (``--dry-run``).

Readers already reported malformed lines; this adds what needs the genome or the model:
unknown chromosomes (with a ``--chrom-alias auto`` hint when another spelling exists), regions
entirely off a chromosome, windows with no base on their chromosome (``--edge pad``), windows
off an end under ``--edge error``, empty input, and input
lengths the model cannot take. Every message is one line naming the file, line and value,
with the fix.
"""

from __future__ import annotations

import numpy as np

from grelu_cli.core.alias import find_alias
from grelu_cli.genome.plan import WindowPlan
from grelu_cli.genome.report import ValidationReport
from grelu_cli.genome.table import RegionTable


def _lines(table: RegionTable, lines: list[int], total: int) -> str:
    if table.labels is not None:
        shown = ", ".join(repr(table.labels[i - 1]) for i in lines)
        head = f"{table.source} {shown}"
    else:
        head = f"{table.source} line{'s' if total > 1 else ''} " + ", ".join(map(str, lines))
    return head + (f" and {total - len(lines)} more" if total > len(lines) else "")


def _fmt(table: RegionTable, i: int) -> str:
    strand = "-" if table.minus[i] else "+"
    chrom = table.chrom_name(i)
    return f"{chrom}:{int(table.start[i])}-{int(table.end[i])}({strand})"


def check_chromosomes(
    table: RegionTable, genome_name: str, known: list[str], alias: str, report: ValidationReport
) -> None:
    """Report each unknown chromosome once, with where it appears and how to fix it."""
    shown = ", ".join(known[:5]) + (f", ... ({len(known)} in all)" if len(known) > 5 else "")
    for name, lines in table.unknown.items():
        total = table.unknown_counts[name]
        alt = find_alias(name, set(known))
        if alt is not None and alias == "none":
            fix = f"the genome calls it {alt!r}: add --chrom-alias auto"
        else:
            fix = "check that the regions and the genome are the same assembly"
        report.error(
            f"{_lines(table, lines, total)}: chromosome {name!r} is not in {genome_name} "
            f"(known: {shown}) ({fix})"
        )


def check_extent(plan: WindowPlan, report: ValidationReport) -> None:
    """Regions off their chromosome (error), past its end (warning), off-edge windows."""
    t = plan.table
    if t.kind != "genome":
        return
    known = t.chrom >= 0
    size = plan.size
    outside = np.flatnonzero(known & (t.start >= size))
    for i in outside[:50]:
        report.error(
            f"{t.where(i)}: region {_fmt(t, i)} lies entirely past the end of "
            f"{t.chrom_name(i)} ({int(size[i])} bp) (is the input for another genome build?)"
        )
    report.more_errors(max(0, len(outside) - 50))
    check_no_base(plan, report, skip=outside)
    partly = np.flatnonzero(known & (t.start < size) & (t.end > size))
    if len(partly):
        i = partly[0]
        report.warn(
            f"{len(partly)} region(s) run past their chromosome's end, first {t.where(i)}: "
            f"{_fmt(t, i)} on {t.chrom_name(i)} of {int(size[i])} bp (their windows follow "
            f"--edge {plan.edge})"
        )
    if plan.edge == "error":
        off = plan.off_edge_regions()
        for i in off[:50]:
            report.error(
                f"{t.where(i)}: a model window for region {_fmt(t, i)} runs off "
                f"{t.chrom_name(i)} (0-{int(size[i])}) (use --edge pad to fill with N, shift "
                "to move it inside, or drop to skip it)"
            )
        report.more_errors(max(0, len(off) - 50))


def check_no_base(plan: WindowPlan, report: ValidationReport, skip: np.ndarray) -> None:
    """Windows with no base on their chromosome (their region overlaps it, but the window
    centred on the region, or a tile of it, lies wholly off the end).

    ``--edge pad`` would predict them on all-N input: an error per region. ``--edge drop``
    skips them (a warning with the count, so ``--dry-run`` lists them); ``--edge shift``
    moves them inside, onto the part of the region that is on the chromosome; ``--edge
    error`` already reports every window off an end. ``skip``: regions reported already
    (lying wholly past the end).
    """
    if plan.edge not in ("pad", "drop"):
        return
    t = plan.table
    n_off = plan.no_base_windows()
    n_off[skip] = 0
    regions = np.flatnonzero(n_off)
    if not len(regions):
        return
    size = plan.size
    if plan.edge == "drop":
        i = regions[0]
        report.warn(
            f"--edge drop skips {int(n_off.sum()):,} window(s) of {len(regions):,} region(s) "
            f"that have no base on their chromosome, first {t.where(i)}: {_fmt(t, i)} on "
            f"{t.chrom_name(i)} of {int(size[i]):,} bp"
        )
        return
    for i in regions[:50]:
        report.error(
            f"{t.where(i)}: {_no_base(plan, int(i), int(n_off[i]))} {t.chrom_name(i)} "
            f"(0-{int(size[i]):,}), so it would be all N (trim the region to the chromosome, "
            "or use --edge drop to skip such windows or --edge shift to move them inside)"
        )
    report.more_errors(max(0, len(regions) - 50))


def _no_base(plan: WindowPlan, i: int, n: int) -> str:
    t = plan.table
    if plan.tile:
        return f"{n:,} of the {int(plan.n_raw[i]):,} tiles of region {_fmt(t, i)} lie wholly off"
    ws = int(plan.first[i])
    window = f"{ws:,}-{ws + int(plan.width[i]):,}"
    return f"the model window {window} of region {_fmt(t, i)} lies wholly off"


def check_lengths(plan: WindowPlan, report: ValidationReport) -> None:
    """Input lengths the model cannot take (fixed ``seq_len`` or each as-is region)."""
    g = plan.geometry
    if g is None:
        return
    if plan.seq_len is not None:
        try:
            g.check_len(plan.seq_len)
        except ValueError as err:
            report.error(f"{err} (pass a valid --seq-len)")
        return
    t = plan.table
    lengths = t.end - t.start
    for length in np.unique(lengths):
        try:
            g.check_len(int(length))
        except ValueError as err:
            bad = np.flatnonzero(lengths == length)
            i = bad[0]
            more = f" and {len(bad) - 1} more of that length" if len(bad) > 1 else ""
            report.error(
                f"{t.where(i)}{more}: {t.raw_name(i) or _fmt(t, i)}: {err} (pass --seq-len "
                "to resize every input to one valid length)"
            )


def validate(
    plan: WindowPlan,
    report: ValidationReport,
    *,
    genome_name: str | None = None,
    known: list[str] | None = None,
    chrom_alias: str = "none",
) -> ValidationReport:
    """Add genome- and model-dependent problems of ``plan``'s input to ``report``; return it.

    Args:
        plan: the window plan (its table and geometry are checked).
        report: the report readers already wrote to.
        genome_name: genome file name for messages (genome input).
        known: the genome's chromosome names (genome input).
        chrom_alias: the ``--chrom-alias`` mode in use (for hints).
    """
    t = plan.table
    if len(t) == 0 and report.ok:
        report.error(f"{t.source}: no regions or records found (is the input empty?)")
    if t.kind == "genome" and known is not None:
        check_chromosomes(t, genome_name or "the genome", known, chrom_alias, report)
    check_extent(plan, report)
    check_lengths(plan, report)
    if report.ok and len(t):
        summarize_edges(plan, report)
    return report


def summarize_edges(plan: WindowPlan, report: ValidationReport) -> None:
    """Warn about what ``--edge`` will do (padding, dropping, shifting), with counts."""
    c = plan.counts()
    if c.padded_windows and plan.table.kind == "fasta":
        report.warn(
            f"{c.padded_windows} of {c.windows} windows extend past their record and are "
            f"N-padded ({c.padded_bases} bases in all), as gReLU pads short sequences"
        )
    elif c.padded_windows:
        report.warn(
            f"{c.padded_windows} of {c.windows} windows run off a sequence end and are "
            f"N-padded ({c.padded_bases} bases in all; --edge drop or shift avoids this)"
        )
    if c.dropped_windows:
        report.warn(
            f"--edge drop skips {c.dropped_windows} window(s) that run off a chromosome "
            f"({c.dropped_regions} region(s) get no prediction at all)"
        )
    if c.shifted_windows:
        report.warn(f"--edge shift moves {c.shifted_windows} window(s) inside their chromosome")
    if c.windows == 0:
        report.error(
            f"{plan.table.source}: no window is left to predict (every window runs off a "
            "chromosome and --edge drop skips it; use --edge pad or shift)"
        )
