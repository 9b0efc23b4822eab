"""scripts/setup-venv.sh where a user would run it: as a user without root, with Debian's Python,
whose pip refuses to install into the system (PEP 668), and also where that Python's venv module
lacks ensurepip (Debian without python3-venv). Runs on a copy of the script with a requirements
file naming only `six`, so that the test takes seconds."""
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SYSTEM_PYTHON = Path("/usr/bin/python3")
NOBODY = 65534

NO_ENSUREPIP = """#!/bin/sh
# Debian's python3 without python3-venv: `-m venv DIR` fails, `-m venv --without-pip DIR` works
if [ "$1" = -m ] && [ "$2" = venv ] && [ "$3" != --without-pip ]; then
  echo "The virtual environment was not created successfully because ensurepip is not available." >&2
  exit 1
fi
exec /usr/bin/python3 "$@"
"""


def externally_managed() -> bool:
    out = subprocess.run([str(SYSTEM_PYTHON), "-c", "import sysconfig; print(sysconfig.get_path('stdlib'))"],
                         capture_output=True, text=True).stdout.strip()
    return (Path(out) / "EXTERNALLY-MANAGED").exists()


pytestmark = pytest.mark.skipif(not SYSTEM_PYTHON.exists() or not externally_managed(),
                                reason="needs a system python3 that refuses pip installs (PEP 668)")


@pytest.fixture
def home():
    """A copy of the script in a tree that user nobody owns (in /tmp: pytest's own temporary
    directories are private to root)."""
    tmp_path = Path(tempfile.mkdtemp(prefix="sinets3-venv-test-"))
    tmp_path.chmod(0o755)
    root = tmp_path / "repo"
    (root / "scripts").mkdir(parents=True)
    (root / "tests" / "e2e").mkdir(parents=True)
    for name in ("setup-venv.sh", "lib.sh"):
        shutil.copy(REPO / "scripts" / name, root / "scripts" / name)
    (root / "tests/e2e/requirements.txt").write_text("six\n")
    (tmp_path / "python3").write_text(NO_ENSUREPIP)
    (tmp_path / "python3").chmod(0o755)
    if os.geteuid() == 0:
        subprocess.run(["chown", "-R", f"{NOBODY}:{NOBODY}", str(tmp_path)], check=True)
    yield tmp_path
    shutil.rmtree(tmp_path, ignore_errors=True)


def setup_venv(home: Path, python: str) -> subprocess.CompletedProcess:
    cmd = ["bash", str(home / "repo/scripts/setup-venv.sh")]
    if os.geteuid() == 0:  # drop root, as a user would run it
        cmd = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"] + cmd
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "PYTHON": python}
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)


def test_system_pip_refuses_but_setup_venv_works(home):
    refused = subprocess.run([str(SYSTEM_PYTHON), "-m", "pip", "install", "--dry-run", "six"],
                             capture_output=True, text=True)
    assert refused.returncode != 0 and "externally-managed-environment" in refused.stderr
    result = setup_venv(home, str(SYSTEM_PYTHON))
    assert result.returncode == 0, result.stdout + result.stderr
    venv_python = home / "repo/.venv/bin/python"
    assert subprocess.run([str(venv_python), "-c", "import six"]).returncode == 0
    assert (home / "repo/.venv").stat().st_uid == NOBODY or os.geteuid() != 0
    again = setup_venv(home, str(SYSTEM_PYTHON))
    assert again.returncode == 0 and "venv up to date" in again.stdout


def test_without_ensurepip(home):
    result = setup_venv(home, str(home / "python3"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no ensurepip" in result.stdout
    assert subprocess.run([str(home / "repo/.venv/bin/python"), "-c", "import six"]).returncode == 0


def test_no_python(home):
    result = setup_venv(home, "/nonexistent/python3")
    assert result.returncode == 1
    assert "/nonexistent/python3 not found" in result.stderr
