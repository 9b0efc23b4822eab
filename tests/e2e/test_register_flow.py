"""register.sh against the real worker, exactly as users run it: a .env file, ./register.sh,
then messages from the SINETStream client end up as the seed's objects; re-running after an
edit updates in place; --two-connectors and --delete do what they say."""

import subprocess
from pathlib import Path

import pytest

from helpers import (REPO, assert_objects, create_topic, end_offsets, expected_objects, produce, stored_objects,
                     wait_until)

REGISTER = REPO / "register.sh"


def write_env(path: Path, stack, topic: str, bucket: str, store_url: str, extension: str, s3: bool) -> Path:
    lines = [f"BROKER_HOSTNAME={stack.bootstrap}", f"KAFKA_TOPIC={topic}", f"S3_BUCKET_NAME={bucket}",
             f"S3_ENDPOINT_URL={store_url}", f"S3_OBJECT_EXTENSION={extension}", "TIMEZONE=Asia/Tokyo"]
    if s3:  # the worker holds the same credentials in its environment, as the compose file does
        lines += [f"AWS_ACCESS_KEY_ID={stack.access_key}", f"AWS_SECRET_KEY={stack.secret_key}"]
    path.write_text("\n".join(lines) + "\n")
    return path


def register(stack, env_file: Path, *args: str) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "ENV_FILE": str(env_file), "CONNECT_URL": stack.connect_url,
           "CONNECT_WAIT": "60"}
    return subprocess.run([str(REGISTER), *args], env=env, capture_output=True, text=True, timeout=180)


@pytest.fixture
def registered(stack, connect):
    """Deletes whatever register.sh created, whatever the test did."""
    yield
    for name in ("s3-sink", "s3-sink-data", "s3-sink-timestamp"):
        if connect.status(name) is not None:
            connect.delete(name)


def run_seed_flow(stack, connect, tmp_path, topic, bucket, store_url, store_root, s3):
    env_file = write_env(tmp_path / ".env", stack, topic, bucket, store_url, ".json", s3)
    result = register(stack, env_file)
    assert result.returncode == 0, result.stdout + result.stderr
    assert stack.secret_key not in result.stdout + result.stderr
    connect.wait_running("s3-sink")

    sent = produce(stack, tmp_path, topic, [b'{"temperature": 22.5}', b'{"temperature": 22.7}'])
    connect.wait_committed("s3-sink", end_offsets(stack, topic), timeout=60)
    assert_objects(stored_objects(store_root, bucket), expected_objects(topic, sent, ext=".json"))

    status = register(stack, env_file, "--status")
    assert status.returncode == 0 and "RUNNING" in status.stdout, status.stdout + status.stderr
    return env_file


def test_register_for_s3(stack, connect, registered, s3, names, tmp_path):
    s3.create_bucket(Bucket=names.bucket)
    create_topic(stack, names.topic)
    env_file = run_seed_flow(stack, connect, tmp_path, names.topic, names.bucket, stack.s3_url, stack.s3_dir, s3=True)
    config = connect.call("GET", "/connectors/s3-sink/config")
    assert config["aws.secret.access.key"].startswith("${env:"), "secret not passed as a reference"

    # Edit .env and run it again: updated in place, no delete needed.
    write_env(env_file, stack, names.topic, names.bucket, stack.s3_url, ".bin", s3=True)
    assert register(stack, env_file).returncode == 0
    wait_until(lambda: connect.call("GET", "/connectors/s3-sink/config").get("format.bytearray.extension") == ".bin",
               30, "the updated extension")

    deleted = register(stack, env_file, "--delete")
    assert deleted.returncode == 0, deleted.stdout + deleted.stderr
    wait_until(lambda: "s3-sink" not in connect.names(), 30, "s3-sink to be deleted")


def test_register_for_local_directory(stack, connect, registered, names, tmp_path):
    create_topic(stack, names.topic)
    root = tmp_path / "data"
    run_seed_flow(stack, connect, tmp_path, names.topic, names.bucket, f"file://{root}", root, s3=False)


def test_two_connectors_like_the_seed(stack, connect, registered, s3, names, tmp_path):
    s3.create_bucket(Bucket=names.bucket)
    create_topic(stack, names.topic)
    env_file = write_env(tmp_path / ".env", stack, names.topic, names.bucket, stack.s3_url, ".json", s3=True)
    result = register(stack, env_file, "--two-connectors")
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("s3-sink-data", "s3-sink-timestamp"):
        connect.wait_running(name)

    sent = produce(stack, tmp_path, names.topic, [b"one", b"two"])
    for name in ("s3-sink-data", "s3-sink-timestamp"):
        connect.wait_committed(name, end_offsets(stack, names.topic), timeout=60)
    assert_objects(stored_objects(stack.s3_dir, names.bucket),
                   expected_objects(names.topic, sent, ext=".json"))


def test_register_without_keys_takes_the_workers_credentials(stack, connect, registered, s3, names, tmp_path):
    """No keys in .env, as with an IAM role: register.sh registers no aws.* key and the engine takes
    the credentials from the worker's environment (the local stack's worker has AWS_ACCESS_KEY_ID and
    AWS_SECRET_KEY there, as a container has the chain's variables). versitygw checks every
    signature, so the stored objects prove the keys were found there."""
    s3.create_bucket(Bucket=names.bucket)
    create_topic(stack, names.topic)
    run_seed_flow(stack, connect, tmp_path, names.topic, names.bucket, stack.s3_url, stack.s3_dir, s3=False)
    config = connect.call("GET", "/connectors/s3-sink/config")
    assert not [k for k in config if k.startswith("aws.")], config
