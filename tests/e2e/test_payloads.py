"""Payloads stored byte for byte: binary blobs, empty payloads, message formats 2 and 3,
user_data_only, and a 12 MiB message that goes through a multipart upload."""

import hashlib
import random

import pytest

from helpers import assert_objects, create_topic, end_offsets, expected_objects, produce, sink_config, stored_objects

MiB = 1024 * 1024

# SINETStream writer parameters -> the connector settings that read them back.
FORMATS = {
    "v3": ({"message_format": 3}, {"sinetstream.message.format": "3"}),
    "v2": ({"message_format": 2}, {"sinetstream.message.format": "2"}),
    "user-data-only": ({"user_data_only": True}, {"sinetstream.user.data.only": "true"}),
}


def binary_payloads() -> list[bytes]:
    rnd = random.Random(20240418)
    jpeg_like = (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
                 + rnd.randbytes(30_000) + b"\r\n\x00\n" + rnd.randbytes(3_000) + b"\xff\xd9")
    return [
        jpeg_like,
        rnd.randbytes(100_000),
        b"",
        b"\n",
        b"\x00",
        bytes(range(256)) * 4,
        b"\xdf\x03\x00\x00\x00\x00 looks like a v3 header",
        "センサー 温度 21.5℃\n".encode(),
    ]


@pytest.mark.parametrize("fmt", FORMATS)
def test_binary_payloads(fmt, stack, connect, connectors, bucket, names, tmp_path):
    writer_params, connector_params = FORMATS[fmt]
    create_topic(stack, names.topic)
    connectors.start(names.connector, sink_config(stack, names.topic, bucket, connector_params))

    sent = produce(stack, tmp_path, names.topic, binary_payloads(), **writer_params)
    connect.wait_committed(names.connector, end_offsets(stack, names.topic), timeout=60)

    # user_data_only: no send time in the message, the timestamp object holds the Kafka timestamp.
    assert_objects(stored_objects(stack.s3_dir, bucket), expected_objects(names.topic, sent))


def test_12mib_message_multipart(stack, connect, connectors, bucket, names, tmp_path, s3):
    create_topic(stack, names.topic, configs={"max.message.bytes": str(20 * MiB)})
    connectors.start(names.connector, sink_config(stack, names.topic, bucket, {
        "consumer.override.max.partition.fetch.bytes": str(20 * MiB),
        "s3.part.size": str(5 * MiB),  # below the message: three parts
    }))

    payload = random.Random(12).randbytes(12 * MiB)
    sent = produce(stack, tmp_path, names.topic, [payload, b"small one after"],
                   type_spec={"max_request_size": 20 * MiB})
    connect.wait_committed(names.connector, end_offsets(stack, names.topic), timeout=120)

    stored = stored_objects(stack.s3_dir, bucket)
    expected = expected_objects(names.topic, sent)
    big_key = next(k for k, v in expected.items() if v is payload)
    assert hashlib.sha256(stored.get(big_key, b"")).hexdigest() == hashlib.sha256(payload).hexdigest(), \
        f"{big_key}: stored {len(stored.get(big_key, b''))} bytes, expected {len(payload)}"
    assert_objects(stored, expected)
    # A multipart upload's ETag is "<md5 of the part md5s>-<number of parts>".
    etag = s3.head_object(Bucket=bucket, Key=big_key).get("ETag", "").strip('"')
    assert "-" in etag, f"{big_key} was not stored through multipart (ETag {etag})"
