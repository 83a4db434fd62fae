"""benchmarks/gpu_check.sh without a GPU: valid bash, a dry run that runs nothing and uses only
options the CLI and forward_only.py have, and a clear exit 4 (not a hang) without CUDA."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]
SCRIPT = ROOT / "benchmarks" / "gpu_check.sh"


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHON": sys.executable, **extra}


def test_gpu_check_is_valid_bash() -> None:
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True)


def _flags(command: str) -> set[str]:
    return set(re.findall(r"(?<=\s)--[a-z][a-z0-9-]*", " " + command))


def test_dry_run_runs_nothing_and_uses_existing_options(tmp_path: Path) -> None:
    res = subprocess.run(
        ["bash", str(SCRIPT), "--dry-run", "--workdir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
        check=False,
    )
    assert res.returncode == 0, res.stderr
    commands = [ln[2:] for ln in res.stderr.splitlines() if ln.startswith("+ ")]
    predicts = [c for c in commands if " -m grelu_cli predict " in c]
    forwards = [c for c in commands if "forward_only.py" in c]
    assert len(predicts) == 4 and len(forwards) == 4
    assert not list(tmp_path.glob("*.ckpt")) and not (tmp_path / "genome.fa").exists()

    def help_text(cmd: list[str]) -> str:
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout

    predict_help = help_text([sys.executable, "-m", "grelu_cli", "predict", "--help"])
    forward_help = help_text([sys.executable, str(ROOT / "benchmarks" / "forward_only.py"), "-h"])
    for cmd in predicts:
        missing = {f for f in _flags(cmd) if f not in predict_help}
        assert not missing, f"grelu predict has no {missing}: {cmd}"
    for cmd in forwards:
        missing = {f for f in _flags(cmd) if f not in forward_help}
        assert not missing, f"forward_only.py has no {missing}: {cmd}"
    # The OOM step expects the CLI's out-of-memory exit code.
    assert "--batch-size 128" in " ".join(predicts) and "(want 5)" in SCRIPT.read_text()


def test_without_cuda_it_stops_at_once_with_an_error(tmp_path: Path) -> None:
    res = subprocess.run(
        ["bash", str(SCRIPT), "--workdir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=180,
        env=_env(CUDA_VISIBLE_DEVICES=""),
        check=False,
    )
    assert res.returncode == 4
    assert res.stderr.startswith("error: ") and "CUDA" in res.stderr
    assert not list(tmp_path.glob("*.ckpt"))
