"""A record that is not a SINETStream message: with errors.tolerance=all it goes to the dead letter
queue (reason in a header) and later records are stored; by default the task fails and says
where (topic, partition, offset) and why."""

import re

from kafka import KafkaProducer

from helpers import (assert_objects, consume_all, create_topic, end_offsets, expected_objects, produce,
                     sink_config, stored_objects)

NOT_SINETSTREAM = b"plain text, not a SINETStream message"


def produce_good_bad_good(stack, tmp_path, topic):
    """3 SINETStream records, 1 raw record (offset 3), 3 SINETStream records."""
    before = produce(stack, tmp_path, topic, [b"good %d" % i for i in range(3)])
    raw = KafkaProducer(bootstrap_servers=stack.bootstrap, acks=1, **stack.kafka_options())
    meta = raw.send(topic, NOT_SINETSTREAM).get(timeout=30)
    raw.close()
    after = produce(stack, tmp_path, topic, [b"good %d" % i for i in range(4, 7)])
    assert (meta.partition, meta.offset) == (0, 3)
    return before + after


def test_bad_record_goes_to_dead_letter_queue(stack, connect, connectors, bucket, names, tmp_path):
    dlq = names.topic + ".dlq"
    create_topic(stack, names.topic)
    connectors.start(names.connector, sink_config(stack, names.topic, bucket, {
        "errors.tolerance": "all",
        "errors.deadletterqueue.topic.name": dlq,
        "errors.deadletterqueue.topic.replication.factor": "1",
        "errors.deadletterqueue.context.headers.enable": "true",
    }))

    good = produce_good_bad_good(stack, tmp_path, names.topic)
    connect.wait_committed(names.connector, end_offsets(stack, names.topic), timeout=60)

    assert_objects(stored_objects(stack.s3_dir, bucket), expected_objects(names.topic, good))
    [record] = consume_all(stack, dlq, 1, timeout=60)
    headers = {k: v.decode(errors="replace") for k, v in record.headers}
    assert record.value == NOT_SINETSTREAM
    assert headers.get("__connect.errors.topic") == names.topic, headers
    assert headers.get("__connect.errors.partition") == "0", headers
    assert headers.get("__connect.errors.offset") == "3", headers
    assert headers.get("__connect.errors.exception.message", "").strip(), f"no reason in the headers: {headers}"
    assert end_offsets(stack, dlq) == {0: 1}, "more than the one bad record in the dead letter queue"


def test_bad_record_fails_task_by_default(stack, connect, connectors, bucket, names, tmp_path):
    create_topic(stack, names.topic)
    connectors.start(names.connector, sink_config(stack, names.topic, bucket))

    produce_good_bad_good(stack, tmp_path, names.topic)
    trace = connect.wait_failed(names.connector, timeout=90)

    assert names.topic in trace, trace
    # partition as "partition 0" or in Kafka's own notation "<topic>-0"
    assert re.search(rf"{re.escape(names.topic)}-0\b|partition\D{{0,5}}0\b", trace, re.I), \
        f"no partition in:\n{trace}"
    assert re.search(r"offset\D{0,5}3\b", trace, re.I), f"no offset in:\n{trace}"
    assert re.search(r"sinetstream|malformed|decod|invalid|fingerprint|header", trace, re.I), \
        f"no reason in:\n{trace}"
