"""``grelu models list|info|build|download``: the model zoo from the command line.

Each command calls one :mod:`grelu_cli.api` function (``list_models`` reads only the registry
and the cache folder: no torch, no network) and renders its result.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

from grelu_cli.cli.options import examples as _examples
from grelu_cli.errors import UsageError

app = typer.Typer(
    name="models",
    help="List, inspect, build and download models.",
    epilog=_examples(
        "grelu models list",
        "grelu models info borzoi --tasks",
        "grelu models download enformer --species mouse",
        "grelu models build ConvModel --n-tasks 8 --seq-len 1000 -o model.ckpt",
    ),
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)

FORMATS = ("table", "json")


def _check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise UsageError(f"--format '{fmt}'", fix=f"choose {' or '.join(FORMATS)}")
    return fmt


def _console() -> Any:
    from rich.console import Console

    # Piped output keeps every column whole instead of truncating to 80 characters.
    width = None if sys.stdout.isatty() else 1000
    return Console(soft_wrap=False, highlight=False, width=width)


def _num(v: Any) -> str:
    return "-" if v is None else (f"{v:,}" if isinstance(v, int) else str(v))


@app.command(
    "list",
    epilog=_examples(
        "grelu models list",
        "grelu models list 'borzoi*' --format json",
        "grelu models list --kind architecture",
    ),
)
def list_cmd(
    pattern: str | None = typer.Argument(
        None, help="Glob or substring of model names / repo ids (case-insensitive)."
    ),
    fmt: str = typer.Option("table", "--format", help="table (for people) or json."),
    kind: str | None = typer.Option(
        None, "--kind", help="Only 'pretrained', 'architecture' or 'external' entries."
    ),
) -> None:
    """List zoo models and architectures, and whether their weights are cached."""
    from grelu_cli import api

    _check_format(fmt)
    rows = api.list_models(pattern, kind)
    if fmt == "json":
        typer.echo(json.dumps(rows, indent=2))
        return
    from rich.table import Table

    table = Table(box=None, header_style="bold")
    for col, justify in (
        ("name", "left"),
        ("kind", "left"),
        ("species", "left"),
        ("input bp", "right"),
        ("bin", "right"),
        ("tracks", "right"),
        ("cached", "left"),
    ):
        table.add_column(col, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for r in rows:
        cached = "-" if r["files"] == 0 else f"{r['cached_files']}/{r['files']}"
        table.add_row(
            r["name"],
            r["kind"],
            ",".join(r["species"]) or "-",
            _num(r["input_bp"]),
            _num(r["bin_size"]),
            _num(r["tracks"]),
            cached,
        )
    _console().print(table)


@app.command(
    "download",
    epilog=_examples(
        "grelu models download borzoi",
        "grelu models download borzoi --species mouse --replicate 2",
        "grelu models download enformer --all",
        "HF_HOME=/shared/hf grelu models download Genentech/human-atac-catlas-model",
    ),
)
def download_cmd(
    name: str = typer.Argument(
        ..., help="Zoo name (borzoi), Hub repo (Org/repo) or Hub file (Org/repo/file.ckpt)."
    ),
    replicate: int | None = typer.Option(None, "--replicate", help="Replicate (default 0)."),
    species: str | None = typer.Option(None, "--species", help="human or mouse."),
    all_files: bool = typer.Option(False, "--all", help="Every species and replicate."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    force: bool = typer.Option(
        False, "--force", help="Download again even if cached (e.g. a newer unpinned revision)."
    ),
) -> None:
    """Download weights into the Hugging Face cache and print where they are.

    Honours HF_HOME / HF_HUB_CACHE (cache location), HF_ENDPOINT (mirror) and
    HF_HUB_OFFLINE. Size and sha256 are checked against the Hub.
    """
    from grelu_cli import api

    for path in api.download_model(
        name,
        species=species,
        replicate=replicate,
        all_files=all_files,
        progress=not quiet,
        force=force,
    ):
        typer.echo(str(path))


@app.command(
    "info",
    epilog=_examples(
        "grelu models info borzoi",
        "grelu models info model.ckpt --tasks --format json",
        "grelu models info weights.pt --arch ConvModel --param n_tasks=8",
        "grelu models info ConvModel",
    ),
)
def info_cmd(
    name: str = typer.Argument(..., help="Zoo name, Hub repo, architecture or checkpoint path."),
    tasks: bool = typer.Option(
        False,
        "--tasks",
        help="Also print the tasks table (read from the weights: download a zoo model first).",
    ),
    fmt: str = typer.Option("table", "--format", help="table or json."),
    species: str | None = typer.Option(None, "--species", help="Zoo weights: species."),
    replicate: int | None = typer.Option(None, "--replicate", help="Zoo weights: replicate."),
    trust_checkpoint: bool = typer.Option(
        False, "--trust-checkpoint", help="Allow arbitrary pickled objects (trusted files only)."
    ),
    arch: str | None = typer.Option(None, "--arch", help="Architecture of a plain state dict."),
    param: list[str] | None = typer.Option(
        None, "--param", help="KEY=VALUE constructor argument for --arch (repeatable)."
    ),
) -> None:
    """Show what a model is: source, checksum, geometry, activation and tasks.

    Zoo models that are not cached are described from the registry (nothing is downloaded);
    their tasks table needs the weights, so --tasks then fails (exit 4) and names the
    'grelu models download' command.
    """
    from grelu_cli import api

    _check_format(fmt)
    info, task_df = api.model_info(
        name,
        species=species,
        replicate=replicate,
        trust_checkpoint=trust_checkpoint,
        arch=arch,
        param=param or [],
        tasks=tasks,
    )
    if fmt == "json":
        if task_df is not None:
            info["tasks"] = json.loads(task_df.to_json(orient="records"))
        typer.echo(json.dumps(info, indent=2, default=str))
        return
    width = max(len(k) for k in info)
    for k, v in info.items():
        shown = json.dumps(v, default=str) if isinstance(v, dict | list) else _num(v)
        typer.echo(f"{k:<{width}}  {shown}")
    from rich.table import Table

    console = _console()
    if task_df is not None:
        ttable = Table(box=None, header_style="bold")
        ttable.add_column("#", justify="right")
        for col in task_df.columns:
            ttable.add_column(str(col), overflow="fold")
        for i, row in enumerate(task_df.itertuples(index=False)):
            ttable.add_row(str(i), *[str(v) for v in row])
        console.print(ttable)


@app.command(
    "build",
    epilog=_examples(
        "grelu models build ConvModel --n-tasks 8 --seq-len 1000 -o model.ckpt",
        "grelu models build DilatedConvModel --tasks tasks.tsv --seq-len 2114 --loss poisson "
        "-o dil.ckpt",
        "grelu models build ConvTransformerModel --n-tasks 2 --param n_transformers=2 "
        "--task-type binary --seq-len 500 -o tf.ckpt",
    ),
)
def build_cmd(
    arch: str = typer.Argument(..., help="Architecture, e.g. ConvModel (see --kind architecture)."),
    output: Path = typer.Option(..., "-o", "--output", help="Checkpoint to write (.ckpt)."),
    n_tasks: int | None = typer.Option(None, "--n-tasks", help="Number of output tracks."),
    param: list[str] | None = typer.Option(
        None, "--param", help="Constructor argument KEY=VALUE (repeatable)."
    ),
    tasks_file: Path | None = typer.Option(
        None, "--tasks", help="Task names, one per line, or a .tsv/.csv with a 'name' column."
    ),
    seq_len: int | None = typer.Option(None, "--seq-len", help="Input length in bp."),
    task_type: str = typer.Option(
        "regression", "--task-type", help="regression, binary or multiclass."
    ),
    loss: str | None = typer.Option(
        None,
        "--loss",
        help="Training loss, which sets the output activation: regression takes mse (none, "
        "the default), poisson or poisson_multinomial (exp); binary bce (sigmoid); "
        "multiclass ce (softmax).",
    ),
    seed: int = typer.Option(
        0, "--seed", help="Seed for the random weights, 0 to 2**64 - 1 (torch's range)."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing output."),
) -> None:
    """Build a randomly initialised model and save it as a gReLU checkpoint.

    The file loads in grelu-cli and in gReLU 1.1.0 (LightningModel.load_from_checkpoint).
    """
    from grelu_cli import api

    built, note = api.build_model(
        arch,
        output,
        n_tasks=n_tasks,
        param=param or [],
        tasks_file=tasks_file,
        seq_len=seq_len,
        task_type=task_type,
        loss=loss,
        seed=seed,
        overwrite=overwrite,
    )
    if note:
        print(f"note: {note}", file=sys.stderr)
    print(
        f"wrote {built.path}: {built.model_type}, {len(built.task_names)} tasks, "
        f"{built.n_params:,} parameters, seq_len {_num(built.seq_len)}, output {built.output}",
        file=sys.stderr,
    )
