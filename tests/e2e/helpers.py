"""Helpers of the end-to-end tests: the local stack, the Connect REST API, the SINETStream
producer, the Kafka admin and the objects stored by versitygw (plain files) or the local store.

Every wait here is bounded: wait_until() raises AssertionError after its timeout."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import sinetstream
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError, UnknownTopicOrPartitionError

REPO = Path(__file__).resolve().parents[2]
STACK_SCRIPT = REPO / "scripts" / "local-stack.sh"
STACK_DIR = Path(os.environ.get("SINETS3_STACK_DIR", REPO / ".stack"))
CONNECTOR_CLASS = "org.sinetstream.kafka.connect.s3.SinetStreamS3SinkConnector"
BYTE_ARRAY_CONVERTER = "org.apache.kafka.connect.converters.ByteArrayConverter"
IGNORED_STORE_NAMES = {".sgwtmp", ".vgwlocks"}


def wait_until(check, timeout: float, what: str, interval: float = 0.5):
    """Call check() until it returns something truthy; return that. Connection errors and REST
    error answers count as 'not yet'. Raises AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            result = check()
            if result:
                return result
            last = result
        except (OSError, ConnectError) as exc:  # worker down or rebalancing: not yet
            last = exc
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")
        time.sleep(interval)


# ------------------------------------------------------------------------------------ stack

@dataclass
class Stack:
    bootstrap: str
    connect_url: str
    s3_url: str
    access_key: str
    secret_key: str
    bucket: str
    s3_dir: Path
    connect_log: Path
    env: dict = field(default_factory=dict, repr=False)  # all of stack.env

    @classmethod
    def load(cls) -> "Stack":
        env_file = STACK_DIR / "stack.env"
        if not env_file.exists():
            raise RuntimeError(f"{env_file} missing: run scripts/local-stack.sh up")
        env = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line)
        return cls(env["BOOTSTRAP_SERVERS"], env["CONNECT_URL"], env["S3_URL"], env["S3_ACCESS_KEY"],
                   env["S3_SECRET_KEY"], env["S3_BUCKET"], Path(env["S3_DIR"]), Path(env["CONNECT_LOG"]), env)

    @property
    def security(self) -> str:
        """The broker's security protocol: PLAINTEXT, or SASL_SSL (SINETS3_BROKER_SECURITY)."""
        return self.env.get("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT")

    def kafka_options(self, password: str | None = None) -> dict:
        """kafka-python options that reach the stack's broker (TLS with the stack's CA, SASL);
        `password` replaces the stack's SASL password."""
        if self.security == "PLAINTEXT":
            return {}
        return {"security_protocol": self.security, "ssl_cafile": self.env["KAFKA_SSL_CA_FILE"],
                "sasl_mechanism": self.env["KAFKA_SASL_MECHANISM"],
                "sasl_plain_username": self.env["KAFKA_SASL_USERNAME"],
                "sasl_plain_password": password or self.env["KAFKA_SASL_PASSWORD"]}

    def sinetstream_options(self, password: str | None = None) -> dict:
        """The same as SINETStream service parameters: its `tls` block, and the Kafka client's
        security and SASL settings, which go under type_spec in a version 3 config."""
        options = self.kafka_options(password)
        if not options:
            return {}
        return {"tls": {"ca_certs": options.pop("ssl_cafile")}, "type_spec": options}

    def run(self, *args: str, timeout: float = 300) -> None:
        """scripts/local-stack.sh ARGS (e.g. "kill", "connect")."""
        subprocess.run([str(STACK_SCRIPT), *args], check=True, timeout=timeout)

    def worker_log_mark(self) -> dict[Path, int]:
        """Current sizes of the worker's log files, to read what is written after this point."""
        logs = [self.connect_log, self.connect_log.with_suffix(".out")]
        return {p: p.stat().st_size if p.exists() else 0 for p in logs}

    def worker_log_since(self, mark: dict[Path, int]) -> str:
        text = ""
        for path, size in mark.items():
            if path.exists():
                with path.open("rb") as f:
                    f.seek(size)
                    text += f.read().decode(errors="replace")
        return text


# ------------------------------------------------------------------------------- Connect REST

def config_errors(result: dict) -> dict[str, list[str]]:
    """The keys a validate answer refuses, with their messages."""
    return {c["value"]["name"]: c["value"]["errors"] for c in result["configs"] if c["value"]["errors"]}


class ConnectError(Exception):
    def __init__(self, status: int, body):
        super().__init__(f"HTTP {status}: {body}")
        self.status, self.body = status, body


class Connect:
    def __init__(self, url: str):
        self.url = url.rstrip("/")

    def request(self, method: str, path: str, body=None, timeout: float = 60):
        """Returns (status, decoded JSON or text). Raises OSError when the worker is down."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json", "Accept": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as err:
            status, raw = err.code, err.read()
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode(errors="replace")

    def call(self, method: str, path: str, body=None, ok=(200, 201, 202, 204)):
        status, data = self.request(method, path, body)
        if status not in ok:
            raise ConnectError(status, data)
        return data

    def plugins(self) -> list[str]:
        return [p["class"] for p in self.call("GET", "/connector-plugins")]

    def validate(self, config: dict) -> dict:
        return self.call("PUT", f"/connector-plugins/{CONNECTOR_CLASS}/config/validate", config)

    def put_config(self, name: str, config: dict) -> dict:
        return self.call("PUT", f"/connectors/{name}/config", config)

    def status(self, name: str) -> dict | None:
        status, data = self.request("GET", f"/connectors/{name}/status")
        return data if status == 200 else None

    def names(self) -> list[str]:
        return self.call("GET", "/connectors")

    def delete(self, name: str, timeout: float = 60) -> None:
        self.call("DELETE", f"/connectors/{name}", ok=(200, 204, 404))
        wait_until(lambda: self.request("GET", f"/connectors/{name}")[0] == 404, timeout,
                   f"connector {name} to be deleted")

    @staticmethod
    def failures(status: dict | None) -> str:
        """Traces of a FAILED connector or task, '' when none failed."""
        if not status:
            return ""
        parts = [status["connector"]] + status.get("tasks", [])
        return "\n".join(p.get("trace", "FAILED (no trace)") for p in parts if p["state"] == "FAILED")

    def wait_running(self, name: str, tasks: int = 1, timeout: float = 120) -> dict:
        def check():
            st = self.status(name)
            if failed := self.failures(st):
                raise AssertionError(f"connector {name} failed:\n{failed}")
            running = st and st["connector"]["state"] == "RUNNING" and \
                len([t for t in st["tasks"] if t["state"] == "RUNNING"]) == tasks
            return st if running else None
        return wait_until(check, timeout, f"connector {name} RUNNING with {tasks} task(s)")

    def wait_failed(self, name: str, timeout: float = 120) -> str:
        return wait_until(lambda: self.failures(self.status(name)), timeout, f"connector {name} to fail")

    def committed(self, name: str) -> dict[int, int]:
        """Committed offsets {partition: next offset} of the sink connector's topic(s). Its consumer
        group keeps the offsets of topics an earlier connector of the same name read: left out."""
        topics = set(self.call("GET", f"/connectors/{name}/config").get("topics", "").split(","))
        data = self.call("GET", f"/connectors/{name}/offsets")
        return {o["partition"]["kafka_partition"]: o["offset"]["kafka_offset"] for o in data["offsets"]
                if o["partition"]["kafka_topic"] in topics}

    def wait_committed(self, name: str, ends: dict[int, int], timeout: float = 180) -> None:
        """Wait until the connector committed every partition up to its end offset; fail at once
        when the connector or a task failed."""
        want = {p: e for p, e in ends.items() if e > 0}

        def check():
            if failed := self.failures(self.status(name)):
                raise AssertionError(f"connector {name} failed:\n{failed}")
            got = self.committed(name)
            return all(got.get(p, 0) >= e for p, e in want.items())
        wait_until(check, timeout, f"{name} to commit offsets {want}", interval=1)


def sink_config(stack: Stack, topic: str, bucket: str, extra: dict | None = None) -> dict:
    """The seed's connector settings (one object per record, Asia/Tokyo) against versitygw."""
    config = {
        "connector.class": CONNECTOR_CLASS,
        "tasks.max": "1",
        "topics": topic,
        "key.converter": BYTE_ARRAY_CONVERTER,
        "value.converter": BYTE_ARRAY_CONVERTER,
        "store.url": stack.s3_url,
        "s3.bucket.name": bucket,
        "s3.region": "us-east-1",
        "aws.access.key.id": "${env:AWS_ACCESS_KEY_ID}",
        "aws.secret.access.key": "${env:AWS_SECRET_KEY}",
        "timezone": "Asia/Tokyo",
        "flush.size": "1",
    }
    config.update({k: str(v) for k, v in (extra or {}).items()})
    return config


# ------------------------------------------------------------------------------------ Kafka

def admin(stack: Stack) -> KafkaAdminClient:
    return KafkaAdminClient(bootstrap_servers=stack.bootstrap, request_timeout_ms=30000, **stack.kafka_options())


def create_topic(stack: Stack, topic: str, partitions: int = 1, configs: dict | None = None) -> None:
    client = admin(stack)
    try:
        def create():
            try:
                client.create_topics([NewTopic(topic, partitions, 1, topic_configs=configs or {})])
                return True
            except TopicAlreadyExistsError:  # still being deleted
                return False
        wait_until(create, 60, f"topic {topic} to be created")
    finally:
        client.close()


def delete_topic(stack: Stack, topic: str) -> None:
    client = admin(stack)
    try:
        try:
            client.delete_topics([topic], timeout_ms=30000)
        except UnknownTopicOrPartitionError:
            return
        wait_until(lambda: topic not in client.list_topics(), 60, f"topic {topic} to be deleted")
    finally:
        client.close()


def end_offsets(stack: Stack, topic: str) -> dict[int, int]:
    consumer = KafkaConsumer(bootstrap_servers=stack.bootstrap, **stack.kafka_options())
    try:
        parts = wait_until(lambda: consumer.partitions_for_topic(topic), 30, f"metadata of {topic}")
        ends = consumer.end_offsets([TopicPartition(topic, p) for p in parts])
        return {tp.partition: off for tp, off in ends.items()}
    finally:
        consumer.close()


def consume_all(stack: Stack, topic: str, count: int, timeout: float = 60) -> list:
    """Read `count` records of `topic` from the beginning (raw kafka-python records)."""
    consumer = KafkaConsumer(topic, bootstrap_servers=stack.bootstrap, auto_offset_reset="earliest",
                             enable_auto_commit=False, group_id=None, **stack.kafka_options())
    records: list = []
    try:
        def check():
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
            return len(records) >= count
        wait_until(check, timeout, f"{count} records in {topic}", interval=0)
        return records
    finally:
        consumer.close()


# ----------------------------------------------------------------------- SINETStream producer

@dataclass
class Sent:
    partition: int
    offset: int
    kafka_ts: int            # Kafka record timestamp, ms
    tstamp_us: int | None    # SINETStream send time, µs (None for user_data_only)
    payload: bytes


def produce(stack: Stack, workdir: Path, topic: str, payloads, *, message_format: int = 3,
            user_data_only: bool = False, type_spec: dict | None = None, send_time: bool = True,
            pause: float = 0.0, settings: dict | None = None) -> list[Sent]:
    """Publish `payloads` with the real SINETStream client (Kafka, AT_LEAST_ONCE, one synchronous
    publish per message). send_time=True passes an explicit send time so the expected timestamp
    object is known to the microsecond; False lets the client take the clock itself (tstamp_us
    is then None and the caller checks a time window). `settings` adds service parameters
    (data_encryption, crypto, data_compression, compression, ...). On a secured stack the client
    connects with its tls and SASL settings (Stack.sinetstream_options)."""
    security = stack.sinetstream_options()
    service = {
        "type": "kafka",
        "brokers": stack.bootstrap,
        "consistency": "AT_LEAST_ONCE",
        "message_format": message_format,
        "user_data_only": user_data_only,
        **security,
        "type_spec": {**security.get("type_spec", {}), **(type_spec or {})},
        **(settings or {}),
    }
    config_file = workdir / f"sinetstream-{topic}.yml"  # JSON is YAML
    config_file.write_text(json.dumps({"header": {"version": 3}, "config": {"e2e": service}}))
    sent = []
    with sinetstream.MessageWriter(service="e2e", topic=topic, config_file=str(config_file)) as writer:
        for payload in payloads:
            ts = time.time_ns() // 1000 / 1e6 if send_time else None
            meta = writer.publish(payload, timestamp=ts)
            tstamp_us = int(ts * 1000_000) if ts is not None and not user_data_only else None
            sent.append(Sent(meta.partition, meta.offset, meta.timestamp, tstamp_us, payload))
            if pause:
                time.sleep(pause)
    return sent


# ------------------------------------------------------------------------------ stored objects

def empty_bucket(s3, bucket: str, prefix: str = "") -> None:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})


def format_utc_ms(us: int) -> bytes:
    """yyyy-MM-dd'T'HH:mm:ss.SSS in UTC, plus "\\n"."""
    dt = datetime.fromtimestamp(us // 1_000_000, timezone.utc)
    return f"{dt:%Y-%m-%dT%H:%M:%S}.{us // 1000 % 1000:03d}\n".encode()


def object_base(topic: str, partition: int, offset: int, kafka_ts: int, tz: str = "Asia/Tokyo") -> str:
    d = datetime.fromtimestamp(kafka_ts / 1000, ZoneInfo(tz))
    return (f"topics/{topic}/year={d:%Y}/month={d:%m}/day={d:%d}/hour={d:%H}/"
            f"{topic}+{partition}+{offset:010d}")


def expected_objects(topic: str, sent: list[Sent], ext: str = ".bin", tz: str = "Asia/Tokyo") -> dict[str, bytes]:
    """Seed layout: a payload object and a timestamp object per record."""
    out = {}
    for s in sent:
        base = object_base(topic, s.partition, s.offset, s.kafka_ts, tz)
        out[base + ext] = s.payload
        out[base + "-timestamp.txt"] = format_utc_ms(s.tstamp_us if s.tstamp_us is not None else s.kafka_ts * 1000)
    return out


def stored_objects(root: Path, bucket: str, prefix: str = "topics/") -> dict[str, bytes]:
    """Objects of `bucket` as plain files under root/<bucket>/ (versitygw posix or file:// store),
    keys starting with `prefix`; versitygw's .sgwtmp/ and .vgwlocks are not objects."""
    base = root / bucket
    out = {}
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = [d for d in dirnames if d not in IGNORED_STORE_NAMES]
        for name in filenames:
            if name in IGNORED_STORE_NAMES:
                continue
            key = os.path.relpath(os.path.join(dirpath, name), base)
            if key.startswith(prefix):
                out[key] = Path(dirpath, name).read_bytes()
    return out


def assert_objects(actual: dict[str, bytes], expected: dict[str, bytes]) -> None:
    """Same keys, same bytes; a short report of what differs."""
    missing = sorted(expected.keys() - actual.keys())
    extra = sorted(actual.keys() - expected.keys())
    differ = sorted(k for k in expected.keys() & actual.keys() if expected[k] != actual[k])
    if missing or extra or differ:
        def show(keys):
            more = f"\n    ... {len(keys) - 8} more" if len(keys) > 8 else ""
            return "".join(f"\n    {k}" for k in keys[:8]) + more
        detail = "".join(f"\n    {k}: stored {len(actual[k])} bytes {actual[k][:40]!r}, "
                         f"expected {len(expected[k])} bytes {expected[k][:40]!r}" for k in differ[:8])
        raise AssertionError(f"stored objects differ ({len(actual)} stored, {len(expected)} expected)\n"
                             f"  missing {len(missing)}:{show(missing)}\n  extra {len(extra)}:{show(extra)}\n"
                             f"  different content {len(differ)}:{detail}")
