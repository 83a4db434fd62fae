"""Cheap mistakes are reported before torch is imported and the model loaded (issue 11, 14).

Each case runs ``grelu predict`` in a fresh process and reports, after the exit, whether
``torch`` is in ``sys.modules``. The model is a real checkpoint, so a run that got as far as
loading it would have imported torch.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.cli.predict_helpers import Env

PROBE = """
import json, sys
from grelu_cli.cli import app
try:
    app(sys.argv[1:])
except SystemExit as e:
    code = e.code
print(json.dumps({"code": code, "torch": "torch" in sys.modules}))
"""


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> Env:
    e = Env(tmp_path_factory.mktemp("cheap"))
    e.small = e.bed("small.bed", [("chrA", 100, 300, "a", 0, "+")])
    e.done = e.out("done")
    (e.done / "p.parquet").write_bytes(b"an earlier output")
    (e.done / "one.bw").write_bytes(b"an earlier track")
    (e.done / "tracks").mkdir()
    (e.done / "tracks" / "t_dnase.bw").write_bytes(b"an earlier track")
    (e.done / "p.zarr").mkdir()  # an existing directory that is not a grelu store
    (e.done / "p.zarr" / "zarr.json").write_text("{}")
    return e


def probe(*args: object) -> tuple[int, bool, str]:
    run = subprocess.run(
        [sys.executable, "-c", PROBE, "predict", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    result = json.loads(run.stdout.strip().splitlines()[-1])
    return result["code"], result["torch"], run.stderr


CASES = {
    "missing bed": (["--bed", "{root}/nope.bed", "-g", "{genome}", "-o", "{out}"], 4, "nope.bed"),
    "missing genome": (["--bed", "{bed}", "-g", "{root}/nope.fa", "-o", "{out}"], 4, "nope.fa"),
    "no input": (["-g", "{genome}", "-o", "{out}"], 2, "no input"),
    "bad region": (["--region", "chrA:1-x", "-g", "{genome}", "-o", "{out}"], 2, "chrA:1-x"),
    "parquet exists": (
        ["--bed", "{bed}", "-g", "{genome}", "-o", "{done}/p.parquet"],
        2,
        "already exists",
    ),
    "bigwig file exists": (
        ["--bed", "{bed}", "-g", "{genome}", "-o", "{done}/one.bw"],
        2,
        "already exists",
    ),
    "bigwig dir exists": (
        ["--bed", "{bed}", "-g", "{genome}", "-o", "{done}/tracks/"],
        2,
        "already exists",
    ),
    "bigwig template exists": (
        ["--bed", "{bed}", "-g", "{genome}", "-o", "{done}/tracks/{{task}}.bw"],
        2,
        "already exists",
    ),
    "zarr store exists": (
        ["--bed", "{bed}", "-g", "{genome}", "-o", "{done}/p.zarr", "--overwrite"],
        2,
        "not a grelu zarr store",
    ),
    "zarr dtype": (
        ["--bed", "{bed}", "-g", "{genome}", "--dtype", "int8", "-o", "{root}/n.zarr"],
        2,
        "--dtype",
    ),
    "unknown format": (
        ["--bed", "{bed}", "-g", "{genome}", "-o", "{root}/p.txt"],
        2,
        "output format",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_rejected_before_torch_is_imported(env, case):
    args, code, words = CASES[case]
    where = {
        "root": env.root,
        "genome": env.genome,
        "bed": env.small,
        "done": env.done,
        "out": env.root / "o.parquet",
    }
    got_code, torch_imported, stderr = probe("-m", env.model, *(a.format(**where) for a in args))
    assert got_code == code, stderr
    assert words in stderr, stderr
    assert not torch_imported, f"{case}: torch was imported before the error"
    assert not (env.root / "o.parquet").exists()


def test_the_probe_sees_torch_when_the_model_loads(env, tmp_path):
    code, torch_imported, stderr = probe(
        "-m", env.model, "--bed", env.small, "-g", env.genome, "-o", tmp_path / "p.parquet"
    )
    assert code == 0 and torch_imported, stderr
