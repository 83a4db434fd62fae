"""Fixtures for the input side: the tiny committed genome (copied so .fai can be built)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

INPUT = Path(__file__).parents[1] / "data" / "input"


@pytest.fixture
def genome_path(tmp_path: Path) -> Path:
    """A fresh copy of tests/data/input/tiny.fa (chr1 3000 bp, chr2 1003 bp, chrM 500 bp)."""
    dst = tmp_path / "tiny.fa"
    shutil.copy(INPUT / "tiny.fa", dst)
    return dst


@pytest.fixture(scope="session")
def grelu_reference() -> dict:
    """Values computed with gReLU 1.1.0 (see tests/data/input/make_grelu_reference.py)."""
    return json.loads((INPUT / "grelu_reference.json").read_text())
