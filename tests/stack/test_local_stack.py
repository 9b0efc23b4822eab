"""scripts/local-stack.sh on a stack of its own (temporary SINETS3_STACK_DIR, ports of its own):
the worker options (SINETS3_CONNECT_OPTS, SINETS3_CONNECT_EXTRA_PROPS, SINETS3_ALLOWED_PATHS in
the worker's environment), the second worker connect2 of the same Connect group (tasks spread over
both), pause/resume (SIGSTOP/SIGCONT), kill and restart of connect2, the HTTPS versitygw s3tls on
a certificate of the stack's CA, and `down` stopping it all.

Ports: LOCAL_STACK_TEST_PORTS="broker,controller,connect,connect2,s3[,s3tls]", default
29192,29193,28183,28184,27170,27171. Needs the packaged plugin (scripts/build.sh).
"""
import json
import os
import shutil
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
STACK = REPO / "scripts" / "local-stack.sh"
PORTS = dict(zip(("broker", "controller", "connect", "connect2", "s3", "s3tls"),
                 os.environ.get("LOCAL_STACK_TEST_PORTS", "29192,29193,28183,28184,27170,27171").split(",")))
PORTS.setdefault("s3tls", "27171")


def wait_until(what, check, timeout=60.0):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.5)


def get_json(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as answer:
        return json.load(answer)


def answers(url):
    try:
        get_json(url + "/connectors")
        return True
    except OSError:
        return False


class Stack:
    def __init__(self, root: Path):
        self.root = root
        self.dir = root / "stack"
        extra = root / "extra.properties"
        extra.write_text("# from SINETS3_CONNECT_EXTRA_PROPS\noffset.flush.interval.ms=1234\n")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SINETS3_") or k in (
            "SINETS3_CACHE", "SINETS3_JAVA_HOME")}
        self.env.update(SINETS3_STACK_DIR=str(self.dir), SINETS3_BROKER_PORT=PORTS["broker"],
                        SINETS3_CONTROLLER_PORT=PORTS["controller"], SINETS3_CONNECT_PORT=PORTS["connect"],
                        SINETS3_CONNECT2_PORT=PORTS["connect2"], SINETS3_S3_PORT=PORTS["s3"],
                        SINETS3_S3_TLS_PORT=PORTS["s3tls"],
                        SINETS3_CONNECT_OPTS="-Dsinets3.test.worker=one -Dsinets3.test.opts=split",
                        SINETS3_CONNECT2_OPTS="-Dsinets3.test.worker=two",
                        SINETS3_CONNECT_EXTRA_PROPS=str(extra))
        self.url = f"http://127.0.0.1:{PORTS['connect']}"
        self.url2 = f"http://127.0.0.1:{PORTS['connect2']}"

    def run(self, *args, timeout=300) -> subprocess.CompletedProcess:
        result = subprocess.run([str(STACK), *args], env=self.env, capture_output=True, text=True,
                                timeout=timeout, stdin=subprocess.DEVNULL)
        print(f"$ local-stack.sh {' '.join(args)}  (exit {result.returncode})\n{result.stdout}{result.stderr}")
        return result

    def pid(self, part) -> int:
        return int((self.dir / "run" / f"{part}.pid").read_text())

    def stack_env(self) -> dict:
        text = (self.dir / "stack.env").read_text()
        return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)

    def processes(self) -> list[int]:
        """Live processes whose command line names this stack's directory."""
        found = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if str(self.dir) + "/" in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode():
                        found.append(int(entry.name))
                except OSError:
                    pass
        return found


def proc_state(pid: int) -> str:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("State:"):
            return line.split()[1]
    return "?"


@pytest.fixture(scope="module")
def stack():
    if not list((REPO / "build" / "plugin").glob("*.jar")):
        pytest.fail("build/plugin has no jar: run scripts/build.sh first")
    root = Path(tempfile.mkdtemp(prefix="sinets3-stack-test-"))
    s = Stack(root)
    up = s.run("up")
    assert up.returncode == 0, up.stdout + up.stderr
    yield s
    s.run("down")
    left = s.processes()
    shutil.rmtree(root, ignore_errors=True)
    assert not left, f"processes of the test stack still alive: {left}"


def test_worker_options_and_environment(stack):
    pid = stack.pid("connect")
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    assert b"-Dsinets3.test.worker=one" in cmdline and b"-Dsinets3.test.opts=split" in cmdline
    environ = dict(e.split(b"=", 1) for e in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0") if b"=" in e)
    assert environ[b"SINETS3_ALLOWED_PATHS"].decode() == f"{stack.dir},{REPO}/data,/tmp"
    properties = (stack.dir / "conf" / "connect.properties").read_text()
    assert properties.rstrip().endswith("offset.flush.interval.ms=1234")
    # the worker took it (Connect logs its effective config)
    wait_until("connect.log shows the appended property",
               lambda: "offset.flush.interval.ms = 1234" in (stack.dir / "logs/connect.log").read_text())
    status = stack.run("status")
    assert status.returncode == 0 and "connect2" not in status.stdout  # up does not start connect2


def test_second_worker_joins_the_group(stack):
    env = stack.stack_env()
    assert env["CONNECT2_URL"] == stack.url2
    assert env["CONNECT2_LOG"] == str(stack.dir / "logs" / "connect2.log")
    start = stack.run("start", "connect2")
    assert start.returncode == 0, start.stderr
    assert b"-Dsinets3.test.worker=two" in Path(f"/proc/{stack.pid('connect2')}/cmdline").read_bytes().split(b"\0")
    assert "status.storage.topic" in (stack.dir / "conf" / "connect2.properties").read_text()
    assert (stack.dir / "logs" / "connect2.log").stat().st_size > 0

    settings = stack.root / "settings.env"
    settings.write_text(f"BROKER_HOSTNAME={env['BOOTSTRAP_SERVERS']}\nKAFKA_TOPIC=stack.test\n"
                        f"S3_BUCKET_NAME=bucket\nS3_ENDPOINT_URL=file://{stack.root}/data\nTASKS_MAX=2\n")
    registered = subprocess.run([str(REPO / "register.sh")], capture_output=True, text=True, timeout=300,
                                env={"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"),
                                     "ENV_FILE": str(settings), "CONNECT_URL": stack.url2, "CONNECT_WAIT": "60"})
    assert registered.returncode == 0, registered.stdout + registered.stderr

    def spread():
        try:  # the other worker learns of the connector a moment later (404 until then)
            tasks = get_json(stack.url + "/connectors/s3-sink/status")["tasks"]
        except OSError:
            return False
        running = [t for t in tasks if t["state"] == "RUNNING"]
        return len(running) == 2 and {t["worker_id"] for t in running} == {f"127.0.0.1:{PORTS['connect']}",
                                                                            f"127.0.0.1:{PORTS['connect2']}"}
    wait_until("two tasks, one on each worker", spread, timeout=90)


def test_pause_and_resume(stack):
    pid = stack.pid("connect2")
    paused = stack.run("pause", "connect2")
    assert paused.returncode == 0 and "SIGSTOP" in paused.stdout
    assert proc_state(pid) == "T"
    status = stack.run("status", "connect2")
    assert status.returncode == 0 and "connect2: paused" in status.stdout
    assert not answers(stack.url2)  # frozen, not gone
    assert answers(stack.url)
    resumed = stack.run("resume", "connect2")
    assert resumed.returncode == 0 and "SIGCONT" in resumed.stdout
    assert proc_state(pid) != "T"
    wait_until("connect2 answers again", lambda: answers(stack.url2))
    assert stack.pid("connect2") == pid


def test_kill_and_restart(stack):
    stack.run("pause", "connect2")  # a frozen worker can still be stopped
    assert stack.run("kill", "connect2").returncode == 0
    status = stack.run("status", "connect2")
    assert status.returncode == 3 and "connect2: stopped" in status.stdout
    assert stack.run("resume", "connect2").returncode == 1  # nothing to resume
    assert stack.run("restart", "connect2").returncode == 0
    assert answers(stack.url2)
    paused_stop = stack.run("pause", "connect2"), stack.run("stop", "connect2")
    assert all(r.returncode == 0 for r in paused_stop) and "SIGTERM" in paused_stop[1].stdout
    assert stack.run("start", "connect2").returncode == 0


def test_https_store_on_the_stacks_ca(stack):
    """s3tls: versitygw over HTTPS on the objects of s3, its certificate (127.0.0.1, localhost)
    signed by the stack's own CA, whose PEM stack.env names."""
    import boto3
    from botocore.config import Config

    start = stack.run("start", "s3tls")
    assert start.returncode == 0, start.stderr
    env = stack.stack_env()
    assert env["S3_TLS_URL"] == f"https://127.0.0.1:{PORTS['s3tls']}"
    ca = env["S3_CA_FILE"]
    assert Path(ca).read_text().startswith("-----BEGIN CERTIFICATE-----")
    with pytest.raises(urllib.error.URLError) as refused:  # not a publicly trusted certificate
        urllib.request.urlopen(env["S3_TLS_URL"], timeout=5, context=ssl.create_default_context())
    assert isinstance(refused.value.reason, ssl.SSLCertVerificationError), refused.value
    for url in (env["S3_TLS_URL"], f"https://localhost:{PORTS['s3tls']}"):
        s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1", verify=ca,
                          aws_access_key_id=env["S3_ACCESS_KEY"], aws_secret_access_key=env["S3_SECRET_KEY"],
                          config=Config(s3={"addressing_style": "path"}))
        s3.put_object(Bucket=env["S3_BUCKET"], Key="tls/check.txt", Body=url.encode())
        assert (Path(env["S3_DIR"]) / env["S3_BUCKET"] / "tls" / "check.txt").read_bytes() == url.encode()
    status = stack.run("status")
    assert status.returncode == 0 and "s3tls: running" in status.stdout, status.stdout


def test_down_stops_every_part(stack):
    assert stack.processes()
    down = stack.run("down")
    assert down.returncode == 0, down.stderr
    for part in ("connect2", "connect", "broker", "s3tls", "s3"):
        assert f"{part}: stopped" in down.stdout
    assert stack.processes() == []
    assert stack.run("status").returncode == 3
