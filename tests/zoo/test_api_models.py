"""The models part of the Python API (what ``grelu models`` calls): plain results, library
errors, no printing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from grelu_cli import api
from grelu_cli.errors import UsageError


def test_list_models_rows_and_kind_filter() -> None:
    rows = api.list_models("borzoi*")
    assert rows and all(r["name"].lower().startswith("borzoi") for r in rows)
    assert {"name", "kind", "cached_files", "files", "tracks"} <= set(rows[0])
    archs = api.list_models(kind="architecture")
    assert {r["kind"] for r in archs} == {"architecture"}
    with pytest.raises(UsageError, match="--kind 'weights'"):
        api.list_models(kind="weights")
    with pytest.raises(UsageError, match="no model matches"):
        api.list_models("no-such-model-*")


def test_list_models_imports_no_torch() -> None:
    code = "import sys; from grelu_cli import api; api.list_models(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_build_then_describe_a_model(tmp_path: Path) -> None:
    out = tmp_path / "m.ckpt"
    built, note = api.build_model("ConvModel", out, n_tasks=3, seq_len=200, seed=1)
    assert out.is_file() and built.path == out and len(built.task_names) == 3
    assert note is None or isinstance(note, str)
    info, tasks = api.model_info(str(out), tasks=True)
    assert info["model_type"] == "ConvModel" and info["tasks"] == 3
    assert tasks is not None and len(tasks) == 3
    with pytest.raises(UsageError, match="--all needs a zoo model with weights"):
        api.download_model("ConvModel", all_files=True)
