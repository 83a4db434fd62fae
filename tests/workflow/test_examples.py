"""The workflow examples: the Snakemake one runs for real; the Nextflow one (which cannot run
here: its launcher downloads its runtime) is checked to use only real ``grelu`` options.

Snakemake lives in its own virtualenv (``scripts/snakemake-venv.sh`` -> ``.venv-snakemake``)
because it pins packages that conflict with the project's. The test creates it when missing
and is skipped only when that fails (no network and no wheel cache), unless
``GRELU_REQUIRE_SNAKEMAKE=1`` (CI) turns that into a failure.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.workflow.wf_helpers import REPO, invoke, ok, read_table, subprocess_env

EXAMPLES = REPO / "examples"
DEMO = EXAMPLES / "demo"
SNAKEFILE = EXAMPLES / "snakemake" / "Snakefile"
MAIN_NF = EXAMPLES / "nextflow" / "main.nf"
NF_CONFIG = EXAMPLES / "nextflow" / "nextflow.config"


@pytest.fixture(scope="module")
def snakemake() -> Path:
    venv = Path(os.environ.get("SNAKEMAKE_VENV", REPO / ".venv-snakemake"))
    exe = venv / "bin" / "snakemake"
    proc = subprocess.run(
        ["bash", str(REPO / "scripts" / "snakemake-venv.sh")],
        capture_output=True,
        text=True,
        env={**os.environ, "SNAKEMAKE_VENV": str(venv)},
    )
    if proc.returncode != 0 or not exe.is_file():
        reason = f"could not create the Snakemake virtualenv {venv}: {proc.stderr.strip()[-500:]}"
        if os.environ.get("GRELU_REQUIRE_SNAKEMAKE", "") not in ("", "0"):
            pytest.fail(reason)
        pytest.skip(reason)
    return exe


@pytest.fixture(scope="module")
def demo_inputs(tmp_path_factory) -> dict[str, Path]:
    """The shipped demo (copied: the genome index may be written next to the FASTA)."""
    import shutil

    root = tmp_path_factory.mktemp("demo")
    for name in ("model.ckpt", "genome.fa", "regions.bed"):
        if not (DEMO / name).is_file():
            pytest.fail(f"examples/demo/{name} is missing (see examples/demo/make_demo.py)")
        shutil.copy(DEMO / name, root / name)
    return {name.split(".")[0]: root / name for name in ("model.ckpt", "genome.fa", "regions.bed")}


def _run_snakemake(exe: Path, workdir: Path, **config: str) -> None:
    grelu = f"{sys.executable} -m grelu_cli"
    args = [f"grelu={grelu}"] + [f"{k}={v}" for k, v in config.items()]
    proc = subprocess.run(
        [
            str(exe),
            "-s",
            str(SNAKEFILE),
            "--directory",
            str(workdir),
            "--cores",
            "2",
            "--config",
            *args,
        ],
        capture_output=True,
        text=True,
        env=subprocess_env(),
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["parquet", "bigwig", "zarr"])
def test_snakemake_example_equals_unsharded_run(snakemake, demo_inputs, tmp_path, fmt):
    inputs = {
        "model": demo_inputs["model"],
        "bed": demo_inputs["regions"],
        "genome": demo_inputs["genome"],
    }
    _run_snakemake(
        snakemake,
        tmp_path,
        shards="3",
        format=fmt,
        device="cpu",
        outdir="res",
        **{k: str(v) for k, v in inputs.items()},
    )
    res = tmp_path / "res"
    logs = sorted(p.name for p in (res / "logs").iterdir())
    assert logs == ["merge.jsonl"] + [f"predict-{i}-of-3.jsonl" for i in range(3)]
    import json

    for log in (res / "logs").iterdir():  # per-rule logs: JSON lines ending in a summary
        events = [json.loads(line) for line in log.read_text().splitlines()]
        assert events[-1]["event"] == "summary"
    base = [
        "-m",
        inputs["model"],
        "--bed",
        inputs["bed"],
        "-g",
        inputs["genome"],
        "-q",
        "--device",
        "cpu",
    ]
    if fmt == "zarr":  # three shards wrote one store, merge finalized it
        import zarr

        ok("predict", *base, "-o", tmp_path / "plain.zarr")
        got = zarr.open_group(str(res / "preds.zarr"), mode="r")
        want = zarr.open_group(str(tmp_path / "plain.zarr"), mode="r")
        assert got.attrs["grelu"]["complete"] is True
        assert got.attrs["grelu"]["merged"]["shards"] == 3
        assert (got["preds"][:] == want["preds"][:]).all()
        assert (res / "preds.zarr.done").is_file()
    elif fmt == "parquet":
        ok("predict", *base, "-o", tmp_path / "plain.parquet")
        assert read_table(res / "preds.parquet").equals(read_table(tmp_path / "plain.parquet"))
    else:
        ok("predict", *base, "-o", f"{tmp_path}/plain/")
        plain = sorted(p.name for p in (tmp_path / "plain").iterdir())
        # (Snakemake adds .snakemake_timestamp to directory outputs)
        assert sorted(p.name for p in (res / "tracks").glob("*.bw")) == plain
        for name in plain:
            assert (res / "tracks" / name).read_bytes() == (tmp_path / "plain" / name).read_bytes()


@pytest.mark.slow
def test_snakemake_genes_target_equals_unsharded_run(snakemake, demo_inputs, tmp_path):
    """The ``genes`` target: gene shards merged equal one ``grelu predict --genes`` run."""
    import shutil

    gtf = shutil.copy(DEMO / "genes.gtf", tmp_path / "genes.gtf")
    inputs = {"model": demo_inputs["model"], "genome": demo_inputs["genome"], "genes": gtf}
    exe_args = {k: str(v) for k, v in inputs.items()}
    proc = subprocess.run(
        [
            str(snakemake),
            "-s",
            str(SNAKEFILE),
            "--directory",
            str(tmp_path),
            "--cores",
            "2",
            "genes",
            "--config",
            f"grelu={sys.executable} -m grelu_cli",
            "device=cpu",
            "outdir=res",
            "gene_shards=3",
            *(f"{k}={v}" for k, v in exe_args.items()),
        ],
        capture_output=True,
        text=True,
        env=subprocess_env(),
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    base = ["-m", inputs["model"], "--genes", gtf, "-g", inputs["genome"], "-q"]
    ok("predict", *base, "--device", "cpu", "-o", tmp_path / "plain.parquet")
    got = read_table(tmp_path / "res" / "genes.parquet")
    assert got.equals(read_table(tmp_path / "plain.parquet"))
    assert got.num_rows == 6 * 2  # the demo's six genes x two tasks


# ----------------------------------------------------------------------------- option checks


def _help_options(command: str) -> set[str]:
    result = invoke(command, "--help")
    assert result.exit_code == 0
    return set(re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", result.output))


def _grelu_calls(text: str, prefix: str) -> list[tuple[str, str]]:
    """(subcommand, arguments) of every ``<prefix> predict|merge|variants ...`` in a workflow
    file."""
    joined = re.sub(r"\\\\?\n\s*", " ", text)  # shell line continuations (\ or \\ in Groovy)
    joined = re.sub(r'"\s*\n\s*"', "", joined)  # Snakemake's implicitly joined strings
    calls = re.findall(
        re.escape(prefix) + r"\s+(predict|merge|variants)\s+([^\n]*?)(?:2>|\"\"\"|$)", joined
    )
    return calls


def _options(args: str) -> set[str]:
    return set(re.findall(r"(?<![\w${}.-])(--?[a-zA-Z][\w-]*)", args))


@pytest.mark.parametrize(
    ("path", "prefix"),
    [(MAIN_NF, "${params.grelu}"), (SNAKEFILE, "{params.grelu}")],
    ids=["nextflow", "snakemake"],
)
def test_workflow_examples_use_only_real_options(path, prefix):
    calls = _grelu_calls(path.read_text(), prefix)
    assert {c for c, _ in calls} >= {"predict", "merge"}, calls
    known = {c: _help_options(c) for c in ("predict", "merge", "variants")}
    for command, args in calls:
        used = _options(args)
        assert used, args
        missing = used - known[command]
        assert not missing, f"{path.name}: grelu {command} has no option(s) {sorted(missing)}"
    predict_args = " ".join(a for c, a in calls if c == "predict")
    for needed in ("--shard", "--resume", "--log-format", "--format"):
        assert needed in predict_args


def test_nextflow_example_is_parallel_to_snakemake():
    text = MAIN_NF.read_text()
    config = NF_CONFIG.read_text()
    assert "label 'gpu'" in text and "withLabel: gpu" in config and "accelerator = 1" in config
    assert text.count("{") == text.count("}") and config.count("{") == config.count("}")
    assert "params.shards" in text and "collect()" in text  # scatter, then gather
    snake = SNAKEFILE.read_text()
    assert "gpu=GPUS" in snake and "log:" in snake
