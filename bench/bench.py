"""Side-by-side benchmark: our sink, Apache Camel's S3 sink, the seed's request pattern
(modelled) and the store's own ceiling, on the local stack. Run it through bench/run.sh,
which builds the helpers and fetches the Camel jars first.

Every connector row runs on a fresh Connect worker (with --quick: one worker per system and
scenario) after a warm-up of the same connector configuration on a topic of the same kind
of messages, then is timed from the moment the connector is registered until every expected
object is stored and the connector's committed offsets reach the end of the topic.
Requests are counted from versitygw's access log; RSS and CPU are the worker's own
(/proc: VmHWM after resetting it, utime + stime)."""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import os
import platform
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"
WORK = Path(os.environ.get("BENCH_WORK", BENCH / "work"))
STACK_DIR = WORK / "stack"
PORTS = {name: int(os.environ.get(f"BENCH_{name.upper()}_PORT", default)) for name, default in
         [("broker", 19092), ("controller", 19093), ("connect", 18083), ("s3", 17070), ("proxy", 17071),
          ("proxy_ctl", 17072)]}
os.environ["SINETS3_STACK_DIR"] = str(STACK_DIR)  # read by tests/e2e/helpers at import
sys.path.insert(0, str(REPO / "tests" / "e2e"))

import boto3  # noqa: E402
import sinetstream  # noqa: E402
from helpers import Connect  # noqa: E402
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition  # noqa: E402
from kafka.admin import NewTopic  # noqa: E402

ACCESS, SECRET, REGION = "sinets3-test-access", "sinets3-test-secret-0123456789", "us-east-1"
S3_URL = f"http://127.0.0.1:{PORTS['s3']}"
PROXY_URL = f"http://127.0.0.1:{PORTS['proxy']}"
BYTE_ARRAY = "org.apache.kafka.connect.converters.ByteArrayConverter"
OURS_CLASS = "org.sinetstream.kafka.connect.s3.SinetStreamS3SinkConnector"
CAMEL_CLASS = "org.apache.camel.kafkaconnector.CamelSinkConnector"
FILE_SINK_CLASS = "org.apache.kafka.connect.file.FileStreamSinkConnector"
CONNECT_ALONE = "Connect alone (no store)"
ACCESS_LOG = STACK_DIR / "logs" / "s3-access.log"
# How often the bench worker commits offsets (the local stack: 1 s, Connect's default: 60 s).
# Every row waits for the commit after its last object, up to this long, whatever the system.
OFFSET_FLUSH_MS = 200
HOSTS_FILE = WORK / "hosts"
CEILING = WORK / "bin" / "ceiling"
PROXY = WORK / "bin" / "proxy"
CONCURRENCIES = (1, 8, 32, 64)
SYSTEM_SLUGS = {"ours (seed config)": "seed", "ours (payload only)": "payload", "Camel": "camel",
                "ours (flush.size=1000)": "batch", CONNECT_ALONE: "alone"}
MiB = 1 << 20


@dataclass
class Sizes:
    s: int
    m: int
    l: int
    s_wan: int
    m_wan: int
    batched: int       # 1 KiB messages of the batched scenario (a multiple of 3,000)
    warm: int          # warm-up messages (1 KiB and 100 KiB kinds)
    warm_l: int        # warm-up messages of 16 MiB
    memory_bytes: int  # backlog of the memory scenario
    memory_window: int  # seconds each system drains that backlog at most
    row_timeout: int
    fresh_worker_per_row: bool


FULL = Sizes(10_000, 2_000, 20, 2_000, 1_000, 150_000, 1_000, 8, 1 << 30, 240, 900, True)
QUICK = Sizes(3_000, 600, 6, 300, 150, 30_000, 300, 3, 256 * MiB, 40, 300, False)


@dataclass
class Scenario:
    name: str
    topic: str
    count: int
    size: int
    kind: str         # json | jpeg
    delay_ms: float   # round trip added between the worker and the store
    warm_topic: str
    partitions: int = 3

    @property
    def slug(self) -> str:
        return self.name.lower()


# ------------------------------------------------------------------------------ utilities

def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def run(*args, env=None, timeout=300, capture=False) -> str:
    out = subprocess.run([str(a) for a in args], env=env, timeout=timeout, check=True, text=True,
                         stdout=subprocess.PIPE if capture else None)
    return out.stdout if capture else ""


def stack_env(**extra) -> dict:
    env = dict(os.environ, SINETS3_STACK_DIR=str(STACK_DIR), SINETS3_PLUGIN_DIR=str(WORK / "plugins"),
               SINETS3_BROKER_PORT=str(PORTS["broker"]), SINETS3_CONTROLLER_PORT=str(PORTS["controller"]),
               SINETS3_CONNECT_PORT=str(PORTS["connect"]), SINETS3_S3_PORT=str(PORTS["s3"]),
               SINETS3_S3_ACCESS_KEY=ACCESS, SINETS3_S3_SECRET_KEY=SECRET,
               SINETS3_OFFSET_FLUSH_MS=str(OFFSET_FLUSH_MS))
    env.pop("JDK_JAVA_OPTIONS", None)
    env.update(extra)
    return env


def local_stack(*args, **extra) -> None:
    run(REPO / "scripts" / "local-stack.sh", *args, env=stack_env(**extra), timeout=240)


def pid_of(part: str) -> int:
    return int((STACK_DIR / "run" / f"{part}.pid").read_text())


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def reset_peak_rss(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := VmRSS


def restart_worker() -> None:
    """A fresh Connect worker; it resolves <bucket>.localhost through our hosts file (Camel)."""
    local_stack("restart", "connect", JDK_JAVA_OPTIONS=f"-Djdk.net.hosts.file={HOSTS_FILE}")


class AccessLog:
    """versitygw's access log: requests and stored objects (distinct keys: a record that Connect
    redelivers after a rebalance is written again under the same name) per bucket since the
    last mark."""

    STORED = {"s3_PutObject", "s3_CompleteMultipartUpload"}

    def __init__(self, path: Path):
        self.path, self.offset, self.counts = path, 0, {}

    def mark(self) -> None:
        self.offset = self.path.stat().st_size if self.path.exists() else 0
        self.counts = {}

    def poll(self) -> dict:
        with self.path.open("rb") as f:
            f.seek(self.offset)
            data = f.read()
        end = data.rfind(b"\n") + 1
        self.offset += end
        for line in data[:end].decode(errors="replace").splitlines():
            fields = line.split(" ")
            if len(fields) < 11:
                continue
            bucket, op, key, status = fields[1], fields[7], fields[8], fields[10]
            c = self.counts.setdefault(bucket, {"requests": 0, "objects": 0, "errors": 0, "ops": {}, "keys": set()})
            c["requests"] += 1
            c["ops"][op] = c["ops"].get(op, 0) + 1
            if not status.startswith("2"):
                c["errors"] += 1
            elif op in self.STORED:
                c["keys"].add(key)
                c["objects"] = len(c["keys"])
        return self.counts


def stored_objects(bucket: str) -> list[tuple[str, int]]:
    """(key, size) of every object of `bucket`, read from versitygw's directory."""
    base = STACK_DIR / "s3" / bucket
    out = []
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = [d for d in dirnames if d not in (".sgwtmp", ".vgwlocks")]
        for name in filenames:
            if name != ".vgwlocks":
                path = Path(dirpath, name)
                out.append((str(path.relative_to(base)), path.stat().st_size))
    return out


# ------------------------------------------------------------------------------ the bench

class Bench:
    def __init__(self, sizes: Sizes):
        self.sizes = sizes
        self.rows: list[dict] = []
        self.proxy: subprocess.Popen | None = None
        self.connect = Connect(f"http://127.0.0.1:{PORTS['connect']}")
        self.access = AccessLog(ACCESS_LOG)
        self.bootstrap = f"127.0.0.1:{PORTS['broker']}"
        n = sizes
        self.scenarios = [
            Scenario("S", "bench-s", n.s, 1024, "json", 0, "warm-s"),
            Scenario("M", "bench-m", n.m, 100 * 1024, "jpeg", 0, "warm-m"),
            Scenario("L", "bench-l", n.l, 16 * MiB, "jpeg", 0, "warm-l"),
            Scenario("S-wan", "bench-s-wan", n.s_wan, 1024, "json", 20, "warm-s"),
            Scenario("M-wan", "bench-m-wan", n.m_wan, 100 * 1024, "jpeg", 20, "warm-m"),
        ]
        self.batch = Scenario("batched", "bench-batched", n.batched, 1024, "json", 0, "warm-s")
        self.memory = Scenario("memory", "bench-memory", sizes.memory_bytes // (8 * 1024), 8 * 1024, "json", 0,
                               "", partitions=100)
        self.worker_system: str | None = None
        self.rows_done = self.rows_total = 0

    # ---------------------------------------------------------------- stack and helpers

    def start(self) -> None:
        local_stack("down")  # leftovers of an interrupted run, if any
        for d in ("stack", "routes"):
            shutil.rmtree(WORK / d, ignore_errors=True)
        (WORK / "routes").mkdir(parents=True)
        buckets = [self.bucket(sc, "camel", t, p) for sc in self.scenarios + [self.memory]
                   for t in (1, 3) for p in "wm"]
        HOSTS_FILE.write_text(f"127.0.0.1 localhost {socket.gethostname()} "
                              + " ".join(b + ".localhost" for b in buckets) + "\n")
        say(f"starting the bench stack in {STACK_DIR} (ports {PORTS})")
        local_stack("start", "s3", VGW_VIRTUAL_DOMAIN="localhost", VGW_ACCESS_LOG=str(ACCESS_LOG))
        local_stack("start", "broker")
        restart_worker()
        self.proxy = subprocess.Popen([PROXY, "-listen", f"127.0.0.1:{PORTS['proxy']}",
                                       "-target", f"127.0.0.1:{PORTS['s3']}",
                                       "-control", f"127.0.0.1:{PORTS['proxy_ctl']}"],
                                      stdout=subprocess.DEVNULL, stderr=(WORK / "proxy.log").open("w"))
        self.s3 = boto3.client("s3", endpoint_url=S3_URL, aws_access_key_id=ACCESS, aws_secret_access_key=SECRET,
                               region_name=REGION, config=boto3.session.Config(s3={"addressing_style": "path"}))
        self.admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=30000)
        self.set_delay(0)

    def stop(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):  # a second Ctrl-C must not cut the clean-up short
            signal.signal(sig, signal.SIG_IGN)
        if self.proxy and self.proxy.poll() is None:
            self.proxy.terminate()
            self.proxy.wait(10)
        try:
            local_stack("down")
        except subprocess.SubprocessError as e:
            print(f"stopping the stack failed: {e}", file=sys.stderr)

    def set_delay(self, ms: float) -> None:
        deadline = time.monotonic() + 10
        while True:
            try:
                urllib.request.urlopen(urllib.request.Request(
                    f"http://127.0.0.1:{PORTS['proxy_ctl']}/delay?ms={ms}", method="POST"), timeout=5).read()
                return
            except OSError:
                if time.monotonic() > deadline or self.proxy.poll() is not None:
                    raise
                time.sleep(0.2)

    def store_url(self, sc: Scenario) -> str:
        return PROXY_URL if sc.delay_ms else S3_URL

    @staticmethod
    def bucket(sc: Scenario, system: str, tasks: int, phase: str) -> str:
        return f"{sc.slug}-{system}-t{tasks}-{phase}"

    def new_bucket(self, name: str) -> str:
        self.s3.create_bucket(Bucket=name)
        return name

    def drop_bucket(self, name: str) -> None:
        shutil.rmtree(STACK_DIR / "s3" / name, ignore_errors=True)

    def end_offsets(self, topic: str) -> dict[int, int]:
        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap)
        try:
            parts = consumer.partitions_for_topic(topic) or set()
            ends = consumer.end_offsets([TopicPartition(topic, p) for p in parts])
            return {tp.partition: off for tp, off in ends.items()}
        finally:
            consumer.close()

    def committed(self, connector: str) -> dict[int, int]:
        offsets = self.admin.list_consumer_group_offsets(f"connect-{connector}")
        return {tp.partition: meta.offset for tp, meta in offsets.items()}

    # ---------------------------------------------------------------- preload

    def payloads(self, sc: Scenario, count: int):
        header = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
        for i in range(count):
            if sc.kind == "jpeg":
                yield header + os.urandom(sc.size - len(header) - 2) + b"\xff\xd9"
            else:
                doc = {"sensor": "bench-sensor-01", "seq": i, "time": time.time(), "temperature": 21.5,
                       "humidity": 48.25, "pad": ""}
                doc["pad"] = "x" * (sc.size - len(json.dumps(doc, separators=(",", ":"))))
                yield json.dumps(doc, separators=(",", ":")).encode()

    def preload(self, sc: Scenario, topic: str, count: int) -> None:
        """`count` messages from the real SINETStream client (AT_LEAST_ONCE), partitions in turn."""
        say(f"preload {topic}: {count} messages of {sc.size} bytes, {sc.partitions} partitions")
        self.admin.create_topics([NewTopic(topic, sc.partitions, 1)])
        deadline = time.monotonic() + 60
        while len(self.end_offsets(topic)) < sc.partitions:  # every partition has a leader
            if time.monotonic() > deadline:
                raise RuntimeError(f"topic {topic}: partitions not ready after 60s")
            time.sleep(0.5)
        service = {"type": "kafka", "brokers": self.bootstrap, "consistency": "AT_LEAST_ONCE",
                   "message_format": 3,
                   "type_spec": {"max_request_size": 20_000_000, "linger_ms": 5, "retries": 5}}
        config = WORK / "sinetstream.yml"
        config.write_text(json.dumps({"header": {"version": 3}, "config": {"bench": service}}))
        turn = itertools.count()

        def partitioner(_key, partitions, _available):
            return partitions[next(turn) % len(partitions)]

        started = time.monotonic()
        failures: list = []
        # Large messages one at a time: kafka-python's asynchronous sends of 16 MiB time out.
        writer_class = sinetstream.MessageWriter if sc.size > MiB else sinetstream.AsyncMessageWriter
        with writer_class(service="bench", topic=topic, config_file=str(config),
                          type_spec={"partitioner": partitioner}) as writer:
            for i, payload in enumerate(self.payloads(sc, count)):
                sent = writer.publish(payload)
                if writer_class is sinetstream.AsyncMessageWriter:
                    sent.then(None, failures.append)
                if i and i % 50_000 == 0:
                    say(f"  {i}/{count}")
        stored = sum(self.end_offsets(topic).values())
        if stored != count:
            raise RuntimeError(f"preload of {topic}: {stored} of {count} messages in the topic "
                               f"({len(failures)} failed, first: {failures[:1]})")
        say(f"  {count} messages in {time.monotonic() - started:.1f}s")

    # ---------------------------------------------------------------- connector rows

    def ours_config(self, sc: Scenario, topic: str, bucket: str, tasks: int, extra: dict) -> dict:
        config = {"connector.class": OURS_CLASS, "tasks.max": str(tasks), "topics": topic,
                  "key.converter": BYTE_ARRAY, "value.converter": BYTE_ARRAY,
                  "store.url": self.store_url(sc), "s3.bucket.name": bucket, "s3.region": REGION,
                  "s3.path.style.access.enabled": "true", "aws.access.key.id": ACCESS,
                  "aws.secret.access.key": SECRET, "timezone": "Asia/Tokyo", "flush.size": "1"}
        config.update(extra)
        return config

    def camel_config(self, sc: Scenario, topic: str, bucket: str, tasks: int) -> dict:
        """Camel's generic sink: our route puts each record's value into its own object, named
        by the exchange id (Camel passes the route no topic, partition or offset)."""
        port = PORTS["proxy"] if sc.delay_ms else PORTS["s3"]
        route = WORK / "routes" / f"{bucket}.xml"
        route.write_text(f"""<routes xmlns="http://camel.apache.org/schema/spring">
  <route id="bench-s3">
    <from uri="direct:s3"/>
    <setHeader name="CamelAwsS3Key"><simple>${{exchangeId}}</simple></setHeader>
    <to uri="aws2-s3://{bucket}?accessKey=RAW({ACCESS})&amp;secretKey=RAW({SECRET})&amp;region={REGION}&amp;overrideEndpoint=true&amp;uriEndpointOverride=http://localhost:{port}&amp;autoCreateBucket=false"/>
  </route>
</routes>
""")
        return {"connector.class": CAMEL_CLASS, "tasks.max": str(tasks), "topics": topic,
                "key.converter": BYTE_ARRAY, "value.converter": BYTE_ARRAY,
                "camel.sink.url": "direct:s3", "camel.main.routesIncludePattern": f"file:{route}"}

    @staticmethod
    def alone_config(topic: str, tasks: int) -> dict:
        """What Connect costs by itself: Kafka's FileStreamSinkConnector writing to /dev/null
        reads and delivers the same records and stores nothing."""
        return {"connector.class": FILE_SINK_CLASS, "tasks.max": str(tasks), "topics": topic,
                "key.converter": BYTE_ARRAY, "value.converter": BYTE_ARRAY, "file": "/dev/null"}

    def targets(self, topic: str, flush: int, objects_per_record: int) -> tuple[dict[int, int], int, int]:
        """Offsets the connector must commit, objects it must store, messages they hold. With
        flush.size > 1 only full objects count (the rest waits for more records)."""
        ends = self.end_offsets(topic)
        commit = {p: e // flush * flush for p, e in ends.items()}
        messages = sum(commit.values())
        return commit, messages // flush * objects_per_record, messages

    def drain(self, name: str, config: dict, bucket: str, commit: dict[int, int], objects: int,
              timeout: float, label: str, window: float | None = None) -> dict:
        """Registers the connector and waits until `objects` objects are stored in `bucket` and the
        committed offsets reach `commit` (or `window` seconds pass). Returns timings and counts."""
        os.sync()  # no writeback of earlier rows' objects while this one runs
        worker = pid_of("connect")
        store = pid_of("s3")
        rss_start = status_kb(worker, "VmRSS")
        reset_peak_rss(worker)
        cpu0, store_cpu0 = cpu_seconds(worker), cpu_seconds(store)
        self.access.mark()
        started = time.monotonic()
        self.connect.put_config(name, config)
        first_at = stored_at = done_at = None
        last_report = last_status = started
        got: dict[int, int] = {}
        want = {p: c for p, c in commit.items() if c > 0}
        while done_at is None:
            now = time.monotonic()
            seen = self.access.poll()
            count = seen.get(bucket, {}).get("objects", 0)
            if first_at is None and count:
                first_at = now
            if stored_at is None and count >= objects:
                stored_at = now
            if stored_at is not None or now - last_report >= 2:
                got = self.committed(name)
                if stored_at is not None and all(got.get(p, 0) >= c for p, c in want.items()):
                    done_at = now
                    break
            if now - last_status >= 3:
                last_status = now
                failed = Connect.failures(self.connect.status(name))
                if failed:
                    raise RuntimeError(f"{label}: connector failed:\n{failed[:2000]}")
            if now - last_report >= 2:
                last_report = now
                say(f"  {label}: {count}/{objects} objects, committed {sum(got.values())}/{sum(want.values())} "
                    f"({now - started:.0f}s)")
            if window is not None and now - started >= window:
                break
            if now - started > timeout:
                raise RuntimeError(f"{label}: not done after {timeout}s ({count}/{objects} objects)")
            time.sleep(0.1)
        end = done_at or time.monotonic()
        counts = self.access.poll().get(bucket, {"requests": 0, "objects": 0, "errors": 0, "ops": {}})
        return {"seconds": end - started, "objects_seen": counts["objects"], "requests": counts["requests"],
                "failed_requests": counts["errors"], "ops": counts["ops"], "first_object_after_s": (first_at or end) - started,
                "stored_after_s": (stored_at or end) - started,
                "peak_rss_mb": status_kb(worker, "VmHWM") / 1024, "rss_start_mb": rss_start / 1024,
                "cpu_s": cpu_seconds(worker) - cpu0, "store_cpu_s": cpu_seconds(store) - store_cpu0,
                "complete": done_at is not None}

    def prepare_worker(self, system: str) -> None:
        if self.sizes.fresh_worker_per_row or self.worker_system != system:
            say(f"  fresh Connect worker for {system}")
            restart_worker()
            self.worker_system = system

    def connector_row(self, sc: Scenario, label: str, system: str, tasks: int, extra: dict | None = None,
                      flush: int = 1, topic: str | None = None, warm: bool = True,
                      window: float | None = None) -> tuple[dict, list]:
        """One measured connector row; returns the row and the objects it stored."""
        topic = topic or sc.topic
        kind = SYSTEM_SLUGS[label]
        per_record = {"camel": 1, "alone": 0}.get(system, 1 if (extra or {}).get("sink.objects") == "payload" else 2)
        self.prepare_worker(system)

        def config(topic_: str, bucket_: str) -> dict:
            if system == "camel":
                return self.camel_config(sc, topic_, bucket_, tasks)
            if system == "alone":
                return self.alone_config(topic_, tasks)
            return self.ours_config(sc, topic_, bucket_, tasks, extra or {})

        if warm:
            self.set_delay(0)
            bucket = self.new_bucket(self.bucket(sc, kind, tasks, "w"))
            commit, objects, _ = self.targets(sc.warm_topic, flush, per_record)
            name = f"{bucket}-{int(time.time())}"
            say(f"  {sc.name} {label} tasks={tasks}: warm-up on {sc.warm_topic}")
            self.drain(name, config(sc.warm_topic, bucket), bucket, commit, objects, self.sizes.row_timeout,
                       f"warm-up {label}")
            self.connect.delete(name)
            self.drop_bucket(bucket)
        self.set_delay(sc.delay_ms)
        bucket = self.new_bucket(self.bucket(sc, kind, tasks, "m"))
        commit, objects, messages = self.targets(topic, flush, per_record)
        name = f"{bucket}-{int(time.time())}"
        self.rows_done += 1
        say(f"  {sc.name} {label} tasks={tasks}: measuring {messages} messages, {objects} objects "
            f"(connector row {self.rows_done}/{self.rows_total})")
        try:
            m = self.drain(name, config(topic, bucket), bucket, commit, objects, self.sizes.row_timeout,
                           f"{sc.name} {label} t{tasks}", window)
        finally:
            self.connect.delete(name)
            self.set_delay(0)
        stored = stored_objects(bucket)
        self.drop_bucket(bucket)
        if m["complete"] and len(stored) != objects:
            raise RuntimeError(f"{label}: {len(stored)} objects stored, {objects} expected")
        if not m["complete"]:  # memory window: messages stored so far
            messages = m["objects_seen"] // per_record
        size = sum(s for _, s in stored)
        row = {"scenario": sc.name, "system": label, "tasks": tasks, "messages": messages,
               "objects": len(stored), "bytes": size, **m,
               "msgs_per_s": messages / m["seconds"], "mb_per_s": size / 1e6 / m["seconds"],
               "requests_per_msg": m["requests"] / messages if messages else None}
        self.add(row)
        return row, stored

    # ---------------------------------------------------------------- store-only rows

    def ceiling(self, sc: Scenario, label: str, objects: list[tuple[str, str, int]], messages: int,
                mode: str = "put", concurrency: int = 32, tasks: int | None = None) -> dict:
        """The ceiling program on `objects` (stream, key, size) against the same store and delay."""
        bucket = self.new_bucket(f"{sc.slug}-ceil-{mode}-{concurrency}-{len(self.rows)}")
        manifest = "".join(f"{stream} {size} {key}\n" for stream, key, size in objects)
        self.set_delay(sc.delay_ms)
        os.sync()
        store = pid_of("s3")
        store_cpu0 = cpu_seconds(store)
        client_cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        try:
            out = subprocess.run([CEILING, "-endpoint", self.store_url(sc), "-bucket", bucket, "-mode", mode,
                                  "-concurrency", str(concurrency), "-access", ACCESS, "-secret", SECRET],
                                 input=manifest, text=True, capture_output=True, timeout=self.sizes.row_timeout)
        finally:
            self.set_delay(0)
        self.drop_bucket(bucket)
        if out.returncode != 0:
            raise RuntimeError(f"ceiling failed: {out.stderr.strip()}")
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        r = json.loads(out.stdout)
        row = {"scenario": sc.name, "system": label, "tasks": tasks, "concurrency": concurrency if mode == "put" else None,
               "streams": r["streams"], "messages": messages, "objects": r["objects"], "bytes": r["bytes"],
               "seconds": r["seconds"], "requests": r["requests"], "complete": True,
               "msgs_per_s": messages / r["seconds"], "mb_per_s": r["bytes"] / 1e6 / r["seconds"],
               "requests_per_msg": r["requests"] / messages, "peak_rss_mb": None, "cpu_s": None,
               "store_cpu_s": cpu_seconds(store) - store_cpu0,
               "client_cpu_s": usage.ru_utime + usage.ru_stime - client_cpu0.ru_utime - client_cpu0.ru_stime}
        self.add(row)
        return row

    def ceiling_rows(self, sc: Scenario, what: str, objects: list[tuple[str, str, int]], messages: int) -> dict:
        """The ceiling at every concurrency; returns the best row."""
        rows = [self.ceiling(sc, f"ceiling ({what}) c={c}", objects, messages, concurrency=c)
                for c in CONCURRENCIES]
        best = min(rows, key=lambda r: r["seconds"])
        for _ in range(2):  # the best concurrency: best of three runs, one row
            again = self.ceiling(sc, best["system"], objects, messages, concurrency=best["concurrency"])
            self.rows.remove(max(best, again, key=lambda r: r["seconds"]))
            best = min(best, again, key=lambda r: r["seconds"])
        say(f"  ceiling ({what}): best at concurrency {best['concurrency']}, {best['seconds']:.2f}s")
        return best

    def add(self, row: dict) -> None:
        self.rows.append(row)
        rss = f", peak RSS {row['peak_rss_mb']:.0f} MB, CPU {row['cpu_s']:.1f}s" if row.get("peak_rss_mb") else ""
        say(f"  => {row['scenario']} {row['system']}" + (f" tasks={row['tasks']}" if row.get("tasks") else "")
            + f": {row['msgs_per_s']:.1f} msgs/s, {row['mb_per_s']:.2f} MB/s, "
            f"{row['requests_per_msg']:.2f} req/msg, {row['seconds']:.2f}s{rss}")

    # ---------------------------------------------------------------- scenarios

    def warm_store(self) -> None:
        """A fresh versitygw serves its first few thousand PUTs at half speed."""
        sc = self.scenarios[0]
        say("warming the store: 8,000 PUTs of 1 KiB and 200 of 100 KiB")
        objects = [("a", f"warm/{i:06d}", 1024) for i in range(8000)]
        objects += [("a", f"warm/big-{i:06d}", 100 * 1024) for i in range(200)]
        self.ceiling(sc, "store warm-up", objects, len(objects))
        self.rows.pop()

    def scenario(self, sc: Scenario) -> None:
        """Each store-only row runs right after the connector rows it is compared with: this
        machine's speed drifts by tens of percent over minutes."""
        say(f"== scenario {sc.name}: {sc.count} messages of {sc.size} bytes"
            + (f", {sc.delay_ms:.0f} ms per request round trip" if sc.delay_ms else ""))
        for label, extra, what in [("ours (seed config)", {}, "seed objects"),
                                   ("ours (payload only)", {"sink.objects": "payload"}, "payload objects")]:
            row, stored = self.connector_row(sc, label, "ours", 1, extra)
            self.connector_row(sc, label, "ours", 3, extra)
            self.ceiling_rows(sc, what, [("a", k, s) for k, s in stored], row["messages"])
            if label == "ours (seed config)":
                seed_objects, messages = stored, row["messages"]
        for tasks in (1, 3):
            self.connector_row(sc, "Camel", "camel", tasks)
        self.connector_row(sc, CONNECT_ALONE, "alone", 1)
        for tasks in (1, 3):  # two connectors (payload, timestamp), `tasks` tasks each
            streams = [(f"{'ts' if k.endswith('-timestamp.txt') else 'data'}-{partition_of(k) % tasks}", k, s)
                       for k, s in seed_objects]
            self.ceiling(sc, "seed pattern (modelled)", streams, messages, mode="seed", tasks=tasks)

    def batched(self) -> None:
        """Ours with flush.size=1000 (objects of ~1 MB) against the ceiling for the same objects."""
        sc = self.batch
        say(f"== scenario batched: {sc.count} messages of {sc.size} bytes, ours with flush.size=1000")
        kept = None
        for tasks in (1, 3):
            row, stored = self.connector_row(sc, "ours (flush.size=1000)", "ours", tasks,
                                             {"flush.size": "1000"}, flush=1000)
            kept = kept or (row, stored)
        row, stored = kept
        self.ceiling_rows(sc, "batched objects", [("a", k, s) for k, s in stored], row["messages"])

    def memory_scenario(self) -> None:
        sc = self.memory
        say(f"== scenario memory: backlog of {sc.count * sc.size / MiB:.0f} MiB over {sc.partitions} partitions, "
            f"each system drains it for at most {self.sizes.memory_window}s")
        for label, system in [("ours (seed config)", "ours"), ("Camel", "camel")]:
            self.worker_system = None  # always a fresh worker: its idle RSS is the baseline
            row, _ = self.connector_row(sc, label, system, 1, {}, warm=False, window=self.sizes.memory_window)
            row["inflight_bound_mb"] = 128 if system == "ours" else None
            row["backlog_mib"] = sc.count * sc.size / MiB

    def main(self, only: set[str]) -> None:
        chosen = [sc for sc in self.scenarios if not only or sc.name in only]
        self.rows_total = 7 * len(chosen) + 2 * ("batched" in only or not only) + 2 * ("memory" in only or not only)
        self.start()
        self.warm_store()
        warm = {}
        for sc in chosen:
            self.preload(sc, sc.topic, sc.count)
            warm.setdefault(sc.warm_topic, sc)
        if not only or "batched" in only:
            self.preload(self.batch, self.batch.topic, self.batch.count)
            warm.setdefault(self.batch.warm_topic, self.batch)
        for topic, sc in warm.items():
            self.preload(sc, topic, self.sizes.warm_l if sc.size > MiB else self.sizes.warm)
        if not only or "memory" in only:
            self.preload(self.memory, self.memory.topic, self.memory.count)
        for sc in chosen:
            self.scenario(sc)
        if not only or "batched" in only:
            self.batched()
        if not only or "memory" in only:
            self.memory_scenario()


def partition_of(key: str) -> int:
    return int(key.rsplit("/", 1)[-1].split("+")[1])


# ------------------------------------------------------------------------------ report

SCENARIO_ORDER = ["S", "M", "L", "S-wan", "M-wan", "batched", "memory"]
SYSTEM_ORDER = ["ours (seed config)", "ours (payload only)", "ours (flush.size=1000)", "Camel", CONNECT_ALONE,
                "seed pattern (modelled)", "ceiling (seed", "ceiling (payload", "ceiling (batched"]


def sort_key(row: dict) -> tuple:
    system = next(i for i, s in enumerate(SYSTEM_ORDER) if row["system"].startswith(s))
    return SCENARIO_ORDER.index(row["scenario"]), system, row["system"], row.get("tasks") or 0


def pick(rows: list[dict], scenario: str, system: str, tasks: int | None = None) -> list[dict]:
    return [r for r in rows if r["scenario"] == scenario and r["system"].startswith(system)
            and (tasks is None or r.get("tasks") == tasks)]


def ratios(rows: list[dict]) -> dict:
    """ours_vs_peer: ours (payload only; batched: flush.size=1000) over Camel on the same messages,
    msgs/s, same tasks.max, the lower of the two. ours_vs_ceiling: the ceiling's best time for the
    objects of ours (seed config; batched: flush.size=1000) over ours' time, the lower of the two
    tasks.max. 1.0 = as fast as the store allows."""
    out = {}
    for scenario in SCENARIO_ORDER[:-1]:
        batched = scenario == "batched"
        ours_label = "ours (flush.size=1000)" if batched else "ours (payload only)"
        seed_label = "ours (flush.size=1000)" if batched else "ours (seed config)"
        ceiling = pick(rows, scenario, "ceiling (batched" if batched else "ceiling (seed objects)")
        payload_ceiling = pick(rows, scenario, "ceiling (payload objects)")
        peer, vs_ceiling, payload_vs_ceiling, until_stored = {}, {}, {}, {}
        for tasks in (1, 3):
            ours, camel = pick(rows, scenario, ours_label, tasks), pick(rows, "S" if batched else scenario, "Camel", tasks)
            if ours and camel:
                peer[str(tasks)] = round(ours[0]["msgs_per_s"] / camel[0]["msgs_per_s"], 2)
            seed = pick(rows, scenario, seed_label, tasks)
            if seed and ceiling:
                vs_ceiling[str(tasks)] = round(min(r["seconds"] for r in ceiling) / seed[0]["seconds"], 2)
                until_stored[str(tasks)] = round(min(r["seconds"] for r in ceiling) / seed[0]["stored_after_s"], 2)
            payload = pick(rows, scenario, "ours (payload only)", tasks)
            if payload and payload_ceiling:
                payload_vs_ceiling[str(tasks)] = round(min(r["seconds"] for r in payload_ceiling)
                                                       / payload[0]["seconds"], 2)
        if peer or vs_ceiling:
            out[scenario] = {"ours_vs_peer": min(peer.values(), default=None),
                             "ours_vs_ceiling": min(vs_ceiling.values(), default=None),
                             "ours_vs_peer_by_tasks": peer, "ours_vs_ceiling_by_tasks": vs_ceiling,
                             "payload_only_vs_ceiling_by_tasks": payload_vs_ceiling,
                             "ours_vs_ceiling_until_stored_by_tasks": until_stored}
    return out


def fmt(value, digits=1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and 0 < abs(value) < 0.1:
        return f"{value:.3f}"
    return f"{value:,.{digits}f}"


def summary_rows(rows: list[dict]) -> list[dict]:
    """Connector and seed-pattern rows, and per ceiling only its best concurrency."""
    out = []
    for r in rows:
        if r["system"].startswith("ceiling"):
            what = r["system"].rsplit(" c=", 1)[0]
            same = [x for x in rows if x["scenario"] == r["scenario"] and x["system"].startswith(what + " c=")]
            if r is not min(same, key=lambda x: x["seconds"]):
                continue
        out.append(r)
    return out


def table(rows: list[dict]) -> list[str]:
    lines = ["| scenario | system | tasks | msgs/s | MB/s | S3 req/msg | peak RSS MB | CPU s | time s |",
             "|---|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        window = "" if r.get("complete", True) else f" (window: {r['messages']:,} msgs)"
        lines.append(f"| {r['scenario']} | {r['system']} | {r.get('tasks') or '–'} | {fmt(r['msgs_per_s'])} "
                     f"| {fmt(r['mb_per_s'], 2)} | {fmt(r['requests_per_msg'], 2)} | {fmt(r['peak_rss_mb'], 0)} "
                     f"| {fmt(r['cpu_s'])} | {fmt(r['seconds'], 2)}{window} |")
    return lines


def markdown(result: dict) -> str:
    m, rows = result["machine"], result["rows"]
    lines = [f"Run of {result['date']} ({'quick' if result['quick'] else 'full'}, {result['duration_s'] / 60:.0f} min) "
             f"on {m['cores']} cores, {m['memory_gib']:.0f} GiB, {m['cpu']}. Loopback; the `-wan` scenarios add "
             "20 ms per request round trip between the worker (or the ceiling program) and the store.", "",
             "### Summary (ceiling: its best concurrency)", ""]
    lines += table(summary_rows(rows))
    lines += ["", "### Ratios", "",
              "| scenario | ours / Camel (msgs/s) | ours / ceiling | tasks.max=1: vs Camel, vs ceiling "
              "| tasks.max=3: vs Camel, vs ceiling | payload only vs its ceiling (1 / 3) "
              "| vs ceiling until all stored, before the commit (1 / 3) |",
              "|---|---:|---:|---|---|---|---|"]
    for name, q in result["ratios"].items():
        by = [f"{q['ours_vs_peer_by_tasks'].get(t, '–')}, {q['ours_vs_ceiling_by_tasks'].get(t, '–')}" for t in "13"]
        payload = " / ".join(str(q["payload_only_vs_ceiling_by_tasks"].get(t, "–")) for t in "13")
        stored = " / ".join(str(q["ours_vs_ceiling_until_stored_by_tasks"].get(t, "–")) for t in "13")
        lines.append(f"| {name} | {fmt(q['ours_vs_peer'], 2)} | {fmt(q['ours_vs_ceiling'], 2)} | {by[0]} | {by[1]} "
                     f"| {payload} | {stored} |")
    memory = pick(rows, "memory", "")
    if memory:
        lines += ["", "### Memory: backlog over 100 partitions", "",
                  "| system | backlog MiB | idle RSS MB | peak RSS MB | peak − idle MB | in-flight bound MB | msgs/s |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for r in memory:
            lines.append(f"| {r['system']} | {r['backlog_mib']:.0f} | {r['rss_start_mb']:.0f} | {r['peak_rss_mb']:.0f} "
                         f"| {r['peak_rss_mb'] - r['rss_start_mb']:.0f} | {fmt(r.get('inflight_bound_mb'), 0)} "
                         f"| {fmt(r['msgs_per_s'])} |")
    lines += ["", "### Where the time of the connector rows goes", "",
              "From registration: first object stored, all objects stored, offsets committed (= time s); "
              "\"Connect alone\" is Kafka's FileStreamSinkConnector writing to /dev/null: the worker reading and "
              "delivering the same records, nothing stored; "
              "CPU seconds of the worker and of the store (versitygw) over that time.", "",
              "| scenario | system | tasks | first object s | all stored s | committed s | worker CPU s | store CPU s |",
              "|---|---|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        if "first_object_after_s" in r and r["scenario"] != "memory":
            stores = r["objects"] > 0
            first, stored = (f"{r['first_object_after_s']:.2f}", f"{r['stored_after_s']:.2f}") if stores else ("–", "–")
            lines.append(f"| {r['scenario']} | {r['system']} | {r['tasks']} | {first} | {stored} "
                         f"| {r['seconds']:.2f} | {r['cpu_s']:.1f} | {r['store_cpu_s']:.1f} |")
    lines += ["", "### Every row", ""] + table(rows)
    return "\n".join(lines) + "\n"


def machine() -> dict:
    mem_kb = int(next(line for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal")).split()[1])
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.machine())
    return {"cores": os.cpu_count(), "memory_gib": mem_kb / 1024 / 1024, "cpu": cpu,
            "kernel": platform.release()}


def interrupted(*_) -> None:
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller run of the same scenarios")
    parser.add_argument("--only", default="", help="comma-separated scenarios (S,M,L,S-wan,M-wan,batched,memory), "
                        "for development; results then go to bench/work/results")
    parser.add_argument("--out", default=None, help="directory of latest.md / latest.json")
    args = parser.parse_args()
    only = {name for name in args.only.split(",") if name}
    out = Path(args.out or (WORK / "results" if only else BENCH / "results"))
    signal.signal(signal.SIGTERM, interrupted)
    bench = Bench(QUICK if args.quick else FULL)
    started = time.monotonic()
    try:
        bench.main(only)
    except KeyboardInterrupt:
        say("interrupted: stopping everything this run started")
        return 130
    finally:
        bench.stop()
    result = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "quick": args.quick,
              "machine": machine(), "duration_s": round(time.monotonic() - started),
              "rows": sorted(bench.rows, key=sort_key), "ratios": ratios(bench.rows)}
    for r in result["rows"]:
        for k, v in r.items():
            if isinstance(v, float):
                r[k] = round(v, 3)
    out.mkdir(parents=True, exist_ok=True)
    table = markdown(result)
    (out / "latest.md").write_text(table)
    (out / "latest.json").write_text(json.dumps(result, indent=1) + "\n")
    print()
    print(table)
    say(f"done in {result['duration_s'] / 60:.1f} min: {out / 'latest.md'}, {out / 'latest.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
