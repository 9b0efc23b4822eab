"""shellcheck over the user-facing and helper shell scripts."""
import glob
import os
import shutil
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_shellcheck_clean():
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck not installed (apt-get install shellcheck)")
    scripts = ["register.sh", "verify.sh", "quickstart.sh"] + sorted(
        os.path.relpath(p, REPO)
        for d in ("scripts", "docker", "bench")
        for p in glob.glob(os.path.join(REPO, d, "*.sh"))
    )
    result = subprocess.run(["shellcheck", *scripts], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
