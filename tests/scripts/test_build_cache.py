"""scripts/build.sh's plugin cache, on a copy of the repository's build inputs with a stand-in
`gradle` (it writes build/plugin and build/distributions and counts its runs), so the cache logic
is tested in seconds: a build is kept under SINETS3_CACHE/plugins/<hash>; the same inputs are
copied from there (saying so) instead of running gradle; any change to a file the build reads,
including a new file that build.gradle names, runs gradle again."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

FAKE_GRADLE = """#!/bin/bash
if [ "$1" = --version ]; then echo "Gradle 4.4.1"; exit 0; fi
echo "$*" >>"$GRADLE_CALLS"
n=$(wc -l <"$GRADLE_CALLS")
mkdir -p build/plugin build/distributions
echo "jar of build $n" >build/plugin/sinetstream-s3-sink-0.1.0.jar
echo "zip of build $n" >build/distributions/sinetstream-s3-sink-0.1.0.zip
"""


@pytest.fixture
def repo(tmp_path):
    """The files build.sh hashes, copied; target/ and build/ left out."""
    root = tmp_path / "repo"
    root.mkdir()
    for name in ("rust-core", "java-shim", "scripts"):
        shutil.copytree(REPO / name, root / name, ignore=shutil.ignore_patterns("target", "__pycache__"))
    for name in ("Cargo.toml", "Cargo.lock", "build.gradle", "settings.gradle"):
        shutil.copy(REPO / name, root / name)
    (root / "bench" / "ceiling").mkdir(parents=True)
    shutil.copy(REPO / "bench/ceiling/Cargo.toml", root / "bench/ceiling/Cargo.toml")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "gradle").write_text(FAKE_GRADLE)
    (bin_dir / "gradle").chmod(0o755)
    return root


def build(repo: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    tmp = repo.parent
    full_env = {"PATH": f"{tmp}/bin:{os.environ['PATH']}", "HOME": os.environ.get("HOME", "/tmp"),
                "SINETS3_CACHE": str(tmp / "cache"), "GRADLE_CALLS": str(tmp / "gradle-calls")}
    full_env.update(env)
    result = subprocess.run(["bash", str(repo / "scripts/build.sh"), *args], cwd=repo, env=full_env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def gradle_runs(repo: Path) -> int:
    calls = repo.parent / "gradle-calls"
    return len(calls.read_text().splitlines()) if calls.exists() else 0


def jar(repo: Path) -> str:
    return (repo / "build/plugin/sinetstream-s3-sink-0.1.0.jar").read_text()


def test_same_inputs_are_copied_from_the_cache(repo):
    build(repo)
    assert gradle_runs(repo) == 1
    entries = list((repo.parent / "cache" / "plugins").iterdir())
    assert len(entries) == 1 and (entries[0] / "plugin/sinetstream-s3-sink-0.1.0.jar").exists()
    assert "rust-core/jni/src/lib.rs" in (entries[0] / "inputs.txt").read_text().splitlines()

    shutil.rmtree(repo / "build")  # a fresh clone
    result = build(repo)
    assert gradle_runs(repo) == 1
    assert "copied from the build cache" in result.stdout and entries[0].name in result.stdout
    assert jar(repo) == "jar of build 1\n"
    assert (repo / "build/distributions/sinetstream-s3-sink-0.1.0.zip").read_text() == "zip of build 1\n"


@pytest.mark.parametrize("change", [
    lambda r: (r / "rust-core/engine/src/naming.rs").write_text("// changed\n", encoding="utf-8") and None,
    lambda r: (r / "java-shim/src/main/java/New.java").write_text("class New {}\n"),
    lambda r: (r / "scripts/build-native.sh").open("a").write("# changed\n"),
    lambda r: (r / "Cargo.lock").open("a").write("\n"),
])
def test_a_changed_input_builds_again(repo, change):
    build(repo)
    change(repo)
    result = build(repo)
    assert gradle_runs(repo) == 2 and "copied from the build cache" not in result.stdout
    assert jar(repo) == "jar of build 2\n"


def test_a_file_named_in_build_gradle_is_an_input(repo):
    # another engineer adds a licence file to the zip: the cache must notice its edits
    (repo / "LICENSE").write_text("Apache License 2.0\n")
    with (repo / "build.gradle").open("a") as f:
        f.write("\npluginZip { from('LICENSE') }\n")
    build(repo)
    (repo / "LICENSE").write_text("Apache License 2.0, edited\n")
    build(repo)
    assert gradle_runs(repo) == 2


def test_unrelated_files_and_arguments(repo):
    build(repo)
    (repo / "docs").mkdir(exist_ok=True)
    (repo / "docs" / "notes.md").write_text("docs change\n")  # not bundled: not named in build.gradle
    (repo / "rust-core" / "target").mkdir()
    (repo / "rust-core" / "target" / "junk.o").write_text("x")
    assert "copied from the build cache" in build(repo).stdout
    build(repo, "--info")  # gradle arguments: a real build, no cache
    assert gradle_runs(repo) == 2
    build(repo, SINETS3_PLUGIN_CACHE="off")
    assert gradle_runs(repo) == 3


def test_old_entries_are_pruned(repo):
    for i in range(10):
        (repo / "rust-core/engine/src/naming.rs").write_text(f"// version {i}\n")
        build(repo)
    assert gradle_runs(repo) == 10
    assert len(list((repo.parent / "cache" / "plugins").iterdir())) == 8
