"""The Python API's signatures and its checks at the boundary (issue 20 "The Python API",
issue 21 item 1).

On main the API took ``**options: object`` (no signature for ``help()`` or an IDE); a typo
was Python's ``TypeError: job() got an unexpected keyword argument 'genom'``; ``rc='no'`` ran
*with* reverse complement and recorded ``'no'``; ``shifts='2'`` failed deep inside. Every
function now shows the options of its command (names and defaults equal the CLI's: checked
against the Typer commands below) and checks every call against the annotations."""

from __future__ import annotations

import contextlib
import inspect
import math
import typing
from pathlib import Path

import numpy as np
import pytest
import typer.main
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grelu_cli import api
from grelu_cli.cli.app import app
from grelu_cli.errors import ArgumentError, GreluCliError, UsageError
from grelu_cli.run.observer import SilentObserver

PREDICT_FUNCS = [api.job, api.check, api.predict, api.predict_arrays]
VARIANT_FUNCS = [api.variants_job, api.check_variants, api.variants]
CLI_ONLY = {"dry_run", "quiet", "log_format"}  # what the CLI renders, not the job
API_ONLY = {"observer"}  # where the API reports what the CLI renders
RENAMED = {"fmt": "format", "compile_model": "compile"}  # Python names of --format/--compile


def _cli_options(command: str) -> dict[str, object]:
    """``grelu COMMAND``'s options by their keyword name -> CLI default."""
    cmd = typer.main.get_command(app).commands[command]  # type: ignore[attr-defined]
    out = {}
    for p in cmd.params:
        if p.name in CLI_ONLY:
            continue
        long = max(p.opts, key=len).lstrip("-").replace("-", "_")
        assert long == RENAMED.get(p.name, p.name), p.opts
        out[long] = p.default
    return out


@pytest.mark.parametrize(
    ("command", "funcs"), [("predict", PREDICT_FUNCS), ("variants", VARIANT_FUNCS)]
)
def test_signatures_are_the_commands_options_with_their_defaults(command, funcs):
    cli = _cli_options(command)
    for func in funcs:
        params = inspect.signature(func).parameters
        assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params.values()), func
        assert set(params) - API_ONLY == set(cli), (func.__name__, set(params) ^ set(cli))
        for name, default in cli.items():
            got = params[name].default
            if name == "output" or (default is None and got in ((), inspect.Parameter.empty)):
                continue  # required by the CLI / repeatable: () is None
            if name == "model" or (command == "variants" and name in ("vcf", "genome")):
                assert got is inspect.Parameter.empty
                continue
            assert got == default, (func.__name__, name, got, default)
        assert params["model"].annotation is not inspect.Parameter.empty
        # observer= only where the job runs (job(), check() refuse it)
        runs = func in (api.predict, api.predict_arrays, api.variants)
        assert ("observer" in params) is runs, func.__name__


def test_only_the_functions_that_run_a_job_take_an_observer():
    for func in (api.job, api.check, api.variants_job, api.check_variants):
        with pytest.raises(ArgumentError, match=r"takes no observer="):
            func(**_required(func), observer=SilentObserver())
    with pytest.raises(ArgumentError, match=r"observer=3 is an int, not a RunObserver or None"):
        api.predict(model="m.ckpt", output="o.parquet", observer=3)  # type: ignore[arg-type]


def test_help_shows_every_option_with_its_default():
    text = inspect.getdoc(api.variants) or ""
    assert "grelu variants" in text or "variants_job" in text
    shown = str(inspect.signature(api.variants))
    assert "chunk_records: int = 4096" in shown and "max_indel_len: int | None = 50" in shown
    assert "rc: bool = False" in str(inspect.signature(api.predict))
    assert "pathlib.Path" in shown and "_PathLike" not in shown


def _required(func) -> dict[str, str]:
    if func in PREDICT_FUNCS:
        return {"model": "m.ckpt"}
    return {"model": "m.ckpt", "vcf": "v.vcf", "genome": "g.fa"}


@pytest.mark.parametrize("func", PREDICT_FUNCS + VARIANT_FUNCS)
def test_unknown_names_name_the_closest_valid_one(func):
    with pytest.raises(ArgumentError) as err:
        func(**_required(func), genom="g.fa")
    e = err.value
    assert isinstance(e, UsageError) and isinstance(e, TypeError) and e.exit_code == 2
    assert str(e).startswith(f"{func.__name__}() has no option 'genom' (did you mean genome=?")
    chunk = "chunk_windows" if func in PREDICT_FUNCS else "chunk_records"
    with pytest.raises(ArgumentError, match=f"did you mean {chunk}="):
        func(**_required(func), **{chunk.replace("_", "-"): 1})
    if func in PREDICT_FUNCS:
        with pytest.raises(ArgumentError, match=r"has no option 'vcf'"):
            func(model="m.ckpt", vcf="v.vcf")


@pytest.mark.parametrize(
    ("kwargs", "shown"),
    [
        ({"rc": "no"}, "rc='no' is a str, not True or False"),
        ({"rc": 1}, "rc=1 is an int, not True or False"),
        ({"shifts": "2"}, "shifts='2' is a str, not an int"),
        ({"shifts": True}, "shifts=True is a bool, not an int"),
        ({"shifts": 1.5}, "shifts=1.5 is a float, not an int"),
        ({"region": ["chr1:1-10", 3]}, "region=['chr1:1-10', 3] is a list of int, str"),
        ({"tasks_file": 3}, "tasks_file=3 is an int, not a str, a path or None"),
        ({"tasks": {"a"}}, "tasks={'a'} is a set"),
        ({"overwrite": None}, "overwrite=None is a NoneType, not True or False"),
        ({"batch_size": 2.0}, "batch_size=2.0 is a float, not an int or a str"),
    ],
)
def test_wrong_types_name_the_parameter_and_the_type(kwargs, shown):
    for func in (api.job, api.variants_job):
        with pytest.raises(ArgumentError) as err:
            func(**{**_required(func), **kwargs})
        assert f"{func.__name__}(): {shown}" in str(err.value)
        assert f"help(grelu_cli.api.{func.__name__})" in str(err.value)


def test_missing_and_positional_arguments():
    with pytest.raises(ArgumentError, match=r"job\(\) needs model=\.\.\. \(a str or a path\)"):
        api.job()
    with pytest.raises(ArgumentError, match=r"variants_job\(\) needs vcf="):
        api.variants_job(model="m")
    with pytest.raises(ArgumentError, match="keyword arguments only"):
        api.predict("m.ckpt")  # type: ignore[misc]
    with pytest.raises(ArgumentError, match=r"predict\(\) needs output="):
        api.predict(model="m.ckpt")
    gen = None
    with pytest.raises(ArgumentError):  # checked at the call, not at the first next()
        gen = api.predict_arrays(model="m.ckpt", rc="yes")  # type: ignore[arg-type]
    assert gen is None


def test_good_values_pass_and_are_normalised(tmp_path):
    job = api.job(
        model=Path("m.ckpt"),
        bed=tmp_path / "r.bed",
        output=tmp_path / "o.parquet",
        shifts=np.int64(2),
        region="chr1:1-100",
        param="n_tasks=2",
        arch="ConvModel",
        tasks="a,b",
        devices=["cpu", "cpu"],
    )
    assert job.predict.shifts == 2 and type(job.predict.shifts) is int
    assert job.input.region == ("chr1:1-100",) and job.model.param == ("n_tasks=2",)
    assert job.predict.tasks == ("a", "b") and job.run.devices == "cpu,cpu"
    v = api.variants_job(model="m", vcf="v.vcf", genome="g.fa", pseudocount=1, scores=["diff"])
    assert v.variant.pseudocount == 1.0 and type(v.variant.pseudocount) is float
    assert v.variant.max_indel_len == 50 and v.variant.scores == ("diff",)


# ----------------------------------------------------------------------------- fuzz

_JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.lists(st.one_of(st.text(max_size=4), st.integers()), max_size=3),
    st.binary(max_size=3),
    st.sampled_from([math.nan, (), {}, object(), Path("x"), np.int32(3), np.float32(0.5)]),
)


st.register_type_strategy(Path, st.builds(Path, st.text(max_size=8)))  # any path, not Path()


def _value(func, name: str):
    """A value of the parameter's own type three times in four (to get past the type check
    to the checks behind it), anything otherwise."""
    hints = typing.get_type_hints(inspect.unwrap(func))
    if name not in hints:
        return _JUNK
    return st.one_of(
        st.from_type(hints[name]), st.from_type(hints[name]), st.from_type(hints[name]), _JUNK
    )


@pytest.fixture(scope="module")
def fixed(tmp_path_factory) -> dict[str, object]:
    """A model that does not exist (so no call gets past the model load), a real VCF and
    genome for the variants checks, which read the VCF first."""
    root = tmp_path_factory.mktemp("fuzz")
    vcf = root / "v.vcf"
    vcf.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
    genome = root / "g.fa"
    genome.write_text(">chrA\nACGTACGTAC\n")
    return {
        "model": str(root / "missing.ckpt"),
        "vcf": str(vcf),
        "genome": str(genome),
        "output": str(root / "out" / "o.parquet"),
    }


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_fuzzed_arguments_raise_only_library_errors(fixed, data):
    """Random names and values of any type into the cheap API paths: a result, or a
    GreluCliError subclass; never Python's TypeError, a KeyError or anything else."""
    func = data.draw(st.sampled_from([api.job, api.variants_job, api.check, api.check_variants]))
    names = [n for n in inspect.signature(func).parameters if n != "observer"]
    kwargs = {k: v for k, v in fixed.items() if k in names}
    # A check must not reach a real model (a random name could be a zoo model or a Hub
    # repo: never download) and check_variants reads the VCF and genome before the model.
    keep = {"model", "vcf", "genome"} if func is api.check_variants else {"model"}
    keep = keep if func in (api.check, api.check_variants) else set()
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        name = data.draw(st.sampled_from(names) | st.sampled_from(names) | st.text(max_size=10))
        if name not in keep:
            kwargs[name] = data.draw(_value(func, name))
    with contextlib.suppress(GreluCliError):  # anything else fails the test
        func(**kwargs)
