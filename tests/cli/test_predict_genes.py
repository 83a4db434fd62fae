"""``grelu predict --genes``: values per gene equal sums (means) over a plain run's bins.

A tiny stranded model (a ``+``/``-`` CAGE pair and an unstranded DNase track), a GTF with genes
on both strands (overlapping transcripts, odd coordinates that land on half bins, genes longer
than the output span, genes at both ends of a chromosome, a gene whose exons disagree on
strand, a gene on a chromosome the genome lacks). The expected values are computed here,
independently: the gene windows from the placement rules (one centred window when the exon
span fits the 188 bp output span, else tiles whose output bins abut, the first starting at
the span start), a plain ``grelu predict --bed`` long-parquet run over exactly those windows,
and Calico's majority rule written out with numpy over each window's bins.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from tests.cli.predict_helpers import BIN, CROP, N_BINS, SEQ_LEN, build_model, make_genome, ok

STRANDED_TSV = "name\tstrand\tstrand_pair\ncage_plus\t+\t2\ndnase\t.\t1\ncage_minus\t-\t0\n"
OUT_OFFSET = CROP * BIN  # 6: output span starts 6 bp into the window
SPAN = N_BINS * BIN  # 188 bp of output per window

# gene_id -> (chrom, strand, gene_type, name, {transcript: [(start, end) 0-based half-open]})
GENES = {
    "gP1.2": (
        "chrA",
        "+",
        "protein_coding",
        "PONE",
        {"t1": [(301, 360), (400, 441)], "t2": [(350, 383)]},
    ),
    "gM1.1": ("chrA", "-", "lncRNA", "MONE", {"t3": [(600, 651), (700, 760)]}),
    "gLong.1": (
        "chrA",
        "+",
        "protein_coding",
        "LONG",
        {"t4": [(1101, 1200), (1400, 1503)], "t5": [(1700, 1800)]},
    ),
    "gLongM.3": ("chrB", "-", "protein_coding", "LONGM", {"t6": [(200, 300), (499, 620)]}),
    "gEnd.1": ("chrB", "-", "protein_coding", "END", {"t7": [(1441, 1500)]}),
    "gStart.1": ("chrC", "+", "protein_coding", "START", {"t8": [(0, 51)]}),
    "gBad.1": ("chrA", "+", "protein_coding", "BAD", {"t9": [(2000, 2050)]}),
    "gAway.1": ("chrZ", "+", "protein_coding", "AWAY", {"t10": [(10, 60)]}),
}
# gBad's second transcript is on the other strand: skipped.
BAD_EXTRA = ("chrA", "-", "t9b", (2100, 2150))
SCORED = ["gP1.2", "gM1.1", "gLong.1", "gLongM.3", "gEnd.1", "gStart.1"]


def write_gtf(path: Path) -> Path:
    lines = []
    for gid, (chrom, strand, gtype, name, txs) in GENES.items():
        for tid, exons in txs.items():
            for s, e in exons:
                attrs = (
                    f'gene_id "{gid}"; transcript_id "{tid}"; gene_name "{name}"; '
                    f'gene_type "{gtype}";'
                )
                lines.append(f"{chrom}\ttest\texon\t{s + 1}\t{e}\t.\t{strand}\t.\t{attrs}")
    chrom, strand, tid, (s, e) = BAD_EXTRA
    lines.append(
        f'{chrom}\ttest\texon\t{s + 1}\t{e}\t.\t{strand}\t.\tgene_id "gBad.1"; '
        f'transcript_id "{tid}"; gene_name "BAD"; gene_type "protein_coding";'
    )
    path.write_text("\n".join(lines) + "\n")
    return path


def merged_exons(gid: str) -> list[tuple[int, int]]:
    ivs = sorted(iv for exons in GENES[gid][4].values() for iv in exons)
    out: list[list[int]] = []
    for s, e in ivs:
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


def gene_windows(gid: str) -> list[int]:
    """Window starts by the placement rules, written out."""
    ex = merged_exons(gid)
    s, e = ex[0][0], ex[-1][1]
    if e - s <= SPAN:
        return [int(np.ceil((s + e) / 2 - SEQ_LEN / 2))]  # gReLU's resize
    n = -(-(e - s) // SPAN)
    return [s - OUT_OFFSET + k * SPAN for k in range(n)]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict:
    d = tmp_path_factory.mktemp("genes")
    genome = make_genome(d)
    model = build_model(d, tasks_tsv=STRANDED_TSV, name="stranded.ckpt")
    gtf = write_gtf(d / "genes.gtf")
    env = {"d": d, "genome": genome, "model": model, "gtf": gtf, "plain": {}}
    env["plain"][()] = plain_run(env)
    return env


def plain_run(env: dict, *flags: str) -> pd.DataFrame:
    """The plain runs: each gene's exon span as a BED region, centred (fits the output span)
    or with --tile (longer); the window starts are checked against gene_windows() below."""
    d, parts = env["d"], []
    for tile in (False, True):
        rows = []
        for gid in SCORED:
            ex = merged_exons(gid)
            if (ex[-1][1] - ex[0][0] > SPAN) == tile:
                rows.append(f"{GENES[gid][0]}\t{ex[0][0]}\t{ex[-1][1]}\t{gid}\t0\t+")
        bed = d / f"spans-{tile}.bed"
        bed.write_text("\n".join(rows) + "\n")
        out = d / f"plain-{tile}-{'-'.join(flags)}.parquet"
        ok(
            "predict",
            "-m",
            env["model"],
            "--bed",
            bed,
            "--genome",
            env["genome"],
            "-o",
            out,
            "--overwrite",
            *(["--tile"] if tile else []),
            *flags,
        )
        parts.append(pd.read_parquet(out))
    return pd.concat(parts, ignore_index=True)


def run_genes(setup: dict, out: Path, *extra: str) -> Path:
    ok(
        "predict",
        "-m",
        setup["model"],
        "--genes",
        setup["gtf"],
        "--genome",
        setup["genome"],
        "-o",
        out,
        *extra,
    )
    return out


def expected(plain: pd.DataFrame, gid: str, rule: str, span: bool, agg: str) -> dict:
    """Independent values of gene ``gid`` from the plain run's long rows."""
    chrom, strand = GENES[gid][0], GENES[gid][1]
    ivs = merged_exons(gid)
    if span:
        ivs = [(ivs[0][0], ivs[-1][1])]
    stranded = "cage_plus" if strand == "+" else "cage_minus"
    values = {"cage_plus": 0.0, "dnase": 0.0}
    n_bins, inside = 0, set()
    mine = plain[plain["name"] == gid]
    assert sorted(set(mine["window_start"])) == gene_windows(gid)  # placement, written out
    for ws in gene_windows(gid):
        rows = mine[mine["window_start"] == ws]
        out_start = ws + OUT_OFFSET
        keep = np.zeros(N_BINS, dtype=bool)
        for s, e in ivs:
            a, b = max(0, s - out_start) / BIN, max(0, e - out_start) / BIN
            if rule == "majority":  # numpy rounds half to even, as Calico's map_snpseq_genes
                b0, b1 = np.round(a), np.round(b)
            else:
                b0, b1 = np.floor(a), np.ceil(b)
            b0, b1 = int(np.clip(b0, 0, N_BINS)), int(np.clip(b1, 0, N_BINS))
            keep[b0:b1] = True
        n_bins += int(keep.sum())
        for task, track in (("cage_plus", stranded), ("dnase", "dnase")):
            t = rows[rows["task"] == track].sort_values("bin")
            assert list(t["bin"]) == list(range(N_BINS))
            values[task] += float(t["value"].to_numpy(np.float64)[keep].sum())
        for s, e in ivs:
            inside |= set(range(max(s, out_start), min(e, out_start + SPAN)))
    if agg == "mean":
        values = {k: v / n_bins for k, v in values.items()}
    total = sum(e - s for s, e in ivs)
    return {
        "values": values,
        "gene_bins": n_bins,
        "windows": len(gene_windows(gid)),
        "covered": len(inside) / total,
        "chrom": chrom,
    }


@pytest.mark.parametrize(
    ("rule", "span", "agg", "flags"),
    [
        ("majority", False, "sum", ()),
        ("majority", False, "mean", ()),
        ("any", True, "sum", ()),
        ("majority", False, "sum", ("--rc", "--shifts", "1")),
    ],
    ids=["sum", "mean", "any-span", "rc-shifts"],
)
def test_gene_values_equal_sums_over_plain_bins(
    setup: dict, rule: str, span: bool, agg: str, flags: tuple[str, ...]
):
    extra = ["--gene-bins", rule] + (["--gene-span"] if span else []) + list(flags)
    if agg == "mean":
        extra += ["--aggregate", "mean"]
    if flags not in setup["plain"]:  # the plain run with the same augmentation
        setup["plain"][flags] = plain_run(setup, *flags)
    out = run_genes(setup, setup["d"] / f"genes-{rule}-{span}-{agg}-{len(flags)}.parquet", *extra)
    table = pq.read_table(out)
    assert table.column_names == [
        "gene_id",
        "gene_name",
        "gene_type",
        "chrom",
        "start",
        "end",
        "strand",
        "windows",
        "gene_bins",
        "covered",
        "task",
        "value",
    ]
    df = table.to_pandas()
    assert list(dict.fromkeys(df["gene_id"])) == SCORED  # skipped and missing genes absent
    assert set(df["task"]) == {"cage_plus", "dnase"}  # the pair is named by its '+' member
    for gid in SCORED:
        want = expected(setup["plain"][flags], gid, rule, span, agg)
        got = df[df["gene_id"] == gid].set_index("task")
        ex = merged_exons(gid)
        assert (got["start"].iloc[0], got["end"].iloc[0]) == (ex[0][0], ex[-1][1])
        assert got["chrom"].iloc[0] == want["chrom"]
        assert got["windows"].iloc[0] == want["windows"]
        assert got["gene_bins"].iloc[0] == want["gene_bins"]
        assert got["covered"].iloc[0] == pytest.approx(want["covered"])
        for task, value in want["values"].items():
            assert got.loc[task, "value"] == pytest.approx(value, rel=1e-5), (gid, task)
    assert df.loc[df.gene_id == "gLong.1", "windows"].iloc[0] == 4  # tiled
    assert df.loc[df.gene_id == "gLongM.3", "windows"].iloc[0] == 3
    assert (df["covered"] == 1.0).all()  # every gene lies inside its predicted spans


def test_metadata_records_gtf_checksum_and_options(setup: dict):
    import hashlib
    import json

    out = run_genes(setup, setup["d"] / "meta.parquet", "--untransform-mode", "calico")
    record = json.loads(pq.read_metadata(out).metadata[b"grelu"])
    genes = record["gene_expression"]
    assert genes["genes_sha256"] == hashlib.sha256(setup["gtf"].read_bytes()).hexdigest()
    assert genes["plus_tracks"] == ["cage_plus", "dnase"]
    assert genes["minus_tracks"] == ["cage_minus", "dnase"]
    assert record["options"]["gene_bins"] == "majority"
    assert record["options"]["untransform_mode"] == "calico"
    assert "gene_stats" not in record["options"]
    assert record["counts"]["genes_written"] == len(SCORED)
    assert record["counts"]["genes_skipped"] == 1
    assert record["output"]["layout"] == "genes"


def test_zarr_reads_back_as_parquet(setup: dict):
    import xarray as xr
    import zarr

    pqt = pd.read_parquet(run_genes(setup, setup["d"] / "z.parquet"))
    store = run_genes(setup, setup["d"] / "z.zarr")
    ds = xr.open_zarr(store)
    assert ds["value"].dims == ("gene", "task")
    assert list(ds["task"].values) == ["cage_plus", "dnase"]
    assert list(ds["gene_id"].values) == SCORED
    wide = pqt.pivot(index="gene_id", columns="task", values="value").loc[SCORED]
    np.testing.assert_array_equal(ds["value"].values, wide[["cage_plus", "dnase"]].to_numpy())
    assert list(ds["windows"].values) == list(pqt.drop_duplicates("gene_id")["windows"])
    assert zarr.open_group(str(store), mode="r").attrs["grelu"]["complete"] is True
    half = xr.open_zarr(run_genes(setup, setup["d"] / "h.zarr", "--dtype", "float16"))
    assert half["value"].dtype == np.float16
    np.testing.assert_allclose(half["value"].values, ds["value"].values, rtol=1e-3)


def _grelu(*args: object) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "grelu_cli", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


def test_shards_merge_and_resume_equal_a_plain_run(setup: dict):
    d, common = setup["d"], ["-m", setup["model"], "--genes", setup["gtf"]]
    common += ["--genome", setup["genome"], "--batch-size", "3"]
    plain = d / "sm-plain.parquet"
    assert _grelu("predict", *common, "-o", plain).returncode == 0
    shards = [d / f"sm-{i}.parquet" for i in range(3)]
    for i, s in enumerate(shards):
        r = _grelu("predict", *common, "--shard", f"{i}/3", "-o", s)
        assert r.returncode == 0, r.stderr
    genes_per_shard = [pd.read_parquet(s)["gene_id"].nunique() for s in shards]
    assert sum(genes_per_shard) == len(SCORED) and min(genes_per_shard) > 0
    merged = d / "sm-merged.parquet"
    r = _grelu("merge", *shards, "-o", merged)
    assert r.returncode == 0, r.stderr
    pd.testing.assert_frame_equal(pd.read_parquet(merged), pd.read_parquet(plain))
    mz = d / "sm-merged.zarr"
    assert _grelu("merge", *shards, "-o", mz).returncode == 0
    import xarray as xr

    assert list(xr.open_zarr(mz)["gene_id"].values) == SCORED
    resumed = d / "sm-resumed.parquet"
    r = _grelu("predict", *common, "--resume", "--chunk-windows", "3", "-o", resumed)
    assert r.returncode == 0, r.stderr
    pd.testing.assert_frame_equal(pd.read_parquet(resumed), pd.read_parquet(plain))
    before = resumed.stat().st_mtime_ns
    r = _grelu("predict", *common, "--resume", "--chunk-windows", "3", "-o", resumed)
    assert r.returncode == 0 and "already complete" in r.stderr
    assert resumed.stat().st_mtime_ns == before


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--bed", "x.bed"], "--genes and --bed given together"),
        (["--format", "bigwig"], "--format bigwig does not apply"),
        (["--layout", "wide"], "--layout wide does not apply"),
        (["--aggregate", "max"], "--aggregate max does not apply"),
        (["--tile"], "--tile with --genes"),
        (["--gene-bins", "half"], "--gene-bins"),
        (["--untransform-mode", "basenji"], "--untransform-mode"),
        (["--shard", "0/2", "-o", "x.zarr"], "a --genes shard writes parquet"),
    ],
)
def test_option_errors_exit_2(setup: dict, extra: list[str], needle: str):
    out = ["-o", str(setup["d"] / "err.parquet")] if "-o" not in extra else []
    r = _grelu(
        "predict",
        "-m",
        setup["model"],
        "--genes",
        setup["gtf"],
        "--genome",
        setup["genome"],
        *out,
        *extra,
    )
    assert r.returncode == 2, r.stderr
    assert needle in r.stderr
    assert not (setup["d"] / "err.parquet").exists()


def test_gene_options_without_genes_exit_2(setup: dict):
    r = _grelu(
        "predict",
        "-m",
        setup["model"],
        "--region",
        "chrA:1-200",
        "--genome",
        setup["genome"],
        "--gene-types",
        "lncRNA",
        "-o",
        setup["d"] / "err2.parquet",
    )
    assert r.returncode == 2 and "--gene-types given without --genes" in r.stderr


def test_bad_gtf_exit_3(setup: dict):
    bad = setup["d"] / "bad.gtf"
    bad.write_text('chrA\tt\texon\tten\t20\t.\t+\t.\tgene_id "x"; transcript_id "y";\n')
    out = setup["d"] / "bad.parquet"
    r = _grelu(
        "predict", "-m", setup["model"], "--genes", bad, "--genome", setup["genome"], "-o", out
    )
    assert r.returncode == 3, r.stderr
    assert "bad.gtf" in r.stderr and not out.exists()


def test_dry_run_reports_genes(setup: dict):
    r = _grelu(
        "predict",
        "-m",
        setup["model"],
        "--genes",
        setup["gtf"],
        "--genome",
        setup["genome"],
        "--gene-ids",
        "gP1,LONG,gLongM,nosuch",
        "-o",
        setup["d"] / "dry.parquet",
        "--dry-run",
    )
    assert r.returncode == 0, r.stderr
    text = r.stdout + r.stderr
    assert "8 in" in text and "3 selected" in text and "1 skipped" in text
    assert "skipped gBad.1" in text
    assert "nosuch" in text
    assert "8 windows" in text and "2 longer than the output span" in text
    assert not (setup["d"] / "dry.parquet").exists()


def test_dry_run_reports_missing_chromosomes(setup: dict):
    r = _grelu(
        "predict",
        "-m",
        setup["model"],
        "--genes",
        setup["gtf"],
        "--genome",
        setup["genome"],
        "-o",
        setup["d"] / "dry2.parquet",
        "--dry-run",
    )
    assert r.returncode == 0, r.stderr
    assert "chromosomes not in the genome" in r.stdout + r.stderr and "chrZ" in r.stdout + r.stderr


def test_json_log_reports_gene_counts(setup: dict):
    import json

    r = _grelu(
        "predict", "-m", setup["model"], "--genes", setup["gtf"], "--genome", setup["genome"],
        "-o", setup["d"] / "log.parquet", "--log-format", "json",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    events = [json.loads(line) for line in r.stderr.splitlines()]
    assert events[0]["event"] == "start" and events[0]["genes"] == str(setup["gtf"])
    summary = events[-1]
    assert summary["event"] == "summary"
    assert summary["genes_written"] == len(SCORED) and summary["genes_skipped"] == 1


def test_killed_resume_continues_to_the_plain_output(setup: dict, tmp_path: Path):
    """SIGKILL a --resume run after some chunks are committed; --resume again finishes it,
    equal row for row to one plain run (chunks hold whole genes)."""
    import os
    import signal
    import time

    rng = np.random.default_rng(1)
    lines = []
    for i in range(600):  # short and long genes on both strands
        chrom, size = ("chrA", 3000) if i % 2 else ("chrB", 1500)
        s = int(rng.integers(0, size - 500))
        e = s + int(rng.integers(20, 450))
        strand = "+-"[i % 3 == 0]
        attrs = f'gene_id "r{i}"; transcript_id "r{i}t";'
        lines.append(f"{chrom}\tt\texon\t{s + 1}\t{e}\t.\t{strand}\t.\t{attrs}")
    gtf = tmp_path / "many.gtf"
    gtf.write_text("\n".join(lines) + "\n")
    common = ["-m", setup["model"], "--genes", gtf, "--genome", setup["genome"]]
    common += ["--batch-size", "2"]
    plain = tmp_path / "plain.parquet"
    assert _grelu("predict", *common, "-o", plain).returncode == 0
    out = tmp_path / "resumed.parquet"
    args = [*common, "--resume", "--chunk-windows", "4", "-o", out]
    proc = subprocess.Popen(
        [sys.executable, "-m", "grelu_cli", "predict", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    parts = tmp_path / ".resumed.parquet.partial.parts"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if parts.is_dir() and len(list(parts.glob("part-*.parquet"))) >= 5:
            break
        assert proc.poll() is None, "finished before the kill: use more genes"
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    assert not out.exists()
    r = _grelu("predict", *args)
    assert r.returncode == 0, r.stderr
    assert "already done" in r.stderr  # it continued from the committed chunks
    pd.testing.assert_frame_equal(pd.read_parquet(out), pd.read_parquet(plain))


def test_resume_refuses_a_finished_output_of_other_options(setup: dict):
    out = run_genes(setup, setup["d"] / "other.parquet")
    before = out.read_bytes()
    r = _grelu(
        "predict", "-m", setup["model"], "--genes", setup["gtf"], "--genome", setup["genome"],
        "-o", out, "--resume", "--aggregate", "mean",
    )  # fmt: skip
    assert r.returncode == 2 and "--aggregate" in r.stderr, r.stderr
    assert out.read_bytes() == before


def test_merge_of_an_unsharded_gene_store_names_it(setup: dict):
    store = run_genes(setup, setup["d"] / "whole.zarr")
    r = _grelu("merge", store, "-o", setup["d"] / "whole.parquet")
    assert r.returncode == 3 and "is not a shard" in r.stderr, r.stderr


def test_python_api(setup: dict):
    from grelu_cli import api
    from grelu_cli.errors import ArgumentError

    out = setup["d"] / "api.parquet"
    summary = api.predict(
        model=setup["model"], genes=setup["gtf"], genome=setup["genome"], output=out,
        gene_types=["lncRNA"],
    )  # fmt: skip
    assert summary.counts["genes_written"] == 1 and "1 gene (" in summary.line()
    assert set(pd.read_parquet(out)["gene_name"]) == {"MONE"}
    report = api.check(model=setup["model"], genes=setup["gtf"], genome=setup["genome"])
    assert report.ok and any("windows" in line for line in report.lines)
    with pytest.raises(ArgumentError, match="genes= does not apply"):
        next(api.predict_arrays(model=setup["model"], genes=setup["gtf"], genome=setup["genome"]))
