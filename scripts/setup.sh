#!/usr/bin/env bash
# Create (or update) the project virtualenv in .venv and install grelu-cli in editable mode.
# Usage: bash scripts/setup.sh [EXTRAS]
#   EXTRAS                 comma-separated pyproject extras to install, default "test"
#                          (also GRELU_EXTRAS; "" for the runtime alone, "plot" for grelu plot)
#   GRELU_VENV=path        another virtualenv location (default .venv)
#   GRELU_SETUP_FORCE=1    run pip even when nothing changed
# pip runs only when needed: a stamp in the virtualenv holds a hash of pyproject.toml,
# constraints.txt and the Python version, and the extras installed. When the hash matches and
# the extras asked for are installed, nothing is reinstalled (the editable install picks up code
# changes by itself). Otherwise pip installs the extras asked for plus those already there.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${GRELU_VENV:-.venv}"
py="${PYTHON:-python3}"
extras="${1-${GRELU_EXTRAS-test}}"
stamp="$venv/.grelu-setup-stamp"
if [ ! -x "$venv/bin/python" ]; then
  "$py" -m venv "$venv"
  rm -f "$stamp"
fi
# Prints "skip" or the extras to install; with "write", records a finished install.
plan() {
  "$venv/bin/python" - "$stamp" "$extras" "${GRELU_SETUP_FORCE:-0}" "$@" <<'PY'
import hashlib, os, sys
stamp, asked, force, *write = sys.argv[1:]
h = hashlib.sha256(sys.version.encode())
for name in ("pyproject.toml", "constraints.txt"):
    with open(name, "rb") as fh:
        h.update(b"\0" + name.encode() + b"\0" + fh.read())
digest = h.hexdigest()
want = {e.strip() for e in asked.split(",") if e.strip()}
have_digest, have = "", set()
if os.path.exists(stamp):
    lines = open(stamp).read().splitlines() + ["", ""]
    have_digest, have = lines[0], {e for e in lines[1].split(",") if e}
if write:
    with open(stamp, "w") as fh:
        fh.write(digest + "\n" + ",".join(sorted(set(write[0].split(",")) - {""})) + "\n")
elif force == "0" and digest == have_digest and want <= have:
    print("skip")
else:
    print(",".join(sorted(want | have)) or "-")
PY
}
todo="$(plan)"
if [ "$todo" = "skip" ] && [ -x "$venv/bin/grelu" ]; then
  echo "ready: $venv/bin/grelu (up to date)" >&2
  exit 0
fi
[ "$todo" = "skip" ] && todo="$extras"
[ "$todo" = "-" ] && todo=""
rm -f "$stamp"
"$venv/bin/python" -m pip install -q --upgrade pip >/dev/null
# constraints.txt pins torch so CPU-only machines with a local CPU wheel use it.
target="."
[ -n "$todo" ] && target=".[$todo]"
"$venv/bin/python" -m pip install -q -c constraints.txt -e "$target"
plan "$todo" >/dev/null
echo "ready: $venv/bin/grelu (extras: ${todo:-none})" >&2
