"""bigWig file names from hostile task names: none starts with a dot, none leaves the output
folder, distinct tasks keep distinct files (README, "bigWig": the task-name rule)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from grelu_cli.io.formats.bigwig import bigwig_paths, safe_task_name, task_file_stems
from tests.workflow.wf_helpers import (
    CHROM_SIZES,
    MODEL_PARAMS,
    SEQ_LEN,
    ok,
    write_genome,
    write_regions,
)

HOSTILE = [
    "..",
    "../../x",
    ".hidden",
    "a/b",
    "x",
    "L" * 300,
    "ünïcødé",
    ".",
    "a\\b",
    "...",
    "hidden",
    "._.x",
    "_.x",
    "../../pwned",
    "",
    "/",
    "a/../../b",
]


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../pwned", "pwned"),
        ("..", "task"),
        (".", "task"),
        ("...", "task"),
        ("", "task"),
        ("/", "task"),
        (".hidden", "hidden"),
        ("._.x", "x"),
        ("_._x_", "x"),
        ("a/b", "a_b"),
        ("a/../../b", "a_.._.._b"),
        ("DNASE:K562 (ENCODE)", "DNASE_K562_ENCODE"),
        ("ünïcødé", "n_c_d"),
        ("L" * 300, "L" * 200),
        ("a.b", "a.b"),
    ],
)
def test_safe_task_name(name: str, safe: str) -> None:
    assert safe_task_name(name) == safe


@pytest.mark.parametrize("name", HOSTILE)
def test_no_name_is_hidden_or_leaves_the_folder(name: str, tmp_path: Path) -> None:
    stem = safe_task_name(name)
    assert stem and not stem.startswith(".") and "/" not in stem and "\\" not in stem
    assert len(stem.encode()) <= 200
    (path,) = bigwig_paths(tmp_path / "out.bw", [name])  # one task: the named file
    (path,) = bigwig_paths(f"{tmp_path}/", [name])
    assert path.parent == tmp_path and not path.name.startswith(".")


def test_distinct_hostile_tasks_keep_distinct_files() -> None:
    stems = task_file_stems(HOSTILE)
    assert len({s.casefold() for s in stems}) == len(HOSTILE)
    assert not any(s.startswith(".") or "/" in s for s in stems)


def test_predict_writes_every_hostile_task_inside_the_folder(tmp_path: Path) -> None:
    tasks = [t for t in HOSTILE if t]  # a tasks file has no empty names
    (tmp_path / "tasks.txt").write_text("".join(t + "\n" for t in tasks))
    write_genome(tmp_path / "g.fa", CHROM_SIZES)
    write_regions(tmp_path / "r.bed", CHROM_SIZES)
    model = tmp_path / "hostile.ckpt"
    params = [a for p in MODEL_PARAMS for a in ("--param", p)]
    ok(
        "models",
        "build",
        "ConvModel",
        "--tasks",
        tmp_path / "tasks.txt",
        "--seq-len",
        SEQ_LEN,
        "--loss",
        "poisson",
        *params,
        "-o",
        model,
    )
    out = tmp_path / "deep" / "bw"
    ok(
        "predict",
        "-m",
        model,
        "--bed",
        tmp_path / "r.bed",
        "-g",
        tmp_path / "g.fa",
        "-q",
        "--device",
        "cpu",
        "--format",
        "bigwig",
        "-o",
        f"{out}/",
    )
    names = sorted(os.listdir(out))
    assert len(names) == len(tasks) and all(n.endswith(".bw") for n in names)
    assert not any(n.startswith(".") for n in names), names
    made = {"deep", "hostile.ckpt", "tasks.txt", "g.fa", "g.fa.fai", "r.bed"}
    assert set(os.listdir(tmp_path)) == made
    assert os.listdir(tmp_path / "deep") == ["bw"]
    assert sorted(names) == sorted(f"{s}.bw" for s in task_file_stems(tasks))
