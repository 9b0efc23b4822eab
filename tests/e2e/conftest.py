"""Fixtures of the end-to-end tests. The stack (scripts/local-stack.sh up) must be running; the
Connect worker must have loaded the packaged plugin from build/plugin."""

import re
import uuid
import warnings
from types import SimpleNamespace

import boto3
import pytest
from botocore.config import Config

from helpers import CONNECTOR_CLASS, Connect, Stack, empty_bucket, wait_until


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Remember each phase's report, so fixtures can keep the data of failed tests."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, "rep_" + report.when, report)


@pytest.fixture(scope="session")
def stack() -> Stack:
    try:
        stack = Stack.load()
        worker = Connect(stack.connect_url).call("GET", "/")
    except (RuntimeError, OSError) as exc:
        pytest.exit(f"local stack not running ({exc}): run scripts/local-stack.sh up", returncode=2)
    # The worker runs the Kafka version the stack was made with (KAFKA_VERSION of local-stack.sh).
    want = stack.env.get("KAFKA_VERSION")
    if want and worker.get("version") != want:
        pytest.exit(f"the Connect worker at {stack.connect_url} runs Kafka {worker.get('version')}, "
                    f"the stack says {want}", returncode=2)
    return stack


def pytest_report_header(config):
    try:
        stack = Stack.load()
    except RuntimeError:
        return None
    return (f"local stack: Kafka {stack.env.get('KAFKA_VERSION', '3.8.0')}, broker {stack.security} "
            f"on {stack.bootstrap}, Connect {stack.connect_url}")


@pytest.fixture(scope="session")
def connect(stack) -> Connect:
    client = Connect(stack.connect_url)
    for name in client.names():  # left over by an interrupted run
        if name.startswith("e2e-"):
            client.delete(name)
    return client


@pytest.fixture(scope="session")
def s3(stack):
    return boto3.client("s3", endpoint_url=stack.s3_url, region_name="us-east-1",
                        aws_access_key_id=stack.access_key, aws_secret_access_key=stack.secret_key,
                        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 10}))


@pytest.fixture
def uid() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture
def names(request, uid):
    """Unique topic, connector and bucket names for one test."""
    short = re.sub(r"[^a-z0-9]+", "-", request.node.name.removeprefix("test_").lower()).strip("-")[:30]

    return SimpleNamespace(topic=f"e2e.{short}.{uid}", connector=f"e2e-{short}-{uid}",
                           bucket=f"e2e-{short}-{uid}")


@pytest.fixture
def bucket(request, s3, names) -> str:
    """A fresh bucket; removed after the test unless the test failed (then kept for a look)."""
    s3.create_bucket(Bucket=names.bucket)
    yield names.bucket
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.passed:
        try:
            empty_bucket(s3, names.bucket)
            s3.delete_bucket(Bucket=names.bucket)
        except Exception as exc:  # cleanup only
            warnings.warn(f"could not remove bucket {names.bucket}: {exc}")


class Connectors:
    """Creates connectors through the REST API and deletes them when the test ends."""

    def __init__(self, connect: Connect):
        self.connect = connect
        self.created: list[str] = []

    def create(self, name: str, config: dict) -> str:
        self.created.append(name)
        self.connect.put_config(name, config)
        return name

    def start(self, name: str, config: dict, tasks: int = 1) -> str:
        self.create(name, config)
        self.connect.wait_running(name, tasks=tasks)
        return name

    def cleanup(self) -> None:
        if not self.created:
            return
        wait_until(lambda: self.connect.request("GET", "/")[0] == 200, 120, "the Connect worker to answer")
        for name in self.created:
            self.connect.delete(name)


@pytest.fixture
def connectors(connect, stack):
    plugins = connect.plugins()
    if CONNECTOR_CLASS not in plugins:
        pytest.fail(f"connector class {CONNECTOR_CLASS} not found by the Connect worker at {stack.connect_url} "
                    f"(plugins: {plugins}); build build/plugin with scripts/build.sh, then "
                    f"scripts/local-stack.sh up (restarts the worker when build/plugin changed)", pytrace=False)
    helper = Connectors(connect)
    yield helper
    helper.cleanup()


def pytest_collection_modifyitems(items):
    """The long resilience tests last."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is not None)
