"""The guides tell the truth (issue 22, "Keep it true"): a renamed option, variable or key fails
here instead of the reader.

For README.md, README.ja.md, docs/user-guide.md, docs/user-guide.ja.md and example_dot_env:
- every command of their code blocks (and inline code) that runs ./register.sh, ./verify.sh,
  ./quickstart.sh or scripts/*: the script exists, its options are in its --help (or its usage
  comment), a scripts/ command's subcommand too, the variables set in front of it are its own;
  `docker compose` commands name profiles and services of docker-compose.yml (and options of
  `docker compose <command> --help`, where the plugin is installed);
- every .env variable they name is in example_dot_env, or listed in guides.py with its reader;
- every connector key they name is in docs/configuration.md (generated from the ConfigDef), or a
  Kafka Connect key listed in guides.py (checked against connect-runtime's classes);
- every relative link and #anchor resolves;
- each English guide and its Japanese one have the same sections and run the same commands.

The last tests run the checks on a copy of the repository with one option, one variable or one
key renamed, and expect them to fail.
"""
import os
import re
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import guides  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def no_problems(problems):
    assert not problems, "\n" + "\n".join(problems)


def test_commands_exist_as_written():
    no_problems(guides.command_problems(REPO))


def test_options_named_alone_exist():
    no_problems(guides.lone_option_problems(REPO))


def test_commands_are_found():
    # The extraction itself: the commands every guide must show are among those it reads.
    for name in ("README.md", "README.ja.md", "docs/user-guide.md", "docs/user-guide.ja.md"):
        found = {guides.normalized(c) for _, c in guides.commands(guides.Guide(REPO, name))}
        for command in ("./register.sh", "./register.sh --status", "./verify.sh"):
            assert command in found, f"{name}: {command}"
        if "user-guide" in name:
            assert {"docker compose --profile minio up -d", "docker compose --profile files up -d"} <= found
    readme = {guides.normalized(c) for _, c in guides.commands(guides.Guide(REPO, "README.md"))}
    assert {"./quickstart.sh", "scripts/test-all.sh", "scripts/build.sh"} <= readme


def test_variables_are_settings():
    no_problems(guides.variable_problems(REPO))


def test_keys_are_connector_keys():
    no_problems(guides.key_problems(REPO))


def test_connect_keys_are_kafkas():
    jar = guides.connect_runtime_jar(REPO)
    if jar is None:
        pytest.skip("no connect-runtime jar in ~/.cache/sinets3 (scripts/local-stack.sh fetches it)")
    assert guides.connect_keys_missing_from(jar) == []


def test_links_resolve():
    no_problems(guides.link_problems(REPO))


def test_english_and_japanese_cover_the_same_ground():
    no_problems(guides.parity_problems(REPO))
    for en, ja in guides.PAIRS:
        # each links to the other
        assert Path(ja).name in (REPO / en).read_text(encoding="utf-8"), f"{en} does not link to {ja}"
        assert Path(en).name in (REPO / ja).read_text(encoding="utf-8"), f"{ja} does not link to {en}"


def test_example_dot_env_comments_in_both_languages():
    # every comment paragraph (lines between blank lines, settings and section rules) that
    # explains something in English explains it in Japanese too
    paragraphs, current = [], []
    for line in (REPO / "example_dot_env").read_text(encoding="utf-8").splitlines() + [""]:
        if line.startswith("#") and not re.match(r"^#[A-Z_]+=|^# -+$|^#\s*$", line):
            current.append(line)
        elif current:
            paragraphs.append(current)
            current = []
    english = [p for p in paragraphs if any(re.search(r"[A-Za-z]{3,} [a-z]{2,} [a-z]{2,}", line) for line in p)]
    assert len(english) > 20
    lacking = [p[0] for p in english if not any(re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", line) for line in p)]
    assert not lacking, "comments without Japanese:\n" + "\n".join(lacking)


# ---------------------------------------------------------------- the checks catch renames

def copy_of_repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    for name in guides.GUIDES + ["register.sh", "verify.sh", "quickstart.sh", "docker-compose.yml",
                                 "docs/configuration.md", guides.NATIVE_LIBRARY_JAVA,
                                 "rust-core/engine/src/allowed_paths.rs", "bench/bench.py"]:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, root / name)
    shutil.copytree(REPO / "scripts", root / "scripts")
    return root


def rename(path: Path, old: str, new: str):
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.mark.parametrize("check, file, old, new, expected", [
    ("command_problems", "register.sh", "--two-connectors", "--pair",
     "./register.sh --two-connectors: not an option of register.sh"),
    ("command_problems", "scripts/local-stack.sh", "down", "stop-all",
     "scripts/local-stack.sh down: not a command its usage names"),
    ("variable_problems", "example_dot_env", "S3_OBJECT_EXTENSION", "S3_EXTENSION",
     "S3_OBJECT_EXTENSION: not a setting of example_dot_env"),
    ("key_problems", "docs/configuration.md", "`format.bytearray.separator`", "`format.bytearray.delimiter`",
     "format.bytearray.separator: not a key"),
], ids=["option", "subcommand", "variable", "key"])
def test_a_rename_fails(tmp_path, check, file, old, new, expected):
    root = copy_of_repo(tmp_path)
    assert getattr(guides, check)(root) == []
    rename(root / file, old, new)
    problems = [p for p in getattr(guides, check)(root) if expected in p]
    # found in the guides of both languages
    assert {p.split(":")[0] for p in problems} >= {"README.md", "README.ja.md"}, problems
