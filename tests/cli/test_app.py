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
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_python_dash_m_is_the_same_program():
    proc = subprocess.run(
        [sys.executable, "-m", "grelu_cli", "--version"], capture_output=True, text=True
    )
    assert proc.returncode == 0
    assert __version__ in proc.stdout
