"""Cases 1 and 2: partitions move between the two workers of a Connect group while a stream
runs and objects hold several records (flush.size > 1).

1. tasks.max above the partition count; the second worker restarted twice gracefully, then
   killed twice with SIGKILL. Its uploads go through a proxy that holds PUTs for a second, so
   some are in flight when it stops: a stopped task must not write afterwards, and a partition
   handed back must not bring back stale state.
2. The second worker frozen (SIGSTOP) past the session timeout, so the group moves its
   partitions away, then resumed (SIGCONT): the woken tasks must not overwrite or commit
   anything the new owners did.

Each worker stores through its own proxy: store.url=${env:SINETS3_STORE_URL}, which the
worker's environment sets (scripts/test-faults.sh, support.Worker)."""

import time

from helpers import create_topic, end_offsets, sink_config, wait_until
from invariant import Invariant
from support import Stream, store_url_variable

FLUSH = 50


def worker_ids(connect, name) -> set[str]:
    status = connect.status(name) or {"tasks": []}
    return {t["worker_id"] for t in status["tasks"] if t["state"] == "RUNNING"}


def second_worker_has_tasks(connect, name, second) -> bool:
    port = second.url.rsplit(":", 1)[-1]
    return any(w.endswith(":" + port) for w in worker_ids(connect, name))


def two_worker_case(stack, bucket, names, tmp_path, tasks: int):
    topics = [names.topic + ".a", names.topic + ".b"]
    for t in topics:
        create_topic(stack, t)
    inv = Invariant([stack.connect_url], names.connector, stack.s3_dir, bucket, topics)  # worker 1 stays up
    stream = Stream(stack, tmp_path, topics, rate=50, on_sent=inv.add_sent)
    config = sink_config(stack, ",".join(topics), bucket, {
        "tasks.max": str(tasks), "flush.size": str(FLUSH), "store.url": store_url_variable()})
    return topics, inv, stream, config


def finish_stream(stack, connect, names, topics, stream):
    """Ends the stream on whole objects and waits until every record is committed."""
    stream.stop(flush_size=FLUSH)
    for t in topics:
        end = end_offsets(stack, t)[0]
        wait_until(lambda: committed_of(connect, names.connector, t) >= end, 180, f"{t} committed up to {end}")


def committed_of(connect, name, topic) -> int:
    data = connect.call("GET", f"/connectors/{name}/offsets")
    return sum(o["offset"]["kafka_offset"] for o in data["offsets"] if o["partition"]["kafka_topic"] == topic)


def test_worker_restarts_and_kills_move_partitions(stack, connect, connectors, bucket, names, tmp_path, proxies,
                                                    proxy, worker2, report):
    topics, inv, stream, config = two_worker_case(stack, bucket, names, tmp_path, tasks=3)
    proxies["b"].delay(1000, kinds="PutObject")  # the second worker's uploads are in flight when it stops
    with inv, stream:
        connectors.start(names.connector, config, tasks=3)
        for how in ("restart", "restart", "kill", "kill"):
            wait_until(lambda: second_worker_has_tasks(connect, names.connector, worker2), 90,
                       "a task on the second worker")
            done = sum(connect.committed(names.connector).values())
            wait_until(lambda: sum(connect.committed(names.connector).values()) >= done + 2 * FLUSH, 120,
                       "two more objects committed")
            if how == "restart":
                worker2.run("restart")
            else:
                worker2.run("kill")
                time.sleep(2)
                worker2.run("start")
            report.fault(f"second worker {'restarted' if how == 'restart' else 'killed (SIGKILL) and started'}")
            connect.wait_running(names.connector, tasks=3, timeout=120)
        finish_stream(stack, connect, names, topics, stream)
    outcome = inv.finish()

    report.records, report.lost, report.doubled = outcome.records, outcome.lost, outcome.doubled
    report.note(f"2 partitions, tasks.max 3, flush.size {FLUSH}, 50 records/s; second worker's PUTs held 1 s")
    report.note(outcome.summary())
    outcome.assert_clean()


def test_frozen_worker(stack, connect, connectors, bucket, names, tmp_path, proxy, worker2, report):
    topics, inv, stream, config = two_worker_case(stack, bucket, names, tmp_path, tasks=2)
    freeze_s = 20  # the session timeout is 6 s
    with inv, stream:
        connectors.start(names.connector, config, tasks=2)
        wait_until(lambda: second_worker_has_tasks(connect, names.connector, worker2), 90,
                   "a task on the second worker")
        done = sum(connect.committed(names.connector).values())
        wait_until(lambda: sum(connect.committed(names.connector).values()) >= done + 2 * FLUSH, 120,
                   "two more objects committed")
        worker2.run("pause")
        report.fault(f"second worker frozen (SIGSTOP) for {freeze_s} s, then resumed (SIGCONT)")
        try:
            frozen_at = {t: committed_of(connect, names.connector, t) for t in topics}
            time.sleep(freeze_s)
            during_freeze = {t: committed_of(connect, names.connector, t) - frozen_at[t] for t in topics}
        finally:
            worker2.run("resume")
        time.sleep(10)  # the woken worker finds out it lost its partitions
        connect.wait_running(names.connector, tasks=2, timeout=120)
        finish_stream(stack, connect, names, topics, stream)
    outcome = inv.finish()

    report.records, report.lost, report.doubled = outcome.records, outcome.lost, outcome.doubled
    report.note(f"2 partitions, tasks.max 2, flush.size {FLUSH}, 50 records/s; records committed per "
                f"topic while the worker was frozen: {during_freeze}")
    report.note(outcome.summary())
    outcome.assert_clean()
    # The frozen worker commits nothing: its partition advanced only if it moved to the other one.
    assert all(during_freeze.values()), f"records committed per topic during the freeze: {during_freeze}: " \
        "the frozen worker's partition did not move"
