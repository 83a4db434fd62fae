"""scripts/setup.sh runs pip only when something it depends on changed, installs the extras it
is asked for (the demo asks for "plot" only), and keeps extras already installed.

A stand-in virtualenv whose ``bin/python`` records ``-m pip ...`` calls instead of running pip
(and runs the real interpreter otherwise) keeps this fast and leaves every real environment
alone; the script under test is the real one, run by bash on a copy of the project files.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _project(tmp_path: Path) -> Path:
    proj = tmp_path / "proj"
    (proj / "scripts").mkdir(parents=True)
    for name in ("scripts/setup.sh", "scripts/demo.sh", "pyproject.toml", "constraints.txt"):
        shutil.copy(ROOT / name, proj / name)
    bin_dir = proj / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    python = bin_dir / "python"
    python.write_text(
        "#!/usr/bin/env bash\n"
        'if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then\n'
        '  shift 2; echo "pip $*" >> "$(dirname "$0")/../pip.log"; exit "${FAKE_PIP_RC:-0}"\n'
        "fi\n"
        f'exec {sys.executable} "$@"\n'
    )
    (bin_dir / "grelu").write_text('#!/usr/bin/env bash\necho grelu "$@"\n')
    for f in (python, bin_dir / "grelu"):
        f.chmod(0o755)
    return proj


def _setup(proj: Path, *args: str, rc: int = 0, **env: str) -> list[str]:
    """Run setup.sh (expecting exit ``rc``); return the pip install calls it made."""
    log = proj / ".venv" / "pip.log"
    log.unlink(missing_ok=True)
    environ = {k: v for k, v in os.environ.items() if not k.startswith("GRELU_")}
    proc = subprocess.run(
        ["bash", "scripts/setup.sh", *args],
        cwd=proj,
        capture_output=True,
        text=True,
        timeout=60,
        env={**environ, **env},
    )
    assert proc.returncode == rc, proc.stderr
    calls = log.read_text().splitlines() if log.exists() else []
    return [c for c in calls if "--upgrade pip" not in c]


def test_pip_runs_only_when_something_changed(tmp_path):
    proj = _project(tmp_path)
    assert _setup(proj) == ["pip install -q -c constraints.txt -e .[test]"]
    assert _setup(proj) == []  # nothing changed: no pip at all
    assert _setup(proj, GRELU_SETUP_FORCE="1") == ["pip install -q -c constraints.txt -e .[test]"]
    with open(proj / "constraints.txt", "a") as fh:
        fh.write("# a new pin\n")
    assert _setup(proj) == ["pip install -q -c constraints.txt -e .[test]"]
    assert _setup(proj) == []
    with open(proj / "pyproject.toml", "a") as fh:
        fh.write("\n# changed\n")
    assert _setup(proj) == ["pip install -q -c constraints.txt -e .[test]"]


def test_extras_are_chosen_and_kept(tmp_path):
    proj = _project(tmp_path)
    assert _setup(proj, "plot") == ["pip install -q -c constraints.txt -e .[plot]"]
    assert _setup(proj, "plot") == []
    # the test extras on top of plot: both stay installed, so neither asks for pip again
    assert _setup(proj, "test") == ["pip install -q -c constraints.txt -e .[plot,test]"]
    assert _setup(proj, "plot") == [] and _setup(proj) == []
    assert _setup(proj, GRELU_EXTRAS="plot") == []


def test_runtime_only_broken_and_failed_installs(tmp_path):
    proj = _project(tmp_path)
    assert _setup(proj, "") == ["pip install -q -c constraints.txt -e ."]
    assert _setup(proj, "") == []
    (proj / ".venv" / "bin" / "grelu").unlink()  # a broken install is repaired
    assert _setup(proj, "") == ["pip install -q -c constraints.txt -e ."]
    (proj / ".venv" / "bin" / "grelu").write_text("#!/usr/bin/env bash\n")
    # a failed pip leaves no stamp behind, so the next run tries again
    assert _setup(proj, "plot", rc=1, FAKE_PIP_RC="1") == []  # failed at pip's self-upgrade
    assert _setup(proj, "") == ["pip install -q -c constraints.txt -e ."]


def test_demo_installs_the_plot_extra_only():
    text = (ROOT / "scripts" / "demo.sh").read_text()
    assert "bash scripts/setup.sh plot" in text
    assert "[test]" not in text


def test_license_is_an_spdx_string_with_a_setuptools_that_reads_it():
    text = (ROOT / "pyproject.toml").read_text()
    assert '\nlicense = "MIT"\n' in text  # the table form warns on every install
    assert 'requires = ["setuptools>=77"]' in text  # the first to read SPDX strings
