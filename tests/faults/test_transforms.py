"""Case 6: a Single Message Transform renames the topic (RegexRouter). Objects are named by the
new topic; offsets are committed under the topic Connect consumed (KIP-793), so a restarted
task does not replay the topic from the beginning."""

import time

from helpers import create_topic, end_offsets, sink_config, wait_until
from invariant import Invariant
from support import Stream, requests_of, restart_task

FLUSH = 3


def routed(topic: str) -> str:
    return "routed." + topic.removeprefix("e2e.")


def test_regex_router_renames_the_topic(stack, connect, connectors, bucket, names, tmp_path, proxy, report):
    topics = [names.topic + ".a", names.topic + ".b"]
    for t in topics:
        create_topic(stack, t)
    inv = Invariant([stack.connect_url], names.connector, stack.s3_dir, bucket, topics,
                    renamed={t: routed(t) for t in topics})
    stream = Stream(stack, tmp_path, topics, rate=60, chunk=20, on_sent=inv.add_sent)
    report.fault("transforms=route (RegexRouter e2e\\.(.*) -> routed.$1), flush.size 3, then a task restart")
    with inv, stream:
        connectors.start(names.connector, sink_config(stack, ",".join(topics), bucket, {
            "store.url": proxy.url,  # counts the uploads
            "flush.size": str(FLUSH),
            "transforms": "route",
            "transforms.route.type": "org.apache.kafka.connect.transforms.RegexRouter",
            "transforms.route.regex": r"e2e\.(.*)",
            "transforms.route.replacement": "routed.$1",
        }))
        time.sleep(10)
        stream.stop(flush_size=FLUSH)
        ends = {t: end_offsets(stack, t)[0] for t in topics}

        def all_committed():
            assert not connect.failures(connect.status(names.connector)), "the connector failed"
            committed = inv.committed() or {}
            return all(committed.get((t, 0), 0) >= e for t, e in ends.items())
        wait_until(all_committed, 120, f"offsets {ends} committed under the consumed topics")

        # Restarted, the task resumes from the commits: nothing is uploaded again.
        uploads = requests_of(proxy.counts(), "PutObject")
        restart_task(connect, names.connector)
        time.sleep(8)
        uploads_after_restart = requests_of(proxy.counts(), "PutObject") - uploads
    outcome = inv.finish()

    report.records, report.lost, report.doubled = outcome.records, outcome.lost, outcome.doubled
    report.note(f"committed {inv.committed()}; uploads after the restart: {uploads_after_restart}")
    report.note(outcome.summary())
    outcome.assert_clean()
    for t in topics:
        assert not (stack.s3_dir / bucket / "topics" / t).exists(), f"objects stored under the consumed name {t}"
    assert uploads_after_restart == 0, \
        f"{uploads_after_restart} objects uploaded again after a restart: the commits did not hold"
