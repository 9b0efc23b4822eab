# shellcheck shell=bash
# Helpers shared by the project's scripts; source it (after `set -euo pipefail`).
# Each helper either succeeds or stops the script with a message naming what failed.

# say MESSAGE: progress, on stderr (stdout stays for what a script is asked to print).
say() { printf '%s\n' "$*" >&2; }

# die MESSAGE: the error, named after the script, and exit 1.
die() {
  printf '%s: error: %s\n' "${0##*/}" "$*" >&2
  exit 1
}

# make_venv DIR [PYTHON]: a virtualenv with pip in DIR (kept when it already has one).
# Needs no root and works where pip refuses to install into the system Python (PEP 668):
# packages go into the venv only. Where the venv module has no ensurepip (Debian without
# python3-venv), the venv is made without pip, and pip is put into it by the system's pip
# (`pip --python`, pip >= 22.3) or from Debian's pip wheel.
make_venv() {
  local dir=$1 python=${2:-${PYTHON:-python3}} out wheels
  if [[ -x $dir/bin/python ]] && "$dir/bin/python" -m pip --version >/dev/null 2>&1; then
    return 0
  fi
  command -v "$python" >/dev/null 2>&1 || die "$python not found: Python 3 is needed (or set PYTHON=/path/to/python3)"
  rm -rf "$dir"
  say "creating the virtualenv $dir with $("$python" --version 2>&1)"
  if out="$("$python" -m venv "$dir" 2>&1)"; then
    return 0
  fi
  rm -rf "$dir"
  "$python" -m venv --without-pip "$dir" >/dev/null 2>&1 ||
    die "$python cannot create a virtualenv in $dir: $out"
  say "the venv module has no ensurepip; installing pip into $dir from the system's pip"
  if "$python" -m pip --python "$dir/bin/python" install -q pip >/dev/null 2>&1; then
    return 0
  fi
  shopt -s nullglob
  wheels=(/usr/share/python-wheels/pip-*.whl)
  shopt -u nullglob
  if ((${#wheels[@]})) && "$dir/bin/python" "${wheels[-1]}/pip" install -q --no-index "${wheels[-1]}" >/dev/null 2>&1; then
    return 0
  fi
  rm -rf "$dir"
  die "cannot put pip into a virtualenv with $python ($out); install python3-venv (root: apt-get install -y python3-venv) or set PYTHON to a Python that has the venv module"
}
