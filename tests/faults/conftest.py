"""Fixtures of the fault suite. The stack must be up as scripts/test-faults.sh brings it (its own
stack dir, a worker whose environment has SINETS3_STORE_URL and SINETS3_ALLOWED_PATHS). The
end-to-end suite's fixtures (stack, connect, connectors, bucket, names, ...) and helpers are
reused as they are: tests/e2e is put on the import path and its conftest loaded by file."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

E2E = Path(__file__).resolve().parents[1] / "e2e"
sys.path.insert(0, str(E2E))

_spec = importlib.util.spec_from_file_location("e2e_conftest", E2E / "conftest.py")
e2e = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(e2e)

from helpers import STACK_SCRIPT, Stack  # noqa: E402  (after the path above)
from support import CaseReport, FaultProxy, Worker, build_proxy, proxy_ports  # noqa: E402

# The end-to-end fixtures, registered here under their own names.
pytest_runtest_makereport = e2e.pytest_runtest_makereport
stack, connect, s3, uid, names, bucket, connectors = (
    e2e.stack, e2e.connect, e2e.s3, e2e.uid, e2e.names, e2e.bucket, e2e.connectors)

_reports: list[str] = []


@pytest.fixture(scope="session")
def proxies(stack):
    """Two fault proxies in front of versitygw: `a` for the worker `connect`, `b` for `connect2`
    (each worker's SINETS3_STORE_URL names its own)."""
    first, s3_port = proxy_ports()
    binary = build_proxy()
    started = []
    try:
        for i, name in enumerate(("a", "b")):
            started.append(FaultProxy(name, binary, first + 2 * i, first + 2 * i + 1, s3_port))
        yield dict(zip(("a", "b"), started))
    finally:
        for p in started:
            p.stop()


@pytest.fixture
def proxy(proxies):
    """Proxy a, without faults at the start and at the end of the test."""
    for p in proxies.values():
        p.clear()
    yield proxies["a"]
    for p in proxies.values():
        p.clear()


@pytest.fixture(scope="session")
def worker(stack, proxies) -> Worker:
    return Worker("connect", stack.connect_url, proxies["a"].url)


@pytest.fixture
def worker2(stack, proxies):
    """The second worker of the Connect group (part connect2 of scripts/local-stack.sh),
    started for the test and stopped after it."""
    if "connect2" not in STACK_SCRIPT.read_text():
        pytest.fail("scripts/local-stack.sh has no part 'connect2' (a second worker in the same Connect group): "
                    "this case cannot run on this checkout", pytrace=False)
    second = Worker("connect2", "", proxies["b"].url)
    second.run("start")
    try:
        second.url = Stack.load().env["CONNECT2_URL"]  # written when connect2 starts
        yield second
    finally:
        subprocess.run([str(STACK_SCRIPT), "stop", "connect2"], timeout=120, check=False)


@pytest.fixture
def report(request):
    """The case's summary line: printed at the end of the run and kept in the results dir."""
    case = CaseReport(request.node.name)
    yield case
    outcome = getattr(request.node, "rep_call", None)
    if outcome is not None and not outcome.passed:
        case.note("FAILED: " + str(outcome.longrepr).strip().splitlines()[-1][:300])
    case.write()
    _reports.append(case.line())


def pytest_terminal_summary(terminalreporter):
    if _reports:
        terminalreporter.section("fault cases")
        for line in _reports:
            terminalreporter.write_line(line)
