"""``grelu variants`` end to end: parquet read back with pyarrow, metadata, layouts, REF
policies, dry run, JSON logs, and one-line errors that leave nothing behind."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pysam
import pytest

from tests.cli.predict_helpers import invoke, listing, metadata, one_error_line
from tests.variants.helpers import REF, copy_genome

CKPT = REF / "checkpoints" / "conv_poisson.ckpt"
TASKS = ["dnase_k562", "cage_hepg2_plus", "cage_hepg2_minus"]
COLUMNS = [
    "chrom",
    "pos",
    "id",
    "ref",
    "alt",
    "allele",
    "variant_type",
    "ref_status",
    "window_start",
    "window_end",
    "padded",
    "task",
    "ref_value",
    "alt_value",
]


def _chr1() -> str:
    text = (REF / "inputs" / "genome.fa").read_text().split(">")[1]
    return "".join(text.splitlines()[1:])


def _other(base: str, k: int = 0) -> str:
    return [b for b in "ACGT" if b != base.upper()][k]


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    s = _chr1()
    rows = [
        ("chr1", 2001, "rs1", s[2000], f"{_other(s[2000])},{_other(s[2000], 1)}"),
        ("chr1", 3001, "del", s[3000:3003], s[3000]),
        ("chr1", 3201, "ins", s[3200], s[3200] + "GT"),
        ("chr1", 4001, "swap", _other(s[4000]), s[4000]),
        ("chr1", 4201, "mm", _other(s[4200]), _other(s[4200], 1)),
        ("chr1", 4401, "sym", s[4400], "<DEL>,*"),
    ]
    # (--ref-mismatch swap: the swapped one; its "ALT" is the genome base)
    lines = ["##fileformat=VCFv4.2", "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    lines += [f"{c}\t{p}\t{i}\t{r}\t{a}\t.\t.\t." for c, p, i, r, a in rows]
    vcf = tmp_path / "calls.vcf"
    vcf.write_text("\n".join(lines) + "\n")
    return {"vcf": vcf, "genome": copy_genome(tmp_path), "dir": tmp_path}


def _run(files: dict[str, Path], out: str, *extra: str):
    return invoke(
        "variants",
        "-m",
        CKPT,
        "--vcf",
        files["vcf"],
        "-g",
        files["genome"],
        "-o",
        files["dir"] / out,
        "--device",
        "cpu",
        *extra,
    )


def test_long_layout_columns_values_and_metadata(files: dict[str, Path]) -> None:
    result = _run(files, "out.parquet", "--scores", "diff,log2fc,sad")
    assert result.exit_code == 0, result.output
    table = pq.read_table(files["dir"] / "out.parquet")
    assert table.column_names == [*COLUMNS, "diff", "log2fc", "sad"]
    for name in ("ref_value", "alt_value", "diff", "log2fc", "sad"):
        assert str(table.schema.field(name).type) == "float"
    df = table.to_pandas()
    # rs1 (2 ALTs), del, ins scored; swapped and mismatched skipped (default), <DEL> and *.
    assert len(df) == 4 * len(TASKS)
    assert list(df.id.unique()) == ["rs1", "del", "ins"]
    assert df.task.tolist()[:3] == TASKS
    assert df.allele.tolist() == [1] * 3 + [2] * 3 + [1] * 6
    assert df.variant_type.unique().tolist() == ["snv", "del", "ins"]
    assert (df.ref_status == "match").all()
    assert (df.window_end - df.window_start == 64).all()
    assert (df.pos - 1 - df.window_start == 31).all()  # ceil(64/2) - 1
    np.testing.assert_allclose(df["diff"], df.alt_value - df.ref_value, atol=1e-6)
    np.testing.assert_allclose(df.log2fc, np.log2(df.alt_value / df.ref_value), atol=1e-5)
    # rs1's two ALTs share one reference prediction
    rs1 = df[df.id == "rs1"]
    np.testing.assert_array_equal(rs1.ref_value.values[:3], rs1.ref_value.values[3:])
    meta = metadata(files["dir"] / "out.parquet")
    counts = meta["counts"]
    assert counts["scored"] == 4 and counts["records"] == 6 and counts["alleles"] == 8
    assert counts["skipped_by_reason"]["ref_mismatch"] == 2
    assert counts["skipped_by_reason"]["symbolic"] == 1
    assert counts["skipped_by_reason"]["star"] == 1
    assert counts["ref_status"] == {"match": 4, "mismatch": 1, "swapped": 1}
    assert counts["windows"] == 3 + 4  # 3 reference windows, 4 alt windows
    assert meta["output"]["tasks"] == TASKS and meta["command"] == "variants"
    assert meta["variants"]["scores"] == ["diff", "log2fc", "sad"]
    assert meta["model"]["weights_sha256"] and meta["genome"]["index_sha256"]
    assert "warning:" in result.stderr and "scored 4 of 8 alleles" in result.stderr


def test_ref_mismatch_modes(files: dict[str, Path]) -> None:
    ok_warn = _run(files, "warn.parquet", "--ref-mismatch", "warn")
    assert ok_warn.exit_code == 0, ok_warn.output
    df = pq.read_table(files["dir"] / "warn.parquet").to_pandas()
    assert df.groupby("id").ref_status.first().to_dict() == {
        "rs1": "match",
        "del": "match",
        "ins": "match",
        "swap": "swapped",
        "mm": "mismatch",
    }
    assert _run(files, "swap.parquet", "--ref-mismatch", "swap").exit_code == 0
    sw = pq.read_table(files["dir"] / "swap.parquet").to_pandas()
    assert "mm" not in set(sw.id) and "swap" in set(sw.id)
    # swapped: the genome is the ALT window; scored with the same sign convention as warn,
    # which writes both alleles in (an SNV gives the same windows either way)
    a = df[df.id == "swap"][["ref_value", "alt_value"]].to_numpy()
    b = sw[sw.id == "swap"][["ref_value", "alt_value"]].to_numpy()
    np.testing.assert_allclose(a, b, rtol=1e-6)
    before = listing(files["dir"])
    result = _run(files, "err.parquet", "--ref-mismatch", "error")
    assert result.exit_code == 3
    line = one_error_line(result)
    assert "calls.vcf line 6: REF" in line and "look swapped" in line
    assert listing(files["dir"]) == before  # nothing left behind


def test_wide_layout(files: dict[str, Path]) -> None:
    assert _run(files, "wide.parquet", "--layout", "wide", "--scores", "diff").exit_code == 0
    long_ = _run(files, "long.parquet", "--scores", "diff")
    assert long_.exit_code == 0
    wide = pq.read_table(files["dir"] / "wide.parquet").to_pandas()
    long_df = pq.read_table(files["dir"] / "long.parquet").to_pandas()
    assert list(wide.columns[:11]) == COLUMNS[:11]
    assert list(wide.columns[11:14]) == [
        "dnase_k562_ref_value",
        "dnase_k562_alt_value",
        "dnase_k562_diff",
    ]
    assert len(wide) == 4
    np.testing.assert_array_equal(
        wide["cage_hepg2_minus_diff"].to_numpy(),
        long_df[long_df.task == "cage_hepg2_minus"]["diff"].to_numpy(),
    )


def test_table_and_indexed_vcf_inputs_give_the_same_rows(files: dict[str, Path]) -> None:
    assert _run(files, "vcf.parquet").exit_code == 0
    base = pq.read_table(files["dir"] / "vcf.parquet").to_pandas()
    # TSV table with the same records
    tsv = files["dir"] / "calls.tsv"
    rows = [ln.split("\t") for ln in files["vcf"].read_text().splitlines()[2:]]
    tsv.write_text("chrom\tpos\tid\tref\talt\n" + "".join("\t".join(r[:5]) + "\n" for r in rows))
    files_tsv = {**files, "vcf": tsv}
    assert _run(files_tsv, "tsv.parquet").exit_code == 0
    got = pq.read_table(files["dir"] / "tsv.parquet").to_pandas()
    np.testing.assert_array_equal(got["diff"].to_numpy(), base["diff"].to_numpy())
    # bgzipped + tabix, region query (POS 3001 and 3201 only)
    gz = pysam.tabix_index(str(files["vcf"]), preset="vcf", keep_original=True, force=True)
    files_gz = {**files, "vcf": Path(gz)}
    result = _run(files_gz, "region.parquet", "--region", "chr1:3,001-3,300")
    assert result.exit_code == 0, result.output
    got = pq.read_table(files["dir"] / "region.parquet").to_pandas()
    assert list(got.id.unique()) == ["del", "ins"]
    assert metadata(files["dir"] / "region.parquet")["input"]["indexed"] is True


def test_dry_run_lists_problems(files: dict[str, Path]) -> None:
    result = invoke(
        "variants", "-m", CKPT, "--vcf", files["vcf"], "-g", files["genome"], "--dry-run"
    )
    assert result.exit_code == 0, result.output
    assert "ref_mismatch" in result.stdout and "calls.vcf line 6" in result.stdout
    assert "ok: input is valid" in result.stdout
    bad = files["dir"] / "bad.vcf"
    bad.write_text(
        files["vcf"].read_text()
        + "chr9\t10\t.\tA\tG\t.\t.\t.\nchr1\t999999\t.\tA\tG\t.\t.\t.\nchr1\t5\t.\tX\tG\t.\t.\t.\n"
    )
    result = invoke("variants", "-m", CKPT, "--vcf", bad, "-g", files["genome"], "--dry-run")
    assert result.exit_code == 3
    out = result.stdout
    assert "bad.vcf line 9: chromosome 'chr9' is not in genome.fa" in out
    assert "bad.vcf line 10: POS runs past the end of chr1" in out
    assert "bad.vcf line 11: REF 'X' is not a DNA allele" in out
    assert "3 errors" in out


@pytest.mark.parametrize(
    ("append", "code", "match"),
    [
        ("chr1\t5\t.\tX\tG\t.\t.\t.\n", 3, r"calls\.vcf line 9: REF 'X' is not a DNA allele"),
        ("chr1\t0\t.\tA\tG\t.\t.\t.\n", 3, r"calls\.vcf line 9: POS 0 is not a position"),
        ("chr1\t7\n", 3, r"calls\.vcf line 9: 2 tab-separated columns"),
        ("1\t7\t.\tA\tG\t.\t.\t.\n", 3, r"chromosome '1' is not in genome\.fa.*chrom-alias auto"),
    ],
)
def test_bad_records_exit_3_and_leave_nothing(
    files: dict[str, Path], append: str, code: int, match: str
) -> None:
    import re

    files["vcf"].write_text(files["vcf"].read_text() + append)
    before = listing(files["dir"])
    result = _run(files, "out.parquet")
    assert result.exit_code == code, result.output
    assert re.search(match, one_error_line(result)), result.stderr
    assert listing(files["dir"]) == before


def test_usage_and_missing_resources(files: dict[str, Path]) -> None:
    assert _run(files, "o.parquet").exit_code == 0
    again = _run(files, "o.parquet")
    assert again.exit_code == 2 and "already exists" in one_error_line(again)
    assert _run(files, "o.parquet", "--overwrite").exit_code == 0
    assert _run(files, "x.parquet", "--scores", "nope").exit_code == 2
    assert _run(files, "x.parquet", "--scores", "logit_diff").exit_code == 2  # exp model
    assert _run(files, "x.parquet", "--ref-mismatch", "maybe").exit_code == 2
    missing = invoke(
        "variants",
        "-m",
        CKPT,
        "--vcf",
        files["dir"] / "no.vcf",
        "-g",
        files["genome"],
        "-o",
        files["dir"] / "y.parquet",
    )
    assert missing.exit_code == 4
    empty = files["dir"] / "empty.vcf"
    empty.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
    result = invoke(
        "variants",
        "-m",
        CKPT,
        "--vcf",
        empty,
        "-g",
        files["genome"],
        "-o",
        files["dir"] / "z.parquet",
    )
    assert result.exit_code == 3
    assert "empty.vcf has no variant records (check the file)" in one_error_line(result)
    assert not (files["dir"] / "z.parquet").exists()


def test_json_log(files: dict[str, Path]) -> None:
    result = _run(files, "j.parquet", "--log-format", "json")
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    assert events[0]["event"] == "start" and events[-1]["event"] == "summary"
    assert events[-1]["scored"] == 4
    progress = [e for e in events if e["event"] == "progress"]
    assert progress and progress[-1]["done"] == progress[-1]["total"] == 6  # records


def test_api_writes_what_the_cli_writes(files: dict[str, Path], capsys) -> None:
    from grelu_cli import api
    from grelu_cli.errors import UsageError

    result = _run(files, "cli.parquet", "--scores", "diff,log2fc", "--ref-mismatch", "swap")
    assert result.exit_code == 0, result.output
    capsys.readouterr()
    summary = api.variants(
        model=CKPT,
        vcf=files["vcf"],
        genome=files["genome"],
        output=files["dir"] / "api.parquet",
        scores=["diff", "log2fc"],
        ref_mismatch="swap",
        device="cpu",
    )
    assert capsys.readouterr() == ("", "")  # the library prints nothing
    a = pq.read_table(files["dir"] / "cli.parquet")
    b = pq.read_table(files["dir"] / "api.parquet")
    assert a.equals(b) and a.num_rows > 0
    ma, mb = metadata(files["dir"] / "cli.parquet"), metadata(files["dir"] / "api.parquet")
    for m in (ma, mb):
        m.pop("created")
        m["options"].pop("output")
        m.pop("output", None)
    assert ma == mb
    assert summary.files == [str(files["dir"] / "api.parquet")]
    assert summary.counts["scored"] == 5 and summary.counts["records"] == 6
    assert summary.warnings and "swapped" in summary.warnings[0]
    report = api.check_variants(model=CKPT, vcf=files["vcf"], genome=files["genome"])
    assert report.ok and any(line.startswith("skip:") for line in report.lines)  # skips
    with pytest.raises(UsageError, match="--ref-mismatch 'maybe' is not allowed"):
        api.variants(
            model=CKPT,
            vcf=files["vcf"],
            genome=files["genome"],
            output=files["dir"] / "x.parquet",
            ref_mismatch="maybe",
        )
