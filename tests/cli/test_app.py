"""The root app: help, version, one-line errors and exit codes, no torch at start-up."""

from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from grelu_cli import __version__
from grelu_cli.cli import app


def test_help_lists_examples():
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "grelu models list" in result.output


def test_version():
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


def test_unknown_option_is_one_line_usage_error():
    result = CliRunner().invoke(app, ["--no-such-option"])
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "Traceback" not in result.output


def test_help_does_not_import_torch():
    code = (
        "import sys\n"
        "from grelu_cli.cli import main\n"
        "sys.argv = ['grelu', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "assert 'torch' not in sys.modules, 'torch imported by --help'\n"
        "assert 'zarr' not in sys.modules, 'zarr imported by --help'\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_python_dash_m_is_the_same_program():
    proc = subprocess.run(
        [sys.executable, "-m", "grelu_cli", "--version"], capture_output=True, text=True
    )
    assert proc.returncode == 0
    assert __version__ in proc.stdout


def _commands(group, path=()):
    """(path, click command) for every command and group under the root app."""
    yield path, group
    for name, sub in getattr(group, "commands", {}).items():
        yield from _commands(sub, (*path, name))


def test_help_shows_flags_as_flags_and_repeatable_options_by_value_type():
    """Every command's help: a flag (--rc, --overwrite, --help, ...) shows no value type (it was
    '<bool>', so users typed '--rc true'), a repeatable option or variadic argument shows one
    value's type (it was '<list[str]>'); options that take a value keep theirs."""
    import click
    import typer.main

    env = {"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
    root = typer.main.get_command(app)
    flags = multi = valued = 0
    for path, cmd in _commands(root):
        text = CliRunner().invoke(app, [*path, "--help"], env=env).output
        assert "<bool>" not in text and "<list[" not in text, (path, text)
        ctx = click.Context(cmd, info_name="grelu")
        for param in cmd.get_params(ctx):
            shown = param.display_type_rich(ctx)
            if getattr(param, "is_flag", False):
                assert shown is None, (path, param.name, shown)
                flags += 1
            elif getattr(param, "multiple", False) or param.nargs == -1:
                assert shown in ("<str>", "<Path>"), (path, param.name, shown)
                multi += 1
            else:
                assert (shown and shown.startswith("<")) or shown == param.metavar, shown
                valued += 1
    assert flags >= 20 and multi >= 6 and valued >= 30, (flags, multi, valued)


def test_flag_given_a_value_says_flags_take_no_value():
    result = CliRunner().invoke(
        app, ["predict", "-m", "m.ckpt", "--fasta", "x.fa", "-o", "o.parquet", "--rc", "true"]
    )
    assert result.exit_code == 2
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert lines == [
        "error: Got unexpected extra argument(s) (true) (flags such as --rc take no value: give "
        "the flag to turn it on, leave it out to keep it off)"
    ]
