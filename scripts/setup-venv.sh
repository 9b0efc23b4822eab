#!/usr/bin/env bash
# Create or update the project's Python virtualenv (.venv/) for the end-to-end tests.
# Idempotent: reinstalls only when tests/e2e/requirements.txt changed.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$repo/.venv"
req="$repo/tests/e2e/requirements.txt"
stamp="$venv/.requirements.sha256"
python="${PYTHON:-python3}"

want="$(sha256sum "$req" | cut -d' ' -f1)"
if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "venv up to date: $venv"
  exit 0
fi

if [[ ! -x "$venv/bin/python" ]]; then
  echo "creating venv $venv with $("$python" --version)"
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q -r "$req"
if "$venv/bin/python" -m pip show -q kafka-python >/dev/null 2>&1; then
  echo "error: kafka-python is installed in $venv; it clashes with kafka-python-ng" >&2
  exit 1
fi
echo "$want" >"$stamp"
echo "venv ready: $venv"
