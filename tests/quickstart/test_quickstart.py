"""The README's first command as a new user runs it: ./quickstart.sh in a fresh `git clone` of
this repository's HEAD, with the machine's caches warm (~/.cache/sinets3: the plugin build cache,
Kafka jars, versitygw; ~/.cache/pip). It must succeed on the first run, on the second, and after
`scripts/local-stack.sh down`, each time finding the messages of its own run; it must not read a
.env of the user's; when it fails it names what failed and the log to read.

The clone's stack runs on its own ports (QUICKSTART_TEST_PORTS="broker,controller,connect,s3",
default 29092,29093,28083,27070), so it never meets the e2e stack of scripts/test-all.sh; the
clone's stack is stopped at the end. The clone is removed unless a test failed (then its path
is printed, with its logs in .stack/logs/).
"""
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import urllib.request
import warnings
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PORTS = dict(zip(("broker", "controller", "connect", "s3"),
                 os.environ.get("QUICKSTART_TEST_PORTS", "29092,29093,28083,27070").split(",")))
# The first run may have to build the plugin when the cache misses (uncommitted build inputs).
FIRST_RUN_TIMEOUT = 1800
RUN_TIMEOUT = 600
TOPIC_DIR = Path("data/mybucket/topics/sinetstream.sensor")


class Clone:
    def __init__(self, path: Path):
        self.path = path
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith("SINETS3_") or k in ("SINETS3_CACHE", "SINETS3_JAVA_HOME")}
        for name in ("ENV_FILE", "CONNECT_URL", "VIRTUAL_ENV", "QUICKSTART_WAIT"):
            self.env.pop(name, None)
        self.env.update(SINETS3_BROKER_PORT=PORTS["broker"], SINETS3_CONTROLLER_PORT=PORTS["controller"],
                        SINETS3_CONNECT_PORT=PORTS["connect"], SINETS3_S3_PORT=PORTS["s3"])

    def run(self, *cmd: str, timeout: float = RUN_TIMEOUT, **env: str) -> subprocess.CompletedProcess:
        result = subprocess.run(list(cmd), cwd=self.path, env={**self.env, **env}, capture_output=True,
                                text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        print(f"$ {' '.join(cmd)}  (exit {result.returncode})\n{result.stdout}\n{result.stderr}")
        return result

    def quickstart(self, timeout: float = RUN_TIMEOUT, **env: str) -> subprocess.CompletedProcess:
        return self.run("./quickstart.sh", timeout=timeout, **env)

    def connect_url(self) -> str:
        text = (self.path / ".stack" / "stack.env").read_text()
        return re.search(r"^CONNECT_URL=(.*)$", text, re.M).group(1)

    def connector_config(self) -> dict:
        with urllib.request.urlopen(self.connect_url() + "/connectors/s3-sink/config", timeout=10) as answer:
            return json.load(answer)

    def payloads(self) -> set[Path]:
        root = self.path / TOPIC_DIR
        return set(root.rglob("*.json")) if root.exists() else set()


@pytest.fixture(scope="module")
def clone(request):
    failures_before = request.session.testsfailed
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True,
                          check=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                           capture_output=True, text=True, check=True).stdout
    if dirty:
        warnings.warn("uncommitted changes are not in the clone (it holds HEAD %s)" % head[:12])
    path = Path(tempfile.mkdtemp(prefix="sinets3-quickstart-")) / "sinetstream-s3-sink"
    subprocess.run(["git", "clone", "-q", "--no-checkout", str(REPO), str(path)], check=True, timeout=300)
    subprocess.run(["git", "checkout", "-q", head], cwd=path, check=True, timeout=300)
    c = Clone(path)
    yield c
    if (path / ".stack").exists():
        c.run("scripts/local-stack.sh", "down", timeout=300)
    if request.session.testsfailed > failures_before:
        print(f"kept the clone for a look: {path} (logs in {path}/.stack/logs)")
    else:
        shutil.rmtree(path.parent, ignore_errors=True)


def run_tag(result: subprocess.CompletedProcess) -> str:
    match = re.search(r'tagged "run": "([^"]+)"', result.stdout)
    assert match, "quickstart did not print its run tag:\n" + result.stdout
    return match.group(1)


def assert_own_messages_stored(clone: Clone, result: subprocess.CompletedProcess) -> set[Path]:
    """The run succeeded, and the files it lists are its own 5 messages, each with its timestamp."""
    assert result.returncode == 0, result.stdout + result.stderr
    tag = run_tag(result)
    listed = set(re.findall(r"^  (data/\S+)$", result.stdout, re.M))
    payloads = {clone.path / p for p in listed if p.endswith(".json")}
    assert len(payloads) == 5 and len(listed) == 10, result.stdout
    for payload in payloads:
        reading = json.loads(payload.read_bytes())
        assert reading["run"] == tag and reading["id"] == "sensor-1", payload
        stamp = payload.with_name(payload.name[:-len(".json")] + "-timestamp.txt")
        assert re.fullmatch(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\n", stamp.read_bytes()), stamp
    assert {p for p in clone.payloads() if json.loads(p.read_bytes()).get("run") == tag} == payloads
    return payloads


def test_first_run_in_a_fresh_clone(clone):
    # A user who did `cp example_dot_env .env` for docker compose: its kafka.example.org must
    # not be used, and the file must stay as it is.
    shutil.copy(clone.path / "example_dot_env", clone.path / ".env")
    users_env = (clone.path / ".env").read_bytes()
    assert not (clone.path / "build").exists() and not (clone.path / ".venv").exists()

    result = clone.quickstart(timeout=FIRST_RUN_TIMEOUT)
    assert_own_messages_stored(clone, result)
    if "copied from the build cache" not in result.stdout + result.stderr:
        warnings.warn("the fresh clone built the plugin: no build cache entry for HEAD's inputs")

    assert (clone.path / ".env").read_bytes() == users_env
    settings = (clone.path / ".stack" / "quickstart.env").read_text()
    assert "kafka.example.org" not in settings
    config = clone.connector_config()
    assert config["store.url"] == f"file://{clone.path}/data"
    assert config["topics"] == "sinetstream.sensor"
    assert not any(k.startswith("aws.") for k in config)


def test_second_run_finds_its_own_messages(clone):
    before = clone.payloads()
    result = clone.quickstart()
    mine = assert_own_messages_stored(clone, result)
    assert not mine & before
    assert "copied from the build cache" in result.stdout + result.stderr or "plugin ready" in result.stdout


def test_run_after_local_stack_down(clone):
    down = clone.run("scripts/local-stack.sh", "down", timeout=300)
    assert down.returncode == 0, down.stderr
    status = clone.run("scripts/local-stack.sh", "status")
    assert status.returncode == 3 and "connect: stopped" in status.stdout
    before = clone.payloads()
    mine = assert_own_messages_stored(clone, clone.quickstart())
    assert not mine & before


def test_messages_not_stored_names_the_worker_log(clone):
    url = clone.connect_url()
    urllib.request.urlopen(urllib.request.Request(url + "/connectors/s3-sink/pause", method="PUT"), timeout=10)
    try:
        result = clone.quickstart(QUICKSTART_WAIT="10")
    finally:
        urllib.request.urlopen(urllib.request.Request(url + "/connectors/s3-sink/resume", method="PUT"),
                               timeout=10)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAILED while waiting for the 5 messages" in result.stderr
    assert "0 of the 5 messages of this run were stored within 10 s" in result.stderr
    assert str(clone.path / ".stack/logs/connect.log") in result.stderr
    assert "PAUSED" in result.stderr  # the connector status is shown


def test_stack_failure_names_the_logs(clone):
    assert clone.run("scripts/local-stack.sh", "stop", "connect", timeout=300).returncode == 0
    with socket.socket() as squatter:  # another program holds the Connect port
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", int(PORTS["connect"])))
        squatter.listen()
        result = clone.quickstart()
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"port {PORTS['connect']} (connect) is already in use" in result.stderr
    assert "FAILED while starting the local broker and Connect worker" in result.stderr
    assert str(clone.path / ".stack/logs") in result.stderr
