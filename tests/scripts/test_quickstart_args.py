"""quickstart.sh takes no arguments: --help explains it, anything else is refused before any work."""
import pathlib
import subprocess

QUICKSTART = pathlib.Path(__file__).resolve().parents[2] / "quickstart.sh"


def run(*args):
    return subprocess.run(["bash", str(QUICKSTART), *args], capture_output=True, text=True, timeout=30)


def test_help_prints_the_header_and_does_nothing():
    result = run("--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("One command to see the plugin work")
    assert "building the plugin" not in result.stdout


def test_an_unknown_argument_is_refused_by_name():
    result = run("--bucket=x")
    assert result.returncode == 2
    assert "unknown argument: --bucket=x" in result.stderr
    assert result.stdout == ""
