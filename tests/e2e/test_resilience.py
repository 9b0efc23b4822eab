"""The worker killed with SIGKILL mid-stream, and the S3 server gone for 30 s mid-stream: after
recovery every offset is stored exactly once (replays overwrite the same keys), nothing is lost.
During the outage the worker log tells the operator what happens, with the task's context."""

import logging
import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from helpers import (assert_objects, create_topic, end_offsets, expected_objects, produce, sink_config,
                     stored_objects, wait_until)

pytestmark = pytest.mark.slow
log = logging.getLogger(__name__)


def payloads(count: int) -> list[bytes]:
    return [f"record {i} ".encode() * (1 + i % 50) for i in range(count)]


def committed_total(connect, name) -> int:
    return sum(connect.committed(name).values())


def end_total(stack, topic) -> int:
    return sum(end_offsets(stack, topic).values())


@pytest.mark.timeout(600)
def test_worker_sigkill_mid_stream(stack, connect, connectors, bucket, names, tmp_path):
    count = 6000
    create_topic(stack, names.topic, partitions=3)
    connectors.start(names.connector, sink_config(stack, names.topic, bucket, {"tasks.max": "2"}), tasks=2)

    with ThreadPoolExecutor(1) as pool:
        producing = pool.submit(produce, stack, tmp_path, names.topic, payloads(count))
        try:
            wait_until(lambda: committed_total(connect, names.connector) >= count // 5, 120,
                       f"{count // 5} committed records before the kill")
            assert not producing.done(), "the producer finished before the kill: not mid-stream"
            stack.run("kill", "connect")
            log.info("worker killed; %d of %d produced", end_total(stack, names.topic), count)
            time.sleep(2)
        finally:
            stack.run("start", "connect")
        sent = producing.result(timeout=180)
        log.info("producer done; %d committed", committed_total(connect, names.connector))

    connect.wait_running(names.connector, tasks=2, timeout=120)
    connect.wait_committed(names.connector, end_offsets(stack, names.topic), timeout=300)
    assert_objects(stored_objects(stack.s3_dir, bucket), expected_objects(names.topic, sent))


def native_line(level: str, connector: str, message: str) -> re.Pattern:
    """A line of the engine's upload module in the worker log, with the task's context."""
    return re.compile(rf"\] {level} \[{re.escape(connector)}\|task-0\] {message} "
                      rf"\(org\.sinetstream\.kafka\.connect\.s3\.native\.upload\)$", re.MULTILINE)


@pytest.mark.timeout(600)
def test_s3_outage_30s_mid_stream(stack, connect, connectors, bucket, names, tmp_path, uid):
    count = 3000
    password = f"outage-pass-{uid}"  # a secret of this run only: it must show nowhere in the log
    encryption = {"data_encryption": True,
                  "crypto": {"algorithm": "AES", "key_length": 128, "mode": "GCM", "password": password,
                             "key_derivation": {"algorithm": "pbkdf2", "salt_bytes": 8, "iteration": 10000,
                                                "prf": "HMAC-SHA256"}}}
    create_topic(stack, names.topic, partitions=2)
    connectors.start(names.connector, sink_config(stack, names.topic, bucket, {
        "sinetstream.crypto.mode": "GCM", "sinetstream.crypto.key.length": "128",
        "sinetstream.crypto.password": password}))

    with ThreadPoolExecutor(1) as pool:
        # ~50 messages/s, so the stream goes on during the whole outage
        producing = pool.submit(produce, stack, tmp_path, names.topic, payloads(count), pause=0.02,
                                settings=encryption)
        try:
            wait_until(lambda: committed_total(connect, names.connector) >= 200, 120,
                       "200 committed records before the outage")
            log_mark = stack.worker_log_mark()
            stack.run("stop", "s3")
            log.info("store stopped; %d of %d produced", end_total(stack, names.topic), count)
            outage_end = time.monotonic() + 30
            while time.monotonic() < outage_end:  # the task waits and retries, it does not fail
                failed = connect.failures(connect.status(names.connector))
                assert not failed, f"connector failed while the store was down:\n{failed}"
                time.sleep(2)
            assert not producing.done(), "the producer finished during the outage: not mid-stream"
            log.info("store restarted; %d of %d produced", end_total(stack, names.topic), count)
        finally:
            stack.run("start", "s3")
        sent = producing.result(timeout=180)

    connect.wait_committed(names.connector, end_offsets(stack, names.topic), timeout=300)
    connect.wait_running(names.connector, timeout=30)
    assert_objects(stored_objects(stack.s3_dir, bucket), expected_objects(names.topic, sent))

    log_text = stack.worker_log_since(log_mark)
    key = rf"topics/{re.escape(names.topic)}/\S+"
    first = native_line("WARN", names.connector, rf"upload of {key} failed: .+; retrying in \S+").search(log_text)
    summary = native_line("WARN", names.connector, rf"still retrying uploads: \d+ retries since the last summary; "
                          rf"latest: {key} attempt \d+: .+").search(log_text)
    recovery = native_line("INFO", names.connector, rf"upload of {key} succeeded at attempt \d+, [\d.]+ s after "
                           rf"its first").search(log_text)
    # after the recovery, the task thread's commit line (Connect's own MDC) says what was stored
    commit = recovery and re.compile(rf"\] INFO \[{re.escape(names.connector)}\|task-0\] Stored [1-9]\d* records "
                                     rf".* retries since the last commit; committing ").search(log_text, recovery.end())
    found = {"first retry": first, "summary": summary, "recovery": recovery, "commit after the recovery": commit}
    assert all(found.values()), f"missing in the worker log: {[k for k, v in found.items() if not v]}"
    log.info("worker log during the outage:\n%s", "\n".join(m.group(0) for m in found.values()))
    assert first.start() < summary.start() < recovery.start()
    whole_log = stack.worker_log_since({path: 0 for path in log_mark})
    assert stack.secret_key not in whole_log, "the store's secret key shows in the worker log"
    assert password not in whole_log, "the crypto password shows in the worker log"
