"""``grelu ism`` end to end (in-process CLI): the zarr delta against gReLU 1.1.0's goldens,
stores read back with zarr and xarray, parquet columns and values, bigWig read back with
pybigtools, ``--vcf`` window placement and ``--allele alt``, and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import zarr

from tests.cli.predict_helpers import invoke, listing, one_error_line

REF = Path(__file__).resolve().parents[1] / "data" / "reference"
GOLD = REF / "ism"
CKPT = REF / "checkpoints" / "conv_poisson.ckpt"
DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo"
PARQUET_COLUMNS = [
    "name",
    "chrom",
    "start",
    "end",
    "strand",
    "window_start",
    "window_end",
    "position",
    "pos",
    "ref_base",
    "alt_base",
    "task",
    "ref_value",
    "alt_value",
    "delta",
]


def _ok(*args) -> None:
    result = invoke(*args)
    assert result.exit_code == 0, (result.exit_code, result.output, result.exception)


@pytest.fixture(scope="module")
def golden() -> tuple[dict, dict[str, np.ndarray]]:
    meta = json.loads((GOLD / "ism.json").read_text())
    with np.load(GOLD / "ism.npz") as z:
        return meta, {k: z[k] for k in z.files}


@pytest.fixture(scope="module")
def golden_fasta(golden, tmp_path_factory) -> Path:
    meta, _ = golden
    path = tmp_path_factory.mktemp("gold") / "seqs.fa"
    path.write_text("".join(f">s{i}\n{s}\n" for i, s in enumerate(meta["sequences"])))
    return path


@pytest.mark.parametrize("method", ["fast", "plain"])
def test_zarr_delta_equals_grelu_ism_predict(golden, golden_fasta, tmp_path, method):
    """gReLU's ISM_predict(compare_func="subtract") with Aggregate(mean): ours is the same
    within 1e-5 relative, NaN where gReLU has the exact 0 of the unmutated base."""
    meta, g = golden
    out = tmp_path / "ism.zarr"
    s, e = meta["start_pos"], meta["end_pos"]
    _ok(
        "ism",
        "-m",
        CKPT,
        "--fasta",
        golden_fasta,
        "--ism-start",
        s,
        "--ism-end",
        e,
        "--ism-method",
        method,
        "-q",
        "-o",
        out,
    )
    store = zarr.open_group(str(out), mode="r")
    record = store.attrs["grelu"]
    assert record["complete"] is True and record["ism"]["method"] == method
    delta = np.asarray(store["delta"])  # (region, position, base, task)
    for i, seq in enumerate(meta["sequences"]):
        gold = g[f"seq{i}/subtract"][0, :, :, :, 0]  # (P, 4, T)
        ref = np.array(["ACGT".index(c) for c in seq[s:e]])
        mine = delta[i]
        assert np.isnan(mine[np.arange(e - s), ref]).all()
        assert (gold[np.arange(e - s), ref] == 0).all()
        mine = np.where(np.isnan(mine), 0.0, mine)
        scale = float(np.abs(g[f"seq{i}/none"]).max())
        np.testing.assert_allclose(mine, gold, rtol=1e-5, atol=1e-5 * scale)
        assert list(np.asarray(store["ref"][i])) == list(seq[s:e])
        assert (np.asarray(store["pos"][i]) == -1).all()  # FASTA input: no genome position
        assert list(np.asarray(store["offset"][i])) == list(range(s, e))


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory) -> dict[str, Path]:
    """One demo region (a motif_a copy at chr1:12,831-12,843) in each format, fast ISM."""
    d = tmp_path_factory.mktemp("demo")
    base = [
        "ism",
        "-m",
        DEMO / "model.ckpt",
        "--region",
        "chr1:12,544-13,143",
        "-g",
        DEMO / "genome.fa",
        "--ism-width",
        "40",
        "-q",
    ]
    out = {"zarr": d / "ism.zarr", "parquet": d / "ism.parquet", "bigwig": d / "tracks"}
    _ok(*base, "-o", out["zarr"])
    _ok(*base, "-o", out["parquet"])
    _ok(*base, "--format", "bigwig", "-o", f"{out['bigwig']}/")
    return out


def test_zarr_reads_back_with_xarray(demo_runs):
    import xarray as xr

    ds = xr.open_zarr(demo_runs["zarr"])
    assert ds["delta"].dims == ("region", "position", "base", "task")
    assert list(ds["base"].values) == ["A", "C", "G", "T"]
    assert list(ds["task"].values) == ["motif_a", "motif_b"]
    assert ds.sizes["position"] == 40 and ds.sizes["region"] == 1
    assert ds["delta"].dtype == np.float32
    for name in ("ref", "pos", "offset", "name", "chrom", "window_start", "window_end"):
        assert name in ds.coords, name
    ref = [str(b) for b in ds["ref"].values[0]]
    pos = ds["pos"].values[0]
    assert (pos == ds["window_start"].values[0] + ds["offset"].values[0]).all()
    assert list(pos) == list(range(12543 + 280, 12543 + 320))  # the central 40 of 600 bp
    genome = "".join((DEMO / "genome.fa").read_text().split(">")[1].splitlines()[1:])
    assert ref == list(genome[pos[0] : pos[-1] + 1].upper())
    delta = ds["delta"].values[0]
    nan = np.isnan(delta[..., 0])
    assert nan.sum() == 40 and all(nan[p, "ACGT".index(b)] for p, b in enumerate(ref))
    assert np.isfinite(ds["target_ref"].values).all()
    assert ds.attrs["grelu"]["command"] == "ism"


def test_parquet_columns_and_values(demo_runs):
    table = pq.read_table(demo_runs["parquet"])
    assert table.column_names == PARQUET_COLUMNS
    df = table.to_pandas()
    assert len(df) == 40 * 3 * 2
    store = zarr.open_group(str(demo_runs["zarr"]), mode="r")
    delta = np.asarray(store["delta"])[0]
    offsets = list(np.asarray(store["offset"])[0])
    tasks = ["motif_a", "motif_b"]
    for row in df.itertuples():
        p, b, t = offsets.index(row.position), "ACGT".index(row.alt_base), tasks.index(row.task)
        assert row.delta == pytest.approx(float(delta[p, b, t]), abs=0)
        assert row.alt_value - row.ref_value == pytest.approx(row.delta, rel=1e-4, abs=1e-6)
        assert row.ref_base != row.alt_base
    # order: position, then base, then task
    key = list(zip(df.position, df.alt_base, df.task.map(tasks.index), strict=True))
    assert key == sorted(key)
    assert (df.pos == df.window_start + df.position).all()


def test_bigwig_is_minus_the_mean_delta(demo_runs):
    import pybigtools

    store = zarr.open_group(str(demo_runs["zarr"]), mode="r")
    delta = np.asarray(store["delta"])[0].astype(np.float64)  # (P, 4, T)
    pos = np.asarray(store["pos"])[0]
    expected = -np.nanmean(delta, axis=1)  # (P, T)
    for t, task in enumerate(["motif_a", "motif_b"]):
        bw = pybigtools.open(str(demo_runs["bigwig"] / f"{task}.bw"))
        got = np.asarray(bw.values("chr1", int(pos[0]), int(pos[-1]) + 1, fillna=None))
        np.testing.assert_allclose(got, expected[:, t], rtol=1e-6, atol=1e-7)
        before = np.asarray(bw.values("chr1", int(pos[0]) - 5, int(pos[0]), fillna=None))
        assert np.isnan(before).all()  # nothing written where nothing was mutated


def test_vcf_windows_as_variants_places_them_and_allele_alt(tmp_path):
    genome = "".join((DEMO / "genome.fa").read_text().split(">")[1].splitlines()[1:])
    pos1 = 20001  # 1-based POS
    ref = genome[pos1 - 1].upper()
    alt = next(b for b in "ACGT" if b != ref)
    vcf = tmp_path / "v.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        f"chr1\t{pos1}\tsnv1\t{ref}\t{alt}\t.\t.\t.\n"
    )
    seq_len = 1024
    for allele, base in (("ref", ref), ("alt", alt)):
        out = tmp_path / f"{allele}.zarr"
        _ok(
            "ism",
            "-m",
            DEMO / "model.ckpt",
            "--vcf",
            vcf,
            "-g",
            DEMO / "genome.fa",
            "--allele",
            allele,
            "--ism-width",
            "11",
            "-q",
            "-o",
            out,
        )
        store = zarr.open_group(str(out), mode="r")
        ws = int(np.asarray(store["window_start"])[0])
        assert ws == pos1 - (seq_len + 1) // 2  # start = pos - ceil(L/2)
        offsets = list(np.asarray(store["offset"])[0])
        at = offsets.index(pos1 - 1 - ws)
        assert pos1 - 1 - ws == (seq_len + 1) // 2 - 1  # first REF base at ceil(L/2) - 1
        assert str(np.asarray(store["ref"])[0][at]) == base
        assert np.asarray(store["pos"])[0][at] == pos1 - 1
        assert str(np.asarray(store["name"])[0]) == "snv1"


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--ism-start", "3"], "--ism-start and --ism-end go together"),
        (["--ism-method", "fast", "--rc"], "--ism-method fast"),
        (["--ism-score", "ratio"], "--ism-score"),
        (["--dtype", "float16", "-o", "x.parquet"], "--dtype float16"),
        (["--allele", "alt"], "--allele applies to --vcf"),
        (["--ism-width", "0"], "--ism-width"),
    ],
)
def test_option_errors_exit_2(tmp_path, extra, needle):
    out = ["-o", str(tmp_path / "x.zarr")] if "-o" not in extra else []
    args = [
        "ism",
        "-m",
        DEMO / "model.ckpt",
        "--region",
        "chr1:12,544-13,143",
        "-g",
        DEMO / "genome.fa",
        *out,
        *extra,
    ]
    if "-o" in extra:
        extra[extra.index("-o") + 1] = str(tmp_path / "x.parquet")
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert needle in one_error_line(result)
    assert listing(tmp_path) == {}


def test_bad_input_exits_3_and_leaves_nothing(tmp_path):
    bed = tmp_path / "r.bed"
    bed.write_text("chr9\t100\t200\tx\t0\t+\n")
    out = tmp_path / "o"
    out.mkdir()
    result = invoke(
        "ism",
        "-m",
        DEMO / "model.ckpt",
        "--bed",
        bed,
        "-g",
        DEMO / "genome.fa",
        "-o",
        out / "x.zarr",
    )
    assert result.exit_code == 3, result.output
    assert "chr9" in one_error_line(result)
    assert listing(out) == {}


def test_store_to_bigwig_with_merge_equals_a_bigwig_run(demo_runs, tmp_path):
    import pybigtools

    out = tmp_path / "tracks"
    _ok("merge", demo_runs["zarr"], "-o", f"{out}/")
    for task in ("motif_a", "motif_b"):
        a = pybigtools.open(str(out / f"{task}.bw"))
        b = pybigtools.open(str(demo_runs["bigwig"] / f"{task}.bw"))
        assert list(a.records("chr1")) == list(b.records("chr1"))


def test_float16_store_and_json_log(tmp_path):
    out = tmp_path / "h.zarr"
    args = [
        "ism",
        "-m",
        DEMO / "model.ckpt",
        "--region",
        "chr1:12,831-12,850",
        "-g",
        DEMO / "genome.fa",
        "--log-format",
        "json",
    ]
    result = invoke(*args, "--dtype", "float16", "-o", out)
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert events[0]["event"] == "start" and events[0]["command"] == "ism"
    summary = events[-1]
    assert summary["event"] == "summary" and summary["mutants"] == 60
    assert summary["method"] == "fast" and summary["mutants_per_s"] > 0
    store = zarr.open_group(str(out), mode="r")
    assert store["delta"].dtype == np.float16 and store.attrs["grelu"]["dtype"] == "float16"
    full = tmp_path / "f.zarr"
    assert invoke(*args, "-q", "-o", full).exit_code == 0
    np.testing.assert_array_equal(
        np.asarray(store["delta"]),
        np.asarray(zarr.open_group(str(full), mode="r")["delta"]).astype(np.float16),
    )


def test_dry_run_reports_the_plan_and_writes_nothing(tmp_path):
    result = invoke(
        "ism",
        "-m",
        DEMO / "model.ckpt",
        "--bed",
        DEMO / "regions.bed",
        "-g",
        DEMO / "genome.fa",
        "--ism-width",
        "30",
        "--shard",
        "1/4",
        "--dry-run",
        "-o",
        tmp_path / "x.zarr",
    )
    assert result.exit_code == 0, result.output
    assert "26 regions; up to 30 positions" in result.stdout
    assert "ISM method fast" in result.stdout and "shard 1/4: regions 7-14" in result.stdout
    assert listing(tmp_path) == {}


def test_bigwig_resume_equals_a_plain_bigwig_run(demo_runs, tmp_path):
    import pybigtools

    out = tmp_path / "tracks"
    _ok(
        "ism",
        "-m",
        DEMO / "model.ckpt",
        "--region",
        "chr1:12,544-13,143",
        "-g",
        DEMO / "genome.fa",
        "--ism-width",
        "40",
        "-q",
        "--format",
        "bigwig",
        "--resume",
        "-o",
        f"{out}/",
    )
    for task in ("motif_a", "motif_b"):
        a = pybigtools.open(str(out / f"{task}.bw"))
        b = pybigtools.open(str(demo_runs["bigwig"] / f"{task}.bw"))
        assert list(a.records("chr1")) == list(b.records("chr1"))
    assert sorted(p.name for p in tmp_path.rglob("*")) == sorted(
        ["tracks", "motif_a.bw", "motif_b.bw"]
    )


def test_resume_on_finished_outputs_keeps_them(demo_runs, tmp_path):
    """--resume on a finished store, parquet file or bigWig tracks: exit 0, nothing changed."""
    base = [
        "ism",
        "-m",
        DEMO / "model.ckpt",
        "--region",
        "chr1:12,544-13,143",
        "-g",
        DEMO / "genome.fa",
        "--ism-width",
        "40",
        "--resume",
    ]
    for fmt, path in demo_runs.items():
        before = listing(path) if path.is_dir() else {path.name: path.stat().st_mtime_ns}
        out = f"{path}/" if fmt == "bigwig" else path
        extra = ["--format", "bigwig"] if fmt == "bigwig" else []
        result = invoke(*base, *extra, "-o", out)
        assert result.exit_code == 0, (fmt, result.output)
        assert "already complete" in result.stderr, result.stderr
        after = listing(path) if path.is_dir() else {path.name: path.stat().st_mtime_ns}
        assert before == after, fmt


def _revcomp(seq: str) -> str:
    return seq.upper()[::-1].translate(str.maketrans("ACGTN", "TGCAN"))


@pytest.mark.parametrize("method", ["plain", "fast"])
def test_minus_strand_region_in_genome_orientation(tmp_path, method):
    """A '-' region (predicted reverse-complemented, as grelu predict does) reports positions
    and bases on the genome: the mutant (pos, base) must equal grelu predict on the
    reverse complement of the genome window with that base at pos. With --rc for plain ISM."""
    bed = tmp_path / "r.bed"
    bed.write_text("chr1\t12543\t13143\tr\t0\t-\n")
    out = tmp_path / "ism.zarr"
    rc = ["--rc"] if method == "plain" else []
    _ok(
        "ism",
        "-m",
        DEMO / "model.ckpt",
        "--bed",
        bed,
        "-g",
        DEMO / "genome.fa",
        "--ism-width",
        "6",
        "--ism-method",
        method,
        *rc,
        "-q",
        "-o",
        out,
    )
    store = zarr.open_group(str(out), mode="r")
    ws = int(np.asarray(store["window_start"])[0])
    genome = "".join((DEMO / "genome.fa").read_text().split(">")[1].splitlines()[1:])
    window = genome[ws : ws + 1024].upper()
    pos = np.asarray(store["pos"])[0]
    ref = [str(b) for b in np.asarray(store["ref"])[0]]
    assert ref == list(genome[pos[0] : pos[-1] + 1].upper())
    delta = np.asarray(store["delta"])[0]
    target_ref = np.asarray(store["target_ref"])[0]
    fa = tmp_path / "m.fa"
    picks = [(0, 0), (5, 2)]  # (position index, k-th non-reference base)
    records = []
    for p, k in picks:
        base = [b for b in "ACGT" if b != ref[p]][k]
        at = int(pos[p]) - ws
        records.append((p, base, window[:at] + base + window[at + 1 :]))
    fa.write_text("".join(f">m{i}\n{_revcomp(s)}\n" for i, (_, _, s) in enumerate(records)))
    pred = tmp_path / "m.parquet"
    _ok(
        "predict",
        "-m",
        DEMO / "model.ckpt",
        "--fasta",
        fa,
        "--aggregate",
        "mean",
        *rc,
        "-q",
        "-o",
        pred,
    )
    df = pq.read_table(pred).to_pandas()
    for i, (p, base, _) in enumerate(records):
        for t, task in enumerate(["motif_a", "motif_b"]):
            value = df[(df.name == f"m{i}") & (df.task == task)].value.item()
            got = target_ref[t] + delta[p, "ACGT".index(base), t]
            assert got == pytest.approx(value, rel=1e-4, abs=1e-6), (p, base, task)
