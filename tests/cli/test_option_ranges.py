"""Issue 20, item 4: every numeric option of ``grelu predict`` and ``grelu variants`` has a
documented range (``grelu_cli.run.limits.RANGES``) checked before work starts: exit 2 naming
the option, the value and the range. Most of these runs name a model that does not exist, so
an exit 2 (not the missing model's 4) proves the check comes before the model load; on main
``--shifts 1000000000`` grew to 24 GB, ``--pseudocount nan`` made every log2fc NaN."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grelu_cli.errors import UsageError
from grelu_cli.run import limits
from grelu_cli.run.limits import RANGES, check_options, check_value, check_window
from tests.cli.predict_helpers import SEQ_LEN, Env, invoke, make_genome, one_error_line

VCF = (
    "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
    "chrA\t150\tv1\tA\tG\t.\t.\t.\n"
)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("ranges")
    genome = make_genome(root / "genome")
    bed = root / "r.bed"
    bed.write_text("chrA\t100\t300\n")
    vcf = root / "v.vcf"
    vcf.write_text(VCF)
    return {
        "genome": genome,
        "bed": bed,
        "vcf": vcf,
        "model": root / "missing.ckpt",
        "out": root / "out",
    }


def predict(files, *args: str):
    f = files
    return invoke(
        "predict",
        "-m",
        f["model"],
        "--bed",
        f["bed"],
        "-g",
        f["genome"],
        "-o",
        f["out"] / "p.parquet",
        "--dry-run",
        *args,
    )


def variants(files, *args: str):
    f = files
    return invoke(
        "variants",
        "-m",
        f["model"],
        "--vcf",
        f["vcf"],
        "-g",
        f["genome"],
        "-o",
        f["out"] / "e.parquet",
        "--dry-run",
        *args,
    )


# ----------------------------------------------------------------------------- the data


@pytest.mark.parametrize("key", sorted(RANGES))
def test_each_range_is_inclusive_and_refuses_just_outside(key):
    rng = RANGES[key]
    check_value(key, rng.lo)
    check_value(key, rng.hi if math.isfinite(rng.hi) else 1e300)
    for bad in (rng.lo - 1, rng.hi + 1, math.nan, math.inf):
        with pytest.raises(UsageError) as err:
            check_value(key, bad)
        assert err.value.exit_code == 2
        assert str(err.value).startswith(f"{limits.option_name(key)} {bad} is out of range")


def test_threads_are_bounded_by_the_cpu_count():
    assert RANGES["threads"].hi == 4 * limits.CPU_COUNT >= 4
    check_options({"threads": limits.CPU_COUNT})
    with pytest.raises(UsageError, match=r"--threads 100000 is out of range: allowed 1\.\."):
        check_options({"threads": 100_000})


def test_window_bounds_shifts():
    check_window(200, 199)
    with pytest.raises(UsageError, match=r"--shifts 200 is out of range for windows of 200 bp"):
        check_window(200, 200)
    with pytest.raises(UsageError, match="--seq-len"):
        check_window(limits.SEQ_LEN_MAX + 1, 0)


def test_batch_size_auto_or_bounded():
    check_options({"batch_size": "auto"})
    check_options({"batch_size": "64"})
    with pytest.raises(UsageError, match=r"--batch-size 1000000 is out of range"):
        check_options({"batch_size": "1000000"})


# ----------------------------------------------------------------------------- the CLI


@pytest.mark.parametrize(
    ("args", "shown"),
    [
        (("--shifts", "1000000000"), "--shifts 1000000000 is out of range: allowed 0..16,777,215"),
        (("--shifts", "-1"), "--shifts -1"),
        (("--threads", "100000"), "--threads 100000 is out of range"),
        (("--threads", "0"), "--threads 0 is out of range"),
        (
            ("--seq-len", "10000000000"),
            "--seq-len 10000000000 is out of range: allowed 1..16,777,216",
        ),
        (("--batch-size", "99999999"), "--batch-size 99999999 is out of range: allowed 1..65,536"),
        (("--num-workers", "100000"), "--num-workers 100000 is out of range"),
        (("--chunk-windows", "99999999999"), "--chunk-windows 99999999999 is out of range"),
        (("--bins", "99999999999"), "--bins 99999999999 is out of range"),
        (("--replicate", "99999999999999999999"), "--replicate 99999999999999999999 is out"),
        (
            ("--seq-len", "100", "--shifts", "100"),
            "--shifts 100 is out of range for windows of 100 bp",
        ),
    ],
)
def test_predict_refuses_out_of_range_options_before_the_model(files, args, shown):
    result = predict(files, *args)
    assert result.exit_code == 2, result.output
    assert shown in one_error_line(result)


@pytest.mark.parametrize(
    ("args", "shown"),
    [
        (("--pseudocount", "nan"), "--pseudocount nan is out of range: allowed a finite number"),
        (("--pseudocount", "inf"), "--pseudocount inf is out of range"),
        (("--pseudocount", "-1"), "--pseudocount -1.0"),
        (("--max-indel-len", "99999999999"), "--max-indel-len 99999999999 is out of range"),
        (("--chunk-records", "99999999999"), "--chunk-records 99999999999 is out of range"),
        (("--shifts", "1000000000"), "--shifts 1000000000 is out of range"),
        (("--threads", "100000"), "--threads 100000 is out of range"),
        (("--seq-len", "10000000000"), "--seq-len 10000000000 is out of range"),
    ],
)
def test_variants_refuses_out_of_range_options_before_the_model(files, args, shown):
    result = variants(files, *args)
    assert result.exit_code == 2, result.output
    assert shown in one_error_line(result)


def test_seq_len_is_bounded_by_the_longest_indexed_chromosome(files, tmp_path):
    genome = make_genome(tmp_path / "g")  # chrA, the longest, is 3,000 bp
    assert not Path(f"{genome}.fai").exists()
    f = {**files, "genome": genome}
    assert predict(f, "--seq-len", "3001").exit_code == 4  # no index yet: the model load fails
    from grelu_cli.genome.genome import ensure_index

    ensure_index(str(genome))
    result = predict(f, "--seq-len", "3001")
    assert result.exit_code == 2
    assert "--seq-len 3,001 is longer than the longest chromosome of --genome" in result.stderr
    assert "(chrA, 3,000 bp)" in result.stderr
    assert "does not exist" in one_error_line(predict(f, "--seq-len", "3000"))  # the model
    assert variants(f, "--seq-len", "3001").exit_code == 2


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> Env:
    return Env(tmp_path_factory.mktemp("ranges_model"))


def test_shifts_must_be_shorter_than_the_models_window(env, tmp_path):
    """The bound that needs the model: its 200 bp window is known only after the load."""
    bed = env.bed("one.bed", [("chrA", 100, 300, "a", 0, "+")])
    base = ["-m", env.model, "--bed", bed, "-g", env.genome, "-o", tmp_path / "p.parquet"]
    result = invoke("predict", *base, "--shifts", str(SEQ_LEN))
    assert result.exit_code == 2
    assert f"--shifts {SEQ_LEN} is out of range for windows of {SEQ_LEN} bp" in one_error_line(
        result
    )
    assert list(tmp_path.iterdir()) == []
    assert invoke("predict", *base, "--shifts", str(SEQ_LEN - 1), "--dry-run").exit_code == 0


# ----------------------------------------------------------------------------- fuzz

_PREDICT_NUMERIC = [
    "--shifts",
    "--threads",
    "--seq-len",
    "--batch-size",
    "--num-workers",
    "--chunk-windows",
    "--bins",
    "--replicate",
]
_VARIANT_NUMERIC = [
    "--shifts",
    "--threads",
    "--seq-len",
    "--batch-size",
    "--bins",
    "--replicate",
    "--pseudocount",
    "--max-indel-len",
    "--chunk-records",
]

_VALUES = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.integers(min_value=-3, max_value=300).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["nan", "inf", "-inf", "1e400", "auto", "", "0x10", "1_000", " 7"]),
    st.text(max_size=6),
)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_fuzzed_numeric_options_never_exit_1(files, data):
    """No exit 1 (internal error) and no run (exit 0) for any value of any numeric option:
    a usage error (2), or the missing model (4) when every value is in range."""
    command = data.draw(st.sampled_from(["predict", "variants"]))
    names = _PREDICT_NUMERIC if command == "predict" else _VARIANT_NUMERIC
    args: list[str] = []
    for name in data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=3)):
        args += [name, data.draw(_VALUES)]
    result = (predict if command == "predict" else variants)(files, *args)
    assert result.exit_code in (2, 4), (args, result.exit_code, result.output, result.exception)
