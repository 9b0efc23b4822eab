"""verify.sh without a stack: how it runs the check in the compose flow (docker compose exec
into the stock kafka-connect container, whose environment holds the secrets), its options and
its exit codes. The check itself runs end to end in tests/e2e/test_verify.py."""
import os
import subprocess

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VERIFY = os.path.join(REPO, "verify.sh")
SECRET = "verify/Secret+Key-0123456789abcdef"

FAKE_DOCKER = """#!/bin/sh
printf '%s\\n' "$@" > "$DOCKER_ARGS"
case "$2" in
  ps) echo kafka-connect ;;
  exec) echo "verified 3 offsets in 6 objects: 1 missing, 0 duplicated, 0 orphaned"; exit 1 ;;
esac
"""


def run(tmp_path, *args, env_lines=("AWS_SECRET_KEY=" + SECRET,), extra_env=None):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    docker = bin_dir / "docker"
    docker.write_text(FAKE_DOCKER)
    docker.chmod(0o755)
    env_file = tmp_path / "dot_env"
    env_file.write_text("\n".join(env_lines) + "\n")
    empty = tmp_path / "no-plugin"
    empty.mkdir(exist_ok=True)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path), "ENV_FILE": str(env_file),
           "PLUGIN_DIR": str(empty), "DOCKER_ARGS": str(tmp_path / "docker-args")}
    env.update(extra_env or {})
    return subprocess.run(["bash", VERIFY, *args], env=env, capture_output=True, text=True, timeout=60)


def docker_args(tmp_path):
    return (tmp_path / "docker-args").read_text().splitlines()


def test_compose_flow_runs_the_check_in_the_container(tmp_path):
    result = run(tmp_path, "--connector", "s3-sink-data,s3-sink-timestamp")
    assert result.returncode == 1, result.stdout + result.stderr  # the check's status, passed through
    assert result.stdout.strip().endswith("1 missing, 0 duplicated, 0 orphaned")
    assert docker_args(tmp_path) == [
        "compose", "exec", "-T", "kafka-connect", "java", "-cp",
        "/usr/share/confluent-hub-components/sinetstream-s3-sink/*:/usr/share/java/kafka/*",
        "org.sinetstream.kafka.connect.s3.Verify", "--connect-url", "http://localhost:8083",
        "--connector", "s3-sink-data,s3-sink-timestamp"]
    assert SECRET not in result.stdout + result.stderr + "".join(docker_args(tmp_path))


def test_local_needs_the_plugin_and_says_so(tmp_path):
    result = run(tmp_path, "--local")
    assert result.returncode == 2
    assert "no plugin jar in" in result.stderr and "scripts/build.sh" in result.stderr


def test_bad_usage_is_status_2(tmp_path):
    assert run(tmp_path, "--frobnicate").returncode == 2
    assert run(tmp_path, "--connector").returncode == 2
    missing = run(tmp_path, extra_env={"ENV_FILE": str(tmp_path / "nonexistent")})
    assert missing.returncode == 2 and "not found" in missing.stderr
    assert "verified N offsets in M objects" in run(tmp_path, "--help").stdout
