"""The worker killed with SIGKILL mid-stream, and the S3 server gone for 30 s mid-stream: after
recovery every offset is stored exactly once (replays overwrite the same keys), nothing is lost."""

import logging
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


@pytest.mark.timeout(600)
def test_s3_outage_30s_mid_stream(stack, connect, connectors, bucket, names, tmp_path):
    count = 3000
    create_topic(stack, names.topic, partitions=2)
    connectors.start(names.connector, sink_config(stack, names.topic, bucket))

    with ThreadPoolExecutor(1) as pool:
        # ~50 messages/s, so the stream goes on during the whole outage
        producing = pool.submit(produce, stack, tmp_path, names.topic, payloads(count), pause=0.02)
        try:
            wait_until(lambda: committed_total(connect, names.connector) >= 200, 120,
                       "200 committed records before the outage")
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
