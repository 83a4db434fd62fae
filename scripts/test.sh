#!/usr/bin/env bash
# Set everything up on a fresh machine and run the whole test suite (what .ci/run calls).
# Setup reinstalls nothing when pyproject.toml and constraints.txt are unchanged (scripts/setup.sh).
# Extra arguments go to pytest, e.g. bash scripts/test.sh -k bigwig
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
venv="${GRELU_VENV:-.venv}"
"$venv/bin/ruff" check grelu_cli tests benchmarks examples scripts
"$venv/bin/ruff" format --check grelu_cli tests benchmarks examples scripts
"$venv/bin/mypy"  # the whole package (pyproject.toml [tool.mypy])
# Snakemake lives in its own virtualenv (it conflicts with some packages); the example
# workflow test runs it for real, and GRELU_REQUIRE_SNAKEMAKE=1 makes a missing one a failure.
bash scripts/snakemake-venv.sh
GRELU_REQUIRE_SNAKEMAKE=1 "$venv/bin/python" -m pytest -q "$@"
