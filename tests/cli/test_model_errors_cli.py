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

CKPT_HINT = "give a gReLU .ckpt, a torch.save state dict (.pt) or a .safetensors file"


def grelu(*args: str | Path, cwd: Path | None = None, env: dict | None = None):
    """``python -m grelu_cli ARGS`` as a real process (exit code and stderr as a user sees)."""
    return subprocess.run(
        [sys.executable, "-m", "grelu_cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=env,
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
    proc = grelu("predict", "-m", text_ckpt, "--fasta", fasta, "-o", out)
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
