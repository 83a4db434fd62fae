#!/usr/bin/env bash
# Set everything up on a fresh machine and run the main job on the shipped example data:
# predict bigWig and parquet tracks with the demo model, draw plots and score the demo VCF
# (see examples/demo/).
# Usage: bash scripts/demo.sh [OUTDIR]      (default out/demo)
# It installs only what the demo needs: grelu-cli and its plot extra (matplotlib).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh plot
venv="${GRELU_VENV:-.venv}"
PATH="$PWD/$venv/bin:$PATH" bash examples/demo/run.sh "${1:-out/demo}"
