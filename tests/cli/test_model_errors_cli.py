"""What a user sees when ``-m``/``models info`` gets the wrong thing: text or random bytes named
``.ckpt``, bare pickles, typos in names and paths, mistyped ``--param`` values, unknown
``model_type``s, and ``--tasks`` for a model whose weights are not cached. Each is one line on
stderr with the contract's exit code, checked in real processes where a user would meet it."""

from __future__ import annotations

import pickle
import random
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from grelu_cli.cli import app

CKPT_HINT = "give a gReLU .ckpt, a torch.save state dict (.pt) or a .safetensors file"


def grelu(*args: str | Path):
    """Run ``grelu ARGS`` in-process; the root group maps errors exactly as the program does."""
    result = CliRunner().invoke(app, [str(a) for a in args])
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


def grelu_process(*args: str | Path) -> subprocess.CompletedProcess:
    """``python -m grelu_cli ARGS`` as a real process (what a user's shell sees)."""
    return subprocess.run(
        [sys.executable, "-m", "grelu_cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def error_line(proc: subprocess.CompletedProcess, code: int) -> str:
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == code, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]


@pytest.fixture(scope="module")
def fasta(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("fa") / "seqs.fa"
    path.write_text(">s1\n" + "ACGT" * 50 + "\n")
    return path


@pytest.fixture(scope="module")
def text_ckpt(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bad") / "model.ckpt"
    path.write_text("e\n")  # made torch's unpickler fail with "IndexError: pop from empty list"
    return path


def test_text_ckpt_in_models_info_and_predict(text_ckpt, fasta, tmp_path):
    expected = f"error: {text_ckpt} is not a PyTorch checkpoint ({CKPT_HINT})"
    assert error_line(grelu("models", "info", text_ckpt), 3) == expected
    out = tmp_path / "p.parquet"
    proc = grelu_process("predict", "-m", text_ckpt, "--fasta", fasta, "-o", out)
    assert error_line(proc, 3) == expected
    assert not out.exists()


def test_random_bytes_ckpt(tmp_path):
    rng = random.Random(11)
    path = tmp_path / "weights.ckpt"
    path.write_bytes(bytes(rng.randrange(256) for _ in range(2048)))
    line = error_line(grelu("models", "info", path), 3)
    assert line == f"error: {path} is not a PyTorch checkpoint ({CKPT_HINT})"


def test_plain_pickle_is_refused_with_the_reason(tmp_path):
    path = tmp_path / "weights.pt"
    path.write_bytes(pickle.dumps({"w": torch.zeros(2)}))
    line = error_line(grelu("models", "info", path, "--arch", "ConvModel"), 3)
    assert line == (
        f"error: {path} is a legacy/plain pickle, which grelu-cli never unpickles (re-save it "
        "with torch.save from a trusted environment or pass --trust-checkpoint)"
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("built") / "m.ckpt"
    proc = grelu(
        "models",
        "build",
        "ConvModel",
        "--n-tasks",
        "2",
        "--seq-len",
        "100",
        "--param",
        "stem_channels=4",
        "--param",
        "channel_init=4",
        "--param",
        "n_conv=1",
        "-o",
        out,
    )
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.mark.parametrize(
    ("value", "shown"), [("abc", "'abc'"), ("2.5", "2.5"), ("true", "true"), ("[2]", "[2]")]
)
def test_build_param_of_the_wrong_type_is_a_usage_error(tmp_path, value, shown):
    out = tmp_path / "m.ckpt"
    proc = grelu("models", "build", "ConvModel", "--param", f"n_tasks={value}", "-o", out)
    assert error_line(proc, 2) == (
        f"error: --param: ConvModel parameter n_tasks takes an integer, not {shown} "
        "(e.g. --param n_tasks=8)"
    )
    assert not out.exists()


def test_build_param_types_follow_the_signature(tmp_path):
    out = tmp_path / "m.ckpt"
    base = ["models", "build", "ConvModel", "--n-tasks", "2", "--seq-len", "100", "-o", out]
    line = error_line(grelu(*base, "--param", "norm=1"), 2)
    assert "parameter norm takes true or false, not 1" in line
    line = error_line(grelu(*base, "--param", "dropout=high"), 2)
    assert "parameter dropout takes a number, not 'high'" in line
    line = error_line(grelu(*base, "--param", "pool_func=3"), 2)
    assert "parameter pool_func takes a name (text) or null, not 3" in line
    assert not out.exists()


def test_predict_arch_param_of_the_wrong_type_is_a_usage_error(built, fasta, tmp_path):
    sd = tmp_path / "sd.pt"
    obj = torch.load(built, weights_only=True)
    torch.save({k[len("model.") :]: v for k, v in obj["state_dict"].items()}, sd)
    out = tmp_path / "p.parquet"
    for value, shown in (("abc", "'abc'"), ("2.5", "2.5")):
        proc = grelu(
            "predict",
            "-m",
            sd,
            "--arch",
            "ConvModel",
            "--param",
            f"n_tasks={value}",
            "--fasta",
            fasta,
            "-o",
            out,
        )
        line = error_line(proc, 2)
        assert f"ConvModel parameter n_tasks takes an integer, not {shown}" in line
    assert not out.exists()


def test_checkpoint_with_unknown_model_type_or_bad_params_is_bad_input(built, tmp_path):
    obj = torch.load(built, weights_only=True)
    obj["hyper_parameters"]["model_params"]["model_type"] = "FancyNet"
    fancy = tmp_path / "fancy.ckpt"
    torch.save(obj, fancy)
    line = error_line(grelu("models", "info", fancy), 3)
    assert line.startswith(
        f"error: {fancy}: model_type 'FancyNet' is not an architecture grelu-cli knows ("
    )
    obj["hyper_parameters"]["model_params"].update(model_type="ConvModel", n_tasks="two")
    bad = tmp_path / "bad.ckpt"
    torch.save(obj, bad)
    line = error_line(grelu("models", "info", bad), 3)
    assert "ConvModel parameter n_tasks takes an integer, not 'two'" in line


@pytest.mark.parametrize("spec", ["model.ckp", "weights.bin2", "./model", "~/nope/model"])
def test_missing_file_like_names_are_missing_files(spec, tmp_path, monkeypatch, fasta):
    monkeypatch.chdir(tmp_path)
    line = error_line(grelu("models", "info", spec), 4)
    assert line == f"error: model file {spec} does not exist (check the path)"
    proc = grelu("predict", "-m", spec, "--fasta", fasta, "-o", tmp_path / "p.parquet")
    assert error_line(proc, 4) == line


def test_missing_file_suggests_the_file_beside_it(built, tmp_path):
    typo = built.parent / "m.ckp"
    line = error_line(grelu("models", "info", typo), 4)
    assert line == f"error: model file {typo} does not exist (did you mean {built}?)"


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("notamodel", "(see 'grelu models list')"),
        ("xyz", "(see 'grelu models list')"),
        ("borzio", "(did you mean borzoi? see 'grelu models list')"),
        ("Enformr", "(did you mean enformer? see 'grelu models list')"),
        ("convmodl", "(did you mean ConvModel"),
    ],
)
def test_unknown_names_suggest_only_close_matches(name, hint):
    line = error_line(grelu("models", "info", name), 2)
    assert line.startswith(f"error: unknown model '{name}' {hint}"), line
