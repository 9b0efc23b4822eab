#!/usr/bin/env bash
# Create or update the project's Python virtualenv (.venv/) for the end-to-end tests and the
# quick start. Idempotent: reinstalls only when tests/e2e/requirements.txt changed. Needs no
# root; PYTHON names the interpreter (default python3).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$repo/.venv"
req="$repo/tests/e2e/requirements.txt"
stamp="$venv/.requirements.sha256"

want="$(sha256sum "$req" | cut -d' ' -f1)"
if [[ -x $venv/bin/python && -f $stamp && "$(<"$stamp")" == "$want" ]]; then
  echo "venv up to date: $venv"
  exit 0
fi

make_venv "$venv"
rm -f "$stamp"
"$venv/bin/python" -m pip install -q --upgrade pip || die "pip could not upgrade itself in $venv (see above)"
"$venv/bin/python" -m pip install -q -r "$req" || die "pip install -r $req into $venv failed (see above)"
if "$venv/bin/python" -m pip show -q kafka-python >/dev/null 2>&1; then
  die "kafka-python is installed in $venv; it clashes with kafka-python-ng (rm -rf $venv and run again)"
fi
echo "$want" >"$stamp"
echo "venv ready: $venv"
