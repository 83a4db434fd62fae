#!/usr/bin/env bash
# Create (or update) the project virtualenv in .venv and install grelu-cli with its test extras.
# Usage: bash scripts/setup.sh            (GRELU_VENV=path to use another location)
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${GRELU_VENV:-.venv}"
py="${PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ]; then
  "$py" -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --upgrade pip >/dev/null
# constraints.txt pins torch so CPU-only machines with a local CPU wheel use it.
"$venv/bin/python" -m pip install -q -c constraints.txt -e '.[test]'
echo "ready: $venv/bin/grelu" >&2
