"""The root Typer app: global options, every command, and error handling around each.

The command modules (one per command group) keep their heavy imports inside the command
bodies, so building the app imports no torch. Nothing under ``cli/`` imports this module.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import typer
from typer.core import TyperGroup

from grelu_cli import __version__
from grelu_cli.cli import attribute, ism, merge, models, plot, predict, variants
from grelu_cli.cli.errors import EXIT_INTERRUPTED, report
from grelu_cli.cli.options import install_help_types

install_help_types()  # flags shown as flags in every command's --help


class GreluGroup(TyperGroup):
    """Root group whose ``main`` maps every exception to one stderr line and an exit code.

    Doing this in ``main`` (not in a wrapper function) means ``typer.testing.CliRunner``
    sees exactly what a user sees.
    """

    def main(self, args: Sequence[str] | None = None, *a: Any, **kw: Any) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        kw["standalone_mode"] = False
        try:
            rv = super().main(argv, *a, **kw)
        except typer.Exit as e:  # --help/--version, and typer's own Ctrl-C handling
            sys.exit(e.exit_code)
        except typer.Abort:
            rv = EXIT_INTERRUPTED
        except SystemExit:
            raise
        except BaseException as e:  # the one place that turns errors into exit codes
            sys.exit(report(e, argv))
        if rv == EXIT_INTERRUPTED:
            # typer turns Ctrl-C (and our SIGTERM handler's KeyboardInterrupt) into a returned
            # 130 in non-standalone mode; no command returns 130 itself.
            sys.exit(report(KeyboardInterrupt(), argv))
        sys.exit(rv if isinstance(rv, int) else 0)


app = typer.Typer(
    cls=GreluGroup,
    name="grelu",
    help="Batch prediction for gReLU sequence-to-function models.\n\n"
    "Examples:\n\n"
    "  grelu models list\n\n"
    "  grelu predict --model borzoi --bed regions.bed --genome hg38.fa -o preds.parquet",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"grelu-cli {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    debug: bool = typer.Option(
        False, "--debug", help="Show full tracebacks on errors (also GRELU_DEBUG=1)."
    ),
) -> None:
    """Batch prediction for gReLU sequence-to-function models."""


app.add_typer(models.app, name="models")
app.command("predict", epilog=predict.EPILOG)(predict.predict)
app.command("merge", epilog=merge.EPILOG)(merge.merge)
app.command("plot", epilog=plot.EPILOG)(plot.plot)
app.command("variants", epilog=variants.EPILOG)(variants.variants)
app.command("ism", epilog=ism.EPILOG)(ism.ism)
app.command("attribute", epilog=attribute.EPILOG)(attribute.attribute)


def main() -> None:
    """Console-script entry point (``grelu``)."""
    app()
