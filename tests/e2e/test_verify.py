"""./verify.sh against the real connector on the local stack, run as users run it (a .env file,
the packaged plugin, Kafka's jars): a stored stream checks complete (status 0), a deleted object
is named by its offset (status 1), an unreachable Connect is status 2. No secret is printed."""

import os
import socket
import subprocess
from pathlib import Path

from helpers import REPO, create_topic, end_offsets, object_base, produce, sink_config
from test_register_flow import register, registered  # noqa: F401 (a fixture)
from test_register_flow import write_env as write_register_env

VERIFY = REPO / "verify.sh"
JAVA_HOME = os.environ.get("SINETS3_JAVA_HOME", "/usr/lib/jvm/java-17-openjdk-amd64")


def write_env(path: Path, stack, topic: str, bucket: str) -> Path:
    """register.sh's .env, plus the worker's REST port as users give it."""
    write_register_env(path, stack, topic, bucket, stack.s3_url, ".bin", s3=True)
    with path.open("a") as f:
        f.write(f"REST_PORT={stack.connect_url.rsplit(':', 1)[1]}\n")
    return path


def verify(env_file: Path, *args: str, connect_url: str | None = None) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "HOME": os.environ["HOME"], "ENV_FILE": str(env_file), "JAVA_HOME": JAVA_HOME}
    if connect_url:
        env["CONNECT_URL"] = connect_url
    return subprocess.run([str(VERIFY), *args], env=env, capture_output=True, text=True, timeout=120)


def last_line(result: subprocess.CompletedProcess) -> str:
    lines = result.stdout.strip().splitlines()
    return lines[-1] if lines else ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_verify_names_what_is_missing(stack, connect, connectors, s3, bucket, names, tmp_path):
    create_topic(stack, names.topic)
    connectors.start(names.connector, sink_config(stack, names.topic, bucket))
    sent = produce(stack, tmp_path, names.topic, [f"reading {i}".encode() for i in range(8)])
    connect.wait_committed(names.connector, end_offsets(stack, names.topic), timeout=60)
    env_file = write_env(tmp_path / ".env", stack, names.topic, bucket)
    runs = []

    def run(expected_status: int, expected_last: str) -> subprocess.CompletedProcess:
        result = verify(env_file, "--connector", names.connector)
        runs.append(result)
        assert (result.returncode, last_line(result)) == (expected_status, expected_last), \
            result.stdout + result.stderr
        return result

    complete = run(0, "verified 8 offsets in 16 objects: 0 missing, 0 duplicated, 0 orphaned")
    assert f"{names.topic}-0: committed offset 8, 16 objects" in complete.stdout

    base = object_base(names.topic, 0, 3, sent[3].kafka_ts)
    s3.delete_object(Bucket=bucket, Key=base + ".bin")
    orphaned = run(1, "verified 8 offsets in 15 objects: 0 missing, 0 duplicated, 1 orphaned")
    assert f"{names.topic}-0: offset 3: no payload object beside {base}-timestamp.txt" in orphaned.stdout

    s3.delete_object(Bucket=bucket, Key=base + "-timestamp.txt")
    missing = run(1, "verified 8 offsets in 14 objects: 1 missing, 0 duplicated, 0 orphaned")
    assert f"{names.topic}-0: missing offsets (in no object): 3" in missing.stdout

    unreachable = verify(env_file, "--connector", names.connector, connect_url=f"http://127.0.0.1:{free_port()}")
    runs.append(unreachable)
    assert unreachable.returncode == 2, unreachable.stdout + unreachable.stderr
    assert "cannot reach Kafka Connect at http://127.0.0.1:" in unreachable.stderr

    for result in runs:
        assert stack.secret_key not in result.stdout + result.stderr


def test_verify_finds_the_connectors_register_sh_made(stack, connect, registered, s3, bucket, names, tmp_path):
    """No --connector: the pair of --two-connectors, each kind checked against its own offsets."""
    create_topic(stack, names.topic, partitions=2)
    env_file = write_env(tmp_path / ".env", stack, names.topic, bucket)
    result = register(stack, env_file, "--two-connectors")
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("s3-sink-data", "s3-sink-timestamp"):
        connect.wait_running(name)
    produce(stack, tmp_path, names.topic, [f"reading {i}".encode() for i in range(6)])
    ends = end_offsets(stack, names.topic)
    for name in ("s3-sink-data", "s3-sink-timestamp"):
        connect.wait_committed(name, ends, timeout=60)

    result = verify(env_file)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "checking s3-sink-data (payload objects) and s3-sink-timestamp (timestamp objects)" in result.stdout
    assert last_line(result) == "verified 6 offsets in 12 objects: 0 missing, 0 duplicated, 0 orphaned"
    assert sum(ends.values()) == 6 and all(f"{names.topic}-{p}: committed offset {e}," in result.stdout
                                           for p, e in ends.items())
