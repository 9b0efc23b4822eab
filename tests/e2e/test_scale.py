"""Several thousand messages over three partitions, two tasks: every offset stored exactly once."""

import random

from helpers import assert_objects, create_topic, end_offsets, expected_objects, produce, sink_config, stored_objects

COUNT = 5000


def varied_payloads(count: int, seed: int) -> list[bytes]:
    rnd = random.Random(seed)
    return [f"message {i}\n".encode() + rnd.randbytes(rnd.randrange(0, 2000)) for i in range(count)]


def test_three_partitions_two_tasks(stack, connect, connectors, bucket, names, tmp_path):
    create_topic(stack, names.topic, partitions=3)
    sent = produce(stack, tmp_path, names.topic, varied_payloads(COUNT, seed=4))  # backlog first
    ends = end_offsets(stack, names.topic)
    assert sum(ends.values()) == COUNT and all(ends.values()), ends

    connectors.start(names.connector, sink_config(stack, names.topic, bucket, {"tasks.max": "2"}), tasks=2)
    connect.wait_committed(names.connector, ends, timeout=300)

    assert_objects(stored_objects(stack.s3_dir, bucket), expected_objects(names.topic, sent))
