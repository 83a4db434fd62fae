"""``grelu variants --genes`` end to end against Calico's ``borzoi_sed.py`` (transcribed in
``calico_reference.py``): parquet values, ``--untransform-mode calico``, the h5 and zarr
layouts read back with h5py and xarray, background quantiles, the dry run and errors."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import xarray as xr

from grelu_cli.genes.calibrate import percentile_grid
from tests.cli.predict_helpers import invoke, metadata, one_error_line
from tests.genes import variant_case as vc

LEADING = [
    "chrom", "pos", "id", "ref", "alt", "allele", "variant_type", "ref_status",
    "window_start", "window_end", "padded", "gene_id", "gene_name", "gene_type",
    "gene_strand", "gene_bins", "task",
]  # fmt: skip
# Same float32 profiles on both sides: float64 rounding of tiny values only.
TOL = {"JS": (1e-5, 1e-13), "nD2": (1e-5, 1e-12), "nDi": (1e-5, 1e-12)}
# Float32 vs float64 untransform: absolute tolerances of the log and normalised statistics.
ROUNDING = {"logSED": 1e-6, "logD2": 1e-6, "nD2": 1e-7, "nDi": 1e-7, "JS": 1e-10}


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return vc.write_case(tmp_path_factory.mktemp("genes"))


def _variants(case: dict[str, Path], out: Path, *extra: str):
    return invoke(
        "variants", "-m", case["model"], "--vcf", case["vcf"], "-g", case["genome"],
        "--genes", case["gtf"], "-o", out, "--device", "cpu", *extra,
    )  # fmt: skip


def _run(case: dict[str, Path], out: Path, *extra: str) -> Path:
    result = _variants(case, out, *extra)
    assert result.exit_code == 0, (result.output, result.exception)
    return out


def _check_against_calico(df, expected, bins, names, float32_untransform: bool = False) -> None:
    """Our rows equal Calico's: same (variant, gene) pairs, tasks, bins and statistics. With
    ``float32_untransform`` our profiles went through a float32 untransform and Calico's
    through float64 numpy: each bin differs by float32 rounding, so the statistics are held
    to that (sums to 2e-6 of the gene's REF/ALT, logs and normalised ones absolutely)."""
    assert set(zip(df["id"], df["gene_id"], strict=True)) == set(expected)
    for (vid, gene), want in expected.items():
        sub = df[(df["id"] == vid) & (df["gene_id"] == gene)]
        assert list(sub["task"]) == names
        assert (sub["gene_bins"] == len(bins[(vid, gene)])).all(), (vid, gene)
        scale = np.maximum(np.abs(want["REF"]), np.abs(want["ALT"]))
        for s in vc.STATS:
            rtol, atol = TOL.get(s, (1e-6, 0.0))
            if float32_untransform:
                n = len(bins[(vid, gene)])  # logD1 adds one rounding error per bin
                rtol, atol = 1e-5, ROUNDING.get(s, 3e-7 * n if s == "logD1" else 2e-6 * scale)
            got = sub[s].to_numpy(np.float64)
            bad = np.abs(got - want[s]) > atol + rtol * np.abs(want[s])
            assert not bad.any(), (vid, gene, s, got, want[s])


def test_parquet_equals_calico(case: dict[str, Path]) -> None:
    out = _run(case, case["dir"] / "plain.parquet", "--gene-stats", ",".join(vc.STATS))
    table = pq.read_table(out)
    assert table.schema.names == [*LEADING, *vc.STATS]
    assert all(table.schema.field(s).type == pa.float32() for s in vc.STATS)
    df = table.to_pandas()
    expected, bins, names = vc.calico_scores(case, vc.predicted_profiles(case), False)
    assert names == vc.GENE_TASKS
    _check_against_calico(df, expected, bins, names)
    # both strands, overlapping genes, a gene cut by the span edge, a padded window
    assert {"+", "-"} <= set(df["gene_strand"])
    assert set(df["gene_id"]) >= {"G1.1", "G2.3", "G3.1", "G5.1", "G6.1", "G4.2"}
    assert "rsNone" not in set(df["id"])
    beta = df[df["gene_id"] == "G2.3"].iloc[0]
    assert (beta["gene_name"], beta["gene_type"], beta["gene_strand"]) == ("BETA", "lncRNA", "-")
    meta = metadata(out)
    assert meta["counts"]["no_gene"] == 1
    assert meta["genes"]["genes_skipped"] == 1 and "G7.1" in meta["genes"]["skipped"][0]
    assert len(meta["genes"]["gtf_sha256"]) == 64
    assert meta["options"]["genes"].endswith("genes.gtf")


def test_gene_span_equals_calico_span(case: dict[str, Path]) -> None:
    out = _run(
        case, case["dir"] / "span.parquet", "--gene-stats", ",".join(vc.STATS), "--gene-span"
    )
    df = pq.read_table(out).to_pandas()
    expected, bins, names = vc.calico_scores(case, vc.predicted_profiles(case), False, span=True)
    _check_against_calico(df, expected, bins, names)
    plain = pq.read_table(_run(case, case["dir"] / "exons.parquet")).to_pandas()
    assert (df["gene_bins"].sum() > plain["gene_bins"].sum()) and len(df) >= len(plain)


def test_untransform_mode_calico_with_rc_equals_untransform_preds1(case: dict) -> None:
    """Profiles averaged over the rc copies, then Calico's untransform (its order)."""
    out = case["dir"] / "calico.parquet"
    _run(case, out, "--gene-stats", ",".join(vc.STATS), "--untransform-mode", "calico", "--rc")
    df = pq.read_table(out).to_pandas()
    profiles = vc.predicted_profiles(case, "--rc")
    expected, bins, names = vc.calico_scores(case, profiles, True)
    # float32 torch untransform vs numpy float64: a few float32 ulps in each bin
    _check_against_calico(df, expected, bins, names, float32_untransform=True)
    for vid, gene in expected:  # REF and ALT (sums of positive values) to float32 precision
        sub = df[(df["id"] == vid) & (df["gene_id"] == gene)]
        for s in ("REF", "ALT"):
            np.testing.assert_allclose(sub[s], expected[(vid, gene)][s], rtol=2e-6)
    assert metadata(out)["options"]["untransform"] is True  # calico turns it on


def test_h5_layout_is_calicos(case: dict[str, Path]) -> None:
    stats = ["SED", "logSED", "JS", "REF"]
    h5 = _run(case, case["dir"] / "sed.h5", "--gene-stats", ",".join(stats))
    pq_out = _run(case, case["dir"] / "same.parquet", "--gene-stats", ",".join(stats))
    df = pq.read_table(pq_out).to_pandas()
    k = len(vc.GENE_TASKS)
    with h5py.File(h5, "r") as f:
        for name in ("si", "gene", "snp", "chr", "pos", "ref_allele", "alt_allele"):
            assert name in f, name
        assert [v.decode() for v in f["target_ids"][...]] == vc.GENE_TASKS
        assert [v.decode() for v in f["target_labels"][...]] == [
            "RNA liver +", "DNase K562", "CAGE lung +",
        ]  # fmt: skip
        pairs = df.iloc[::k]
        si = f["si"][...]
        assert [v.decode() for v in f["gene"][...]] == list(pairs["gene_id"])
        snp = [v.decode() for v in f["snp"][...]]
        assert [snp[i] for i in si] == list(pairs["id"])
        assert snp == list(dict.fromkeys(pairs["id"]))
        assert list(f["pos"][...]) == [int(df[df["id"] == s]["pos"].iloc[0]) for s in snp]
        assert f["pos"].dtype == np.uint32
        grid = percentile_grid()
        np.testing.assert_array_equal(f["percentiles"][...], grid)
        for s in stats:
            assert f[s].dtype == np.float16 and f[s].shape == (len(pairs), k)
            want16 = df[s].to_numpy(np.float32).reshape(-1, k).astype(np.float16)
            np.testing.assert_array_equal(f[s][...], want16)
        assert "REF_pct" not in f  # Calico leaves REF and ALT out
        pct = np.percentile(f["JS"][...], 100 * grid, axis=0).T.astype(np.float16)
        np.testing.assert_array_equal(f["JS_pct"][...], pct)
        assert json.loads(f.attrs["grelu"])["output"]["format"] == "h5"


def test_zarr_pairs_and_percentiles(case: dict[str, Path]) -> None:
    stats = ["logSED", "D1", "ALT"]
    store = _run(case, case["dir"] / "sed.zarr", "--gene-stats", ",".join(stats))
    pq_out = _run(case, case["dir"] / "z.parquet", "--gene-stats", ",".join(stats))
    df = pq.read_table(pq_out).to_pandas()
    k = len(vc.GENE_TASKS)
    ds = xr.open_zarr(store)
    assert ds["logSED"].dims == ("pair", "task")
    assert list(ds["task"].values) == vc.GENE_TASKS
    pairs = df.iloc[::k].reset_index(drop=True)
    for col in ("gene_id", "gene_name", "gene_strand", "id", "chrom"):
        assert [str(v) for v in ds[col].values] == [str(v) for v in pairs[col]], col
    np.testing.assert_array_equal(ds["gene_bins"].values, pairs["gene_bins"].to_numpy())
    for s in stats:
        np.testing.assert_array_equal(ds[s].values, df[s].to_numpy(np.float32).reshape(-1, k))
    grid = percentile_grid()
    np.testing.assert_array_equal(ds["percentiles"].values, grid)
    for s in ("logSED", "D1"):
        want = np.percentile(ds[s].values, 100 * grid, axis=0).T.astype(np.float32)
        np.testing.assert_array_equal(ds[f"{s}_pct"].values, want)
        assert ds[f"{s}_pct"].dims == ("task", "percentile")
    assert "ALT_pct" not in ds
    assert ds.sel(task="DNASE:k562")["D1"].shape == (len(pairs),)


def test_background_quantiles(case: dict[str, Path]) -> None:
    bg = _run(case, case["dir"] / "bg.parquet", "--gene-stats", "SED,JS")
    bgdf = pq.read_table(bg).to_pandas()
    out = _run(case, case["dir"] / "q.parquet", "--gene-stats", "JS,SED", "--background", bg)
    df = pq.read_table(out).to_pandas()
    assert list(df.columns[-4:]) == ["JS", "SED", "JS_quantile", "SED_quantile"]
    for s in ("SED", "JS"):
        for task in vc.GENE_TASKS:
            b = np.abs(bgdf[bgdf["task"] == task][s].to_numpy(np.float32))
            rows = df[df["task"] == task]
            want = [(b < abs(x)).mean() for x in rows[s].to_numpy(np.float32)]
            np.testing.assert_allclose(rows[f"{s}_quantile"], want, rtol=0, atol=1e-7)
    # a zarr background (float32, as parquet) gives the same quantiles; an h5 one (float16)
    # the quantiles among its rounded values
    zbg = _run(case, case["dir"] / "bg.zarr", "--gene-stats", "SED,JS")
    zq = _run(case, case["dir"] / "zq.parquet", "--gene-stats", "JS,SED", "--background", zbg)
    assert pq.read_table(zq).equals(pq.read_table(out))
    hbg = _run(case, case["dir"] / "bg.h5", "--gene-stats", "SED,JS")
    hq = pq.read_table(
        _run(case, case["dir"] / "hq.parquet", "--gene-stats", "SED", "--background", hbg)
    ).to_pandas()
    with h5py.File(hbg, "r") as f:
        b16 = np.abs(f["SED"][...].astype(np.float32))
    for j, task in enumerate(vc.GENE_TASKS):
        rows = hq[hq["task"] == task]
        want = [(b16[:, j] < abs(x)).mean() for x in rows["SED"].to_numpy(np.float32)]
        np.testing.assert_allclose(rows["SED_quantile"], want, rtol=0, atol=1e-7)
    bad = _variants(case, case["dir"] / "x.parquet", "--gene-stats", "D2", "--background", bg)
    assert bad.exit_code == 3
    assert "lacks statistics D2" in one_error_line(bad)
    assert not (case["dir"] / "x.parquet").exists()
    few = _run(case, case["dir"] / "few.parquet", "--gene-stats", "SED", "--tasks", "DNASE:k562")
    bad = _variants(case, case["dir"] / "x.parquet", "--gene-stats", "SED", "--background", few)
    assert bad.exit_code == 3
    assert "lacks tasks RNA:liver+, CAGE:lung+" in one_error_line(bad)


def test_dry_run_reports_the_annotation(case: dict[str, Path]) -> None:
    result = invoke(
        "variants", "-m", case["model"], "--vcf", case["vcf"], "-g", case["genome"],
        "--genes", case["gtf"], "--gene-ids", "ALPHA,G3,NOPE", "--dry-run",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    text = result.output
    assert "genes: " in text and "2 selected, 1 skipped" in text
    assert "skip gene: G7.1 (BAD): its exons are on more than one chromosome: chr2, chr3" in text
    assert "--gene-ids matching no gene: NOPE" in text
    assert "alleles with no gene in their output span (not scored): 2" in text  # rsC, rsNone


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--bins", "4"], "--bins"),
        (["--aggregate", "sum"], "--aggregate"),
        (["--scores", "diff,log2fc"], "--scores"),
        (["--layout", "wide"], "--layout"),
        (["--gene-stats", "SED,BOGUS"], "BOGUS"),
        (["--gene-bins", "half"], "--gene-bins"),
        (["--untransform-mode", "basenji"], "--untransform-mode"),
        (["--tasks", "RNA:liver+,DNASE:k562"], "strand pair 'RNA:liver-' is not"),
    ],
)
def test_option_errors_exit_2(case: dict[str, Path], extra: list[str], needle: str) -> None:
    out = case["dir"] / "err.parquet"
    result = _variants(case, out, *extra)
    assert result.exit_code == 2, result.output
    assert needle in one_error_line(result)
    assert not out.exists()


def test_h5_without_genes_and_h5_shards_are_usage_errors(case: dict[str, Path]) -> None:
    out = case["dir"] / "plain.h5"
    result = invoke(
        "variants", "-m", case["model"], "--vcf", case["vcf"], "-g", case["genome"], "-o", out
    )
    assert result.exit_code == 2 and "add --genes" in one_error_line(result)
    result = _variants(case, out, "--shard", "0/2")
    assert result.exit_code == 2 and "--shard" in one_error_line(result)
    assert not out.exists()


def test_bad_gtf_line_exit_3(case: dict[str, Path]) -> None:
    bad = case["dir"] / "bad.gtf"
    lines = case["gtf"].read_text().splitlines()
    lines.insert(3, 'chr1\tTEST\texon\t50\tten\t.\t+\t.\tgene_id "X";')
    bad.write_text("\n".join(lines) + "\n")
    out = case["dir"] / "bad.parquet"
    result = invoke(
        "variants", "-m", case["model"], "--vcf", case["vcf"], "-g", case["genome"],
        "--genes", bad, "-o", out,
    )  # fmt: skip
    assert result.exit_code == 3, result.output
    line = one_error_line(result)
    assert "bad.gtf" in line and "line 4" in line
    assert not out.exists()


def test_api_equals_cli(case: dict[str, Path]) -> None:
    from grelu_cli import api

    cli_out = _run(case, case["dir"] / "cli.parquet", "--gene-stats", "SED,nDi", "--gene-span")
    api_out = case["dir"] / "api.parquet"
    summary = api.variants(
        model=case["model"], vcf=case["vcf"], genome=case["genome"], output=api_out,
        genes=case["gtf"], gene_stats=["SED", "nDi"], gene_span=True, device="cpu",
    )  # fmt: skip
    assert summary.counts["no_gene"] == 1 and "1 with no gene" in summary.line()
    assert pq.read_table(api_out).equals(pq.read_table(cli_out))
    check = api.check_variants(
        model=case["model"], vcf=case["vcf"], genome=case["genome"], genes=case["gtf"]
    )
    assert check.ok and check.counts["no_gene"] == 1
