"""Attach every command group to the root app. One module per group under grelu_cli/cli/."""

from __future__ import annotations

from grelu_cli.cli import merge, models, plot, predict, variants
from grelu_cli.cli.app import app

app.add_typer(models.app, name="models")
app.command("predict", epilog=predict.EPILOG)(predict.predict)
app.command("merge", epilog=merge.EPILOG)(merge.merge)
app.command("plot", epilog=plot.EPILOG)(plot.plot)
app.command("variants", epilog=variants.EPILOG)(variants.variants)
