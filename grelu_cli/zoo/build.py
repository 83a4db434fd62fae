"""Build a randomly initialised model and save it as a gReLU-format checkpoint.

The file is what gReLU 1.1.0 writes after training (see :mod:`grelu_cli.zoo.checkpoint`), so
``grelu predict`` and gReLU's ``LightningModel.load_from_checkpoint`` both read it: the
architecture under ``hyper_parameters.model_params``, the output activation implied by
``train_params`` (task + loss), task names under ``data_params.tasks`` and the input length and
bin size under ``data_params.train``.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grelu_cli.errors import InputDataError, MissingResourceError, UsageError
from grelu_cli.zoo.activation import activation_from_train_params
from grelu_cli.zoo.checkpoint import atomic_save, build_checkpoint
from grelu_cli.zoo.factory import build_model, constructor_params, model_class
from grelu_cli.zoo.param_types import check_types

TASK_TYPES = ("regression", "binary", "multiclass")
DEFAULT_LOSS = {"regression": "mse", "binary": "bce", "multiclass": "ce"}
#: The losses gReLU 1.1.0's ``LightningModel`` trains each task type with (first: default).
#: ``initialize_loss`` refuses any other binary loss; it ignores the loss of a multiclass
#: model (always cross-entropy), so any other name there would describe a model that is not.
VALID_LOSSES = {
    "regression": ("mse", "poisson", "poisson_multinomial"),
    "binary": ("bce",),
    "multiclass": ("ce",),
}
#: ``torch.manual_seed`` takes 0 .. 2**64 - 1 (a negative seed aliases a large one).
MAX_SEED = 2**64 - 1
# Constructor arguments that hold the input length, filled from --seq-len when not given.
_LEN_PARAMS = ("seq_len", "in_len")


@dataclass(frozen=True)
class BuiltModel:
    """What ``build_checkpoint_file`` wrote."""

    path: Path
    model_type: str
    model_params: dict[str, Any]
    n_params: int
    seq_len: int | None
    bin_size: int
    task_names: list[str]
    output: str = ""


def parse_param(text: str) -> tuple[str, Any]:
    """``key=value`` -> (key, value); the value is read as JSON, else a Python literal, else
    kept as a string: ``n_conv=3``, ``dropout=0.1``, ``norm=true``, ``pool_func=null``,
    ``mlp_hidden_size=[8,4]``, ``act_func=gelu``."""
    key, sep, raw = text.partition("=")
    key = key.strip().replace("-", "_")
    if not sep or not key.isidentifier():
        raise UsageError(f"--param '{text}' is not KEY=VALUE", fix="e.g. --param n_conv=3")
    raw = raw.strip()
    for parse in (json.loads, ast.literal_eval):
        try:
            return key, parse(raw)
        except (ValueError, SyntaxError):
            continue
    return key, raw


def read_task_file(path: Path) -> dict[str, list[Any]]:
    """Task names (one per line) or a table with a ``name`` column (``.tsv``/``.csv``)."""
    if not path.is_file():
        raise MissingResourceError(f"tasks file {path} does not exist", fix="check the path")
    if path.suffix.lower() in (".tsv", ".csv"):
        import pandas as pd

        df = pd.read_csv(path, sep="\t" if path.suffix.lower() == ".tsv" else ",")
        if "name" not in df.columns:
            raise InputDataError(
                f"tasks table {path} has no 'name' column (columns: {', '.join(df.columns)})",
                fix="add a header line with a 'name' column",
            )
        df["name"] = df["name"].astype(str)
        return {str(c): df[c].tolist() for c in df.columns}
    names = [ln.strip() for ln in path.read_text().splitlines() if ln.strip()]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputDataError(
            f"tasks file {path} repeats task names: {', '.join(dupes[:5])}",
            fix="give every task a unique name",
        )
    return {"name": names}


def build_checkpoint_file(
    arch: str,
    out: Path,
    *,
    n_tasks: int | None = None,
    params: dict[str, Any] | None = None,
    tasks: dict[str, list[Any]] | None = None,
    seq_len: int | None = None,
    task_type: str = "regression",
    loss: str | None = None,
    seed: int = 0,
    overwrite: bool = False,
) -> BuiltModel:
    """Build ``arch`` with random weights (seeded) and save a gReLU checkpoint to ``out``.

    Raises:
        UsageError: bad options: an unknown architecture or task type, a loss that does not
            go with the task type (:data:`VALID_LOSSES`), a seed outside 0 .. 2**64 - 1,
            constructor arguments the architecture refuses, an invalid ``seq_len``.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise UsageError(
            f"--seed {seed} is out of range", fix="give a whole number from 0 to 2**64 - 1"
        )
    import torch

    cls = model_class(arch)
    ctor = constructor_params(cls)
    kwargs = dict(params or {})
    if tasks is not None:
        if n_tasks is not None and n_tasks != len(tasks["name"]):
            raise UsageError(
                f"--n-tasks {n_tasks} but the tasks file lists {len(tasks['name'])} tasks",
                fix="make them agree or drop --n-tasks",
            )
        n_tasks = len(tasks["name"])
    if n_tasks is None:
        n_tasks = kwargs.pop("n_tasks", None)
        # --param n_tasks=abc / 2.5 / true: refuse before int() turns 2.5 into 2
        if n_tasks is not None:
            check_types(cls, {"n_tasks": n_tasks}, where="--param", error=UsageError)
    if n_tasks is None:
        raise UsageError("the number of tasks is not given", fix="pass --n-tasks N or --tasks FILE")
    if n_tasks < 1:
        raise UsageError(f"the number of tasks is {n_tasks}", fix="give at least 1 task")
    kwargs["n_tasks"] = int(n_tasks)
    for name in _LEN_PARAMS:
        if name in ctor and name not in kwargs:
            if seq_len is None:
                raise UsageError(f"{cls.__name__} needs the input length", fix="pass --seq-len N")
            kwargs[name] = int(seq_len)
    if task_type not in TASK_TYPES:
        raise UsageError(f"--task-type '{task_type}'", fix=f"choose {', '.join(TASK_TYPES)}")
    train_params = {"task": task_type, "loss": check_loss(task_type, loss)}
    activation_from_train_params(train_params, where="--loss")  # known to gReLU: cannot fail

    torch.manual_seed(seed)
    model = build_model(cls.__name__, kwargs, where="--param", error=UsageError)
    geometry = model.geometry()
    if seq_len is None:
        seq_len = geometry.fixed_len or geometry.default_len
    if seq_len is not None:
        try:
            geometry.check_len(int(seq_len))
        except ValueError as e:
            raise UsageError(f"--seq-len {seq_len}: {e}", fix="choose a valid length") from None
    task_table = tasks or {"name": [f"task_{i}" for i in range(kwargs["n_tasks"])]}
    train_data: dict[str, Any] = {"bin_size": geometry.bin_size}
    if seq_len is not None:
        train_data["seq_len"] = int(seq_len)
    model_params = {"model_type": cls.__name__, **kwargs}
    ckpt = build_checkpoint(model, model_params, train_params, task_table, train_data)
    atomic_save(ckpt, out, overwrite=overwrite)
    return BuiltModel(
        path=Path(out),
        model_type=cls.__name__,
        model_params=model_params,
        n_params=sum(p.numel() for p in model.parameters()),
        seq_len=None if seq_len is None else int(seq_len),
        bin_size=geometry.bin_size,
        task_names=[str(n) for n in task_table["name"]],
        output=describe_output(geometry, seq_len),
    )


def check_loss(task_type: str, loss: str | None) -> str:
    """The loss for ``task_type`` (its default when None), lower-cased; UsageError (exit 2)
    naming both options and every valid pair when gReLU 1.1.0 would not train that pair."""
    if loss is None:
        return DEFAULT_LOSS[task_type]
    name = loss.strip().lower()
    if name in VALID_LOSSES[task_type]:
        return name
    pairs = "; ".join(f"{t}: {', '.join(v)}" for t, v in VALID_LOSSES.items())
    known = any(name in v for v in VALID_LOSSES.values())
    what = "does not go with" if known else "is not a gReLU loss; it cannot train"
    raise UsageError(
        f"--loss {loss} {what} --task-type {task_type} (gReLU 1.1.0 pairs {pairs})",
        fix=f"pass --loss {' or '.join(VALID_LOSSES[task_type])} or leave --loss out",
    )


def describe_output(geometry: Any, seq_len: int | None) -> str:
    """What one window's prediction is, per task: ``1 value per window (pooled over the
    input)`` for heads that pool over length, else ``896 bins of 128 bp`` (or ``bins of
    128 bp`` when the input length is open)."""
    if geometry.pooled:
        return "1 value per window (pooled over the input)"
    if seq_len is None:
        return f"bins of {geometry.bin_size} bp"
    n = geometry.out_len(int(seq_len))
    return f"{n:,} bin{'s' if n != 1 else ''} of {geometry.bin_size} bp per window"
