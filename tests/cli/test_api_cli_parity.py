"""The Python API and the CLI cannot drift apart.

Each job command's options are its API function's keyword arguments (same names, defaults
that build the same job), and an option that two commands share has one help text unless
it means something else in each (then each help says what it does there).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest
import typer.main

from grelu_cli import api
from grelu_cli.cli import app
from grelu_cli.cli.params import CLI_ONLY

#: command -> (API function building its job, values for the arguments the command requires)
COMMANDS: dict[str, tuple[Callable[..., Any], dict[str, str]]] = {
    "predict": (api.job, {"model": "m.ckpt", "output": "out.parquet"}),
    "variants": (api.variants_job, {"model": "m.ckpt", "vcf": "v.vcf", "genome": "g.fa"}),
    "ism": (api.ism_job, {"model": "m.ckpt", "output": "out.zarr"}),
    "attribute": (api.attribute_job, {"model": "m.ckpt", "genome": "g.fa"}),
}
#: Options the CLI requires while the API has a default, and why.
REQUIRED_ON_THE_CLI_ONLY = {
    ("predict", "output"): "api.predict_arrays writes no file",
    ("ism", "output"): "api.check_ism writes no file",
}
#: Options that ``grelu predict`` and ``grelu variants`` both have but that mean something
#: else in each (variants: only variants there, a variants output, record shards...).
DIFFERENT_MEANING = {"region", "chrom", "output", "layout", "aggregate", "dry_run", "shard"}


def _options(command: str) -> dict[str, Any]:
    """The command's options (typer's click objects) by parameter name."""
    cmd: Any = typer.main.get_command(app)
    return {p.name: p for p in cmd.commands[command].params if p.param_type_name == "option"}


def _keywords(command: str) -> dict[str, inspect.Parameter]:
    params = inspect.signature(COMMANDS[command][0]).parameters.values()
    named = (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return {p.name: p for p in params if p.kind in named}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_options_are_the_api_keywords(command):
    cli = set(_options(command)) - set(CLI_ONLY)
    py = set(_keywords(command))
    assert cli == py, f"only on the CLI: {sorted(cli - py)}; only in the API: {sorted(py - cli)}"
    assert set(CLI_ONLY) <= set(_options(command))


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_each_option_is_spelled_like_its_keyword(command):
    """``--tasks-query`` is ``tasks_query=`` (was: ``--format`` -> ``fmt``, ``--compile`` ->
    ``compile_model``)."""
    for name, opt in _options(command).items():
        assert "--" + name.replace("_", "-") in opt.opts, (name, opt.opts)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_defaults_build_the_same_job(command):
    """A CLI default the API spells differently (``--scores diff`` vs ``scores=None`` ->
    ``("diff",)``) must still make the same job; an option the CLI leaves out (None) must have
    no API default either, since the CLI then passes nothing."""
    make_job, required = COMMANDS[command]
    baseline = make_job(**required)
    keywords = _keywords(command)
    for name, opt in _options(command).items():
        if name in CLI_ONLY:
            continue
        api_default = keywords[name].default
        if opt.required:
            assert api_default is inspect.Parameter.empty or (
                (command, name) in REQUIRED_ON_THE_CLI_ONLY
            ), f"--{name} is required on the CLI, not in the API"
            continue
        assert api_default is not inspect.Parameter.empty, f"{name}= is required in the API"
        if opt.default is None:
            assert api_default in (None, ()), (name, api_default)
        else:
            assert make_job(**required, **{name: opt.default}) == baseline, (name, opt.default)


def _help(command: str) -> dict[str, str]:
    return {name: opt.help or "" for name, opt in _options(command).items()}


def test_shared_options_have_one_help_text():
    predict, variants = _help("predict"), _help("variants")
    shared = set(predict) & set(variants)
    assert shared >= DIFFERENT_MEANING
    drifted = {n for n in shared - DIFFERENT_MEANING if predict[n] != variants[n]}
    assert not drifted, {n: (predict[n], variants[n]) for n in drifted}
    assert all(predict[n] != variants[n] for n in DIFFERENT_MEANING)


#: Options ``grelu ism`` shares with predict or variants that mean something else there.
ISM_DIFFERENT_MEANING = {"output", "aggregate", "shard", "dry_run", "vcf", "pseudocount", "genes"}


def test_ism_shares_help_texts_with_predict_and_variants():
    ism = _help("ism")
    for other in ("predict", "variants"):
        theirs = _help(other)
        shared = (set(ism) & set(theirs)) - ISM_DIFFERENT_MEANING - DIFFERENT_MEANING
        drifted = {n for n in shared if ism[n] != theirs[n]}
        assert not drifted, {n: (ism[n], theirs[n]) for n in drifted}
    for name in ISM_DIFFERENT_MEANING:
        assert ism[name] not in (_help("predict").get(name), _help("variants").get(name)), name


def test_tasks_query_help_names_the_safe_query_language_not_pandas():
    text = _help("variants")["tasks_query"]
    assert "pandas" not in text and "not Python" in text, text


def test_cli_format_choices_are_the_writer_registry():
    """The CLI takes the format names from core (it may not import io): they must be the
    registry's."""
    from grelu_cli.core.choices import FORMATS
    from grelu_cli.io.formats.registry import FORMATS as REGISTERED

    assert FORMATS == REGISTERED
