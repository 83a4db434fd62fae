"""Command-line interface: Typer commands, one file per command group.

This package is the only place that prints or exits. Heavy imports (torch, pyBigWig, pyarrow)
happen inside command bodies so that ``grelu --help`` and ``grelu models list`` stay instant.
"""

from grelu_cli.cli.app import app, main

__all__ = ["app", "main"]
