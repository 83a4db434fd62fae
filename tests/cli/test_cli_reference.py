"""docs/cli.md is generated from --help and must match the code (scripts/cli_reference.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_cli_reference_is_current():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "cli_reference.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr + " (run: python scripts/cli_reference.py)"


def test_cli_reference_covers_every_command():
    text = (ROOT / "docs" / "cli.md").read_text()
    for heading in ("## grelu predict", "## grelu merge", "## grelu plot", "## grelu models list"):
        assert heading in text
