"""Case 7: inputs that would blow up a worker's memory. zstd decompression bombs (messages of
32 KB that expand to 1 GiB, far beyond sinetstream.max.decompressed.bytes) mixed with good
messages, and a topic of 2,000 partitions: the worker survives (its process is alive, its REST
API answers), the bombs go to the dead letter queue with a reason and the good records are
stored. The worker's memory is measured and reported, not asserted (bench/memory.py prints it
against the bound)."""

import time
from concurrent.futures import ThreadPoolExecutor

import zstandard
from kafka import KafkaProducer

from helpers import Sent, consume_all, create_topic, end_offsets, produce, sink_config
from invariant import Invariant
from support import MemoryWatch, payload, records_to_close, v3_message, wait_for_leaders, zstd_bomb

MiB = 1 << 20
GiB = 1 << 30
ZSTD_WRITER = {"data_compression": True, "compression": {"algorithm": "zstd"}}
FLUSH = 4
DEFAULT_LIMIT = 64 * MiB  # sinetstream.max.decompressed.bytes
RECORDS, PRODUCERS = 3000, 4


def memory_text(watch: MemoryWatch) -> str:
    return (f"worker RSS {watch.start_rss / MiB:.0f} MiB before, peak {watch.peak_rss / MiB:.0f} MiB "
            f"(VmHWM {watch.hwm / MiB:.0f} MiB)")


def assert_worker_survived(worker, connect, name):
    assert worker.alive(), f"the worker (pid {worker.pid()}) died"
    status = connect.status(name)
    assert status is not None, "the worker's REST API does not answer"
    assert not connect.failures(status), f"{name} failed:\n{connect.failures(status)}"


def test_decompression_bombs_go_to_the_dead_letter_queue(stack, connect, connectors, bucket, names, tmp_path,
                                                         worker, report):
    topic, dlq = names.topic, names.topic + ".dlq"
    create_topic(stack, topic)
    inv = Invariant([stack.connect_url], names.connector, stack.s3_dir, bucket, [topic])
    bombs = {declared: zstd_bomb(GiB, declared) for declared in (True, False)}
    raw = KafkaProducer(bootstrap_servers=stack.bootstrap, acks="all")
    bomb_offsets: list[int] = []

    def good(n: int) -> list[Sent]:
        start = sum(len(r) for r in inv.sent.values())
        sent = produce(stack, tmp_path, topic, [payload(topic, start + i) for i in range(n)], settings=ZSTD_WRITER)
        inv.add_sent(topic, sent)
        return sent

    def send_bombs(n: int) -> None:
        """n bombs at once (one poll), registered as errant before any sample can see them."""
        with inv.lock:
            futures = [raw.send(topic, v3_message(bombs[i % 2 == 0], time.time_ns() // 1000)) for i in range(n)]
            raw.flush(30)
            for f in futures:
                meta = f.get(timeout=30)
                inv.skip(topic, meta.partition, meta.offset)
                bomb_offsets.append(meta.offset)

    def hand_made_good() -> None:
        """A small message through the same hand-made envelope: the bombs are valid v3 messages."""
        body = b"hand-made v3 message"
        tstamp_us = time.time_ns() // 1000
        meta = raw.send(topic, v3_message(zstandard.ZstdCompressor().compress(body), tstamp_us)).get(timeout=30)
        inv.add_sent(topic, [Sent(meta.partition, meta.offset, meta.timestamp, tstamp_us, body)])

    with inv, MemoryWatch(worker.pid()) as memory:
        connectors.start(names.connector, sink_config(stack, topic, bucket, {
            "sinetstream.compression.algorithm": "zstd",
            "flush.size": str(FLUSH),
            "errors.tolerance": "all",
            "errors.deadletterqueue.topic.name": dlq,
            "errors.deadletterqueue.topic.replication.factor": "1",
            "errors.deadletterqueue.context.headers.enable": "true",
        }))
        # An errant record ends the open object, so the earlier runs of good records end at a
        # bomb, and the last run is topped up until its last object is whole.
        good(6)
        send_bombs(1)
        good(2)
        send_bombs(1)
        hand_made_good()
        good(3)
        send_bombs(20)  # a burst: many bombs in one batch
        last_run = good(2 * FLUSH)
        while rest := records_to_close(last_run, FLUSH):
            last_run += good(rest)
        report.fault(f"{len(bomb_offsets)} zstd bombs of {len(bombs[True]) // 1024} KB expanding to 1 GiB "
                     f"(half with the size in the frame header), 20 of them in one burst; "
                     f"sinetstream.max.decompressed.bytes default 64 MiB")
        connect.wait_committed(names.connector, end_offsets(stack, topic), timeout=180)
        assert_worker_survived(worker, connect, names.connector)
    raw.close()
    outcome = inv.finish()

    dead = consume_all(stack, dlq, len(bomb_offsets), timeout=60)
    report.records, report.lost, report.doubled = outcome.records, outcome.lost, outcome.doubled
    headers = {k: v.decode(errors="replace") for k, v in dead[0].headers}
    report.note(f"{len(dead)} records in the dead letter queue; reason: "
                f"{headers.get('__connect.errors.exception.message', '')[:200]}")
    report.note(memory_text(memory))
    report.note(outcome.summary())
    outcome.assert_clean()
    assert sorted(int(dict(r.headers)["__connect.errors.offset"]) for r in dead) == sorted(bomb_offsets)
    assert end_offsets(stack, dlq) == {0: len(bomb_offsets)}, "more than the bombs in the dead letter queue"
    for record in dead:
        reason = dict(record.headers).get("__connect.errors.exception.message", b"").decode(errors="replace")
        assert "max_decompressed_bytes" in reason, f"no reason given for a bomb: {reason!r}"
        # docs/configuration.md: the limit defaults to 64 MiB, below the 128 MiB in-flight bound
        assert f"({DEFAULT_LIMIT} bytes)" in reason, \
            f"the bomb was held to another limit than the documented default of {DEFAULT_LIMIT} bytes: {reason!r}"


def test_two_thousand_partitions(stack, connect, connectors, bucket, names, tmp_path, worker, report):
    topic, partitions = names.topic, 2000
    create_topic(stack, topic, partitions=partitions)
    wait_for_leaders(stack, topic, partitions)
    inv = Invariant([stack.connect_url], names.connector, stack.s3_dir, bucket, [topic])
    timing = {"ready": time.monotonic() - report.started}
    with inv, MemoryWatch(worker.pid()) as memory:
        connectors.start(names.connector, sink_config(stack, topic, bucket))
        timing["task running"] = time.monotonic() - report.started

        def publish(part: int) -> list[Sent]:
            # retries: the broker takes a while to create 2,000 partitions after their leaders are chosen
            return produce(stack, tmp_path / str(part), topic,
                           [payload(topic, i) * 3 for i in range(part, RECORDS, PRODUCERS)],
                           type_spec={"retries": 60, "retry_backoff_ms": 1000})
        for part in range(PRODUCERS):
            (tmp_path / str(part)).mkdir()
        with ThreadPoolExecutor(PRODUCERS) as pool:  # a publish to a partition of its own waits ~10 ms
            sent = [s for batch in pool.map(publish, range(PRODUCERS)) for s in batch]
        inv.add_sent(topic, sent)
        timing["produced"] = time.monotonic() - report.started
        report.fault(f"a topic of {partitions} partitions, {RECORDS} records spread over them")
        connect.wait_committed(names.connector, end_offsets(stack, topic), timeout=300)
        timing["committed"] = time.monotonic() - report.started
        assert_worker_survived(worker, connect, names.connector)
    outcome = inv.finish()

    used = len({s.partition for s in sent})
    report.note("at " + ", ".join(f"{k} {v:.0f} s" for k, v in timing.items()))
    report.records, report.lost, report.doubled = outcome.records, outcome.lost, outcome.doubled
    report.note(f"{used} partitions got records; {memory_text(memory)}")
    report.note(outcome.summary())
    outcome.assert_clean()
    assert used > partitions // 2, f"only {used} partitions got records"
