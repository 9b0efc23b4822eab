"""What an operator watches: the task's JMX bean, read over a real JMX (RMI) connection from the
stack's Connect worker while a stream runs, its counts checked against what was sent.

The worker must listen for JMX: start it with
  -Dcom.sun.management.jmxremote.port=N -Dcom.sun.management.jmxremote.rmi.port=N
  -Dcom.sun.management.jmxremote.authenticate=false -Dcom.sun.management.jmxremote.ssl=false
  -Dcom.sun.management.jmxremote.host=127.0.0.1 -Djava.rmi.server.hostname=127.0.0.1
and name the port in SINETS3_JMX_PORT or as JMX_PORT in .stack/stack.env; otherwise the test is
skipped, saying so."""

from __future__ import annotations

import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from helpers import (assert_objects, create_topic, end_offsets, expected_objects, produce, sink_config,
                     stored_objects, wait_until)

JMX_CLIENT = Path(__file__).with_name("JmxRead.java")
JAVA = Path(os.environ.get("SINETS3_JAVA_HOME", "/usr/lib/jvm/java-17-openjdk-amd64")) / "bin" / "java"
BEAN_TYPE = "kafka.connect:type=sinetstream-s3-sink-task-metrics"
COUNTERS = ["records-received", "records-stored", "records-errant", "payload-bytes-stored", "objects-stored",
            "put-requests", "multipart-requests", "retries", "failures-throttled", "failures-server-error",
            "failures-network", "failures-permanent"]


@dataclass
class Bean:
    attrs: dict[str, int] = field(default_factory=dict)
    rows: dict[str, list[dict[str, str]]] = field(default_factory=dict)

    def offsets(self) -> dict[tuple[str, int], int]:
        return {(r["topic"], int(r["partition"])): int(r["offset"]) for r in self.rows.get("committed-offsets", [])}


class Jmx:
    """Runs JmxRead.java against the worker; each read is a new JMX connection."""

    def __init__(self, address: str):
        self.address = address

    def read(self, pattern: str) -> dict[str, Bean]:
        # JAVA_TOOL_OPTIONS may carry the worker's JMX port: this client must not bind it too.
        env = {k: v for k, v in os.environ.items() if k != "JAVA_TOOL_OPTIONS"}
        out = subprocess.run([str(JAVA), str(JMX_CLIENT), self.address, pattern], check=True, capture_output=True,
                             text=True, timeout=60, env=env).stdout
        beans: dict[str, Bean] = {}
        for line in out.splitlines():
            kind, name, *rest = line.split("\t")
            bean = beans.setdefault(name, Bean())
            if kind == "attr":
                bean.attrs[rest[0]] = int(rest[1])
            elif kind == "row":
                bean.rows.setdefault(rest[0], []).append(dict(kv.split("=", 1) for kv in rest[1].split(",")))
        return beans


@pytest.fixture
def jmx(stack) -> Jmx:
    port = os.environ.get("SINETS3_JMX_PORT") or stack.env.get("JMX_PORT")
    if not port:
        pytest.skip("the Connect worker has no JMX port: start it with -Dcom.sun.management.jmxremote.port=N "
                    "(see tests/e2e/test_monitoring.py) and set SINETS3_JMX_PORT=N or JMX_PORT=N in stack.env")
    return Jmx(f"127.0.0.1:{port}")


def payloads(count: int) -> list[bytes]:
    return [f"jmx {i} ".encode() * (1 + i % 40) for i in range(count)]


@pytest.mark.timeout(300)
def test_task_metrics_over_jmx_while_a_stream_runs(stack, connect, connectors, bucket, names, tmp_path, jmx):
    count = 400
    create_topic(stack, names.topic, partitions=2)
    connectors.start(names.connector, sink_config(stack, names.topic, bucket))
    pattern = f"{BEAN_TYPE},connector={names.connector},*"
    name = f"{BEAN_TYPE},connector={names.connector},task=0"
    first = wait_until(lambda: jmx.read(pattern).get(name), 60, f"the MBean {name}")
    assert first.attrs["records-received"] == 0

    readings = [first]
    with ThreadPoolExecutor(1) as pool:
        producing = pool.submit(produce, stack, tmp_path, names.topic, payloads(count), pause=0.05)
        while not producing.done():
            readings.append(jmx.read(pattern)[name])
        sent = producing.result(timeout=120)
    for before, after in zip(readings, readings[1:]):
        for counter in COUNTERS:
            assert after.attrs[counter] >= before.attrs[counter], f"{counter} went down: {before} then {after}"
    mid_stream = [r.attrs["records-stored"] for r in readings if 0 < r.attrs["records-stored"] < count]
    assert mid_stream, f"no reading while the stream ran: {[r.attrs['records-stored'] for r in readings]}"
    print(f"\nrecords-stored read over JMX while the stream ran: {mid_stream}")

    ends = end_offsets(stack, names.topic)
    connect.wait_committed(names.connector, ends, timeout=120)
    want = {(names.topic, p): end for p, end in ends.items() if end > 0}
    last = wait_until(lambda: (bean := jmx.read(pattern)[name]).offsets() == want and bean, 60,
                      f"committed-offsets {want} in the MBean")
    m = last.attrs
    assert (m["records-received"], m["records-stored"], m["objects-stored"]) == (count, count, count)
    assert m["records-errant"] == 0
    assert m["payload-bytes-stored"] == sum(len(s.payload) for s in sent)
    assert m["multipart-requests"] == 0
    assert m["put-requests"] == 2 * count + m["retries"], "a payload and a timestamp object per record"
    failures = sum(m[f] for f in ("failures-throttled", "failures-server-error", "failures-network",
                                  "failures-permanent"))
    assert failures == m["retries"], "every failed attempt was retried"
    assert (m["open-objects"], m["inflight-bytes"], m["oldest-unstored-record-age-ms"]) == (0, 0, 0)
    assert (m["inflight-bytes-limit"], m["upload-concurrency-max"]) == (128 * 1024 * 1024, 128)
    assert 8 <= m["upload-concurrency"] <= 128
    assert 0 < m["upload-latency-avg-us"] <= m["upload-latency-max-us"]
    assert m["upload-latency-p99-us"] <= m["upload-latency-max-us"]
    assert_objects(stored_objects(stack.s3_dir, bucket), expected_objects(names.topic, sent))
    print(f"\nJMX {name}:\n" + "\n".join(f"  {k} = {v}" for k, v in m.items()) + f"\n  committed-offsets = {want}")

    connect.delete(names.connector)
    wait_until(lambda: name not in jmx.read(pattern), 60, f"{name} to be unregistered once the connector is deleted")
