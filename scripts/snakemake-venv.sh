#!/usr/bin/env bash
# Create (or reuse) .venv-snakemake: Snakemake in its own virtualenv, apart from .venv
# (Snakemake pins packages that conflict with the project's). The workflow tests
# (tests/workflow/) run the examples/snakemake/Snakefile with it; the Snakefile calls the
# project's own `grelu` (.venv/bin/grelu), so grelu-cli is not installed here.
# Usage: bash scripts/snakemake-venv.sh     (SNAKEMAKE_VENV=path to use another location)
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${SNAKEMAKE_VENV:-.venv-snakemake}"
py="${PYTHON:-python3}"
version="${SNAKEMAKE_VERSION:-9.27.1}"
if [ -x "$venv/bin/snakemake" ] && "$venv/bin/snakemake" --version >/dev/null 2>&1; then
  echo "ready: $venv/bin/snakemake ($("$venv/bin/snakemake" --version))" >&2
  exit 0
fi
if [ ! -x "$venv/bin/python" ]; then
  "$py" -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --upgrade pip >/dev/null
"$venv/bin/python" -m pip install -q "snakemake==$version"
echo "ready: $venv/bin/snakemake ($("$venv/bin/snakemake" --version))" >&2
