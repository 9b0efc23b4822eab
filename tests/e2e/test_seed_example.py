"""The seed's example, end to end: topic sinetstream.sensor, .json objects in bucket mybucket,
directories in Asia/Tokyo, stored in versitygw (S3) or as plain files (store.url=file://...)."""

import json
import re
import time
from datetime import datetime, timedelta, timezone

import pytest

from helpers import (assert_objects, create_topic, delete_topic, empty_bucket, end_offsets, expected_objects,
                     object_base, produce, sink_config, stored_objects)

SEED_TOPIC = "sinetstream.sensor"
SEED_BUCKET = "mybucket"
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def sensor_readings() -> list[bytes]:
    return [json.dumps({"sensor": "th-01", "seq": i, "temperature": 21.5 + i / 10, "humidity": 40 + i}).encode()
            for i in range(5)]


def parse_timestamp_object(text: bytes) -> int:
    """'yyyy-MM-ddTHH:mm:ss.SSS\\n' (UTC) -> microseconds since the epoch."""
    assert re.fullmatch(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\n", text), text
    dt = datetime.strptime(text.decode().strip(), "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=timezone.utc)
    return (dt - EPOCH) // timedelta(microseconds=1)


@pytest.mark.parametrize("store", ["s3", "file"])
def test_seed_example(store, stack, connect, connectors, s3, tmp_path, uid):
    # The seed's names are fixed, so start from an empty topic and an empty prefix.
    delete_topic(stack, SEED_TOPIC)
    create_topic(stack, SEED_TOPIC)
    if store == "s3":
        root, store_url = stack.s3_dir, stack.s3_url
        empty_bucket(s3, SEED_BUCKET, f"topics/{SEED_TOPIC}/")
    else:
        root = tmp_path / "data"
        store_url = f"file://{root}"
    name = connectors.start(f"e2e-seed-{store}-{uid}", sink_config(
        stack, SEED_TOPIC, SEED_BUCKET, {"store.url": store_url, "format.bytearray.extension": ".json"}))

    before_us = time.time_ns() // 1000
    sent = produce(stack, tmp_path, SEED_TOPIC, sensor_readings(), send_time=False)  # client's own clock
    after_us = time.time_ns() // 1000
    connect.wait_committed(name, end_offsets(stack, SEED_TOPIC), timeout=60)

    stored = stored_objects(root, SEED_BUCKET, f"topics/{SEED_TOPIC}/")
    assert [(s.partition, s.offset) for s in sent] == [(0, i) for i in range(5)]
    assert len(stored) == 10, sorted(stored)
    first = object_base(SEED_TOPIC, 0, 0, sent[0].kafka_ts)
    assert re.fullmatch(r"topics/sinetstream\.sensor/year=\d{4}/month=\d\d/day=\d\d/hour=\d\d/"
                        r"sinetstream\.sensor\+0\+0000000000", first)
    for s in sent:
        assert before_us // 1000 <= s.kafka_ts <= after_us // 1000 + 1
        # The send time inside the message was taken by the client during publish().
        key = object_base(SEED_TOPIC, 0, s.offset, s.kafka_ts) + "-timestamp.txt"
        assert key in stored, f"{key} not stored; stored: {sorted(stored)}"
        s.tstamp_us = parse_timestamp_object(stored[key])
        assert before_us // 1000 * 1000 <= s.tstamp_us <= after_us
    assert_objects(stored, expected_objects(SEED_TOPIC, sent, ext=".json"))
