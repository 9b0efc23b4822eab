"""Side-by-side benchmark: our sink, Apache Camel's S3 sink, the seed's request pattern
(modelled) and the store's own ceiling, on the local stack. Run it through bench/run.sh,
which builds the helpers and fetches the Camel jars first.

The rows of one system in a scenario share a Connect worker, started fresh for them and warmed
up (full run: for at least 20 s, until the JIT has compiled the hot paths) with the same
connector configuration on a topic of the same kind of messages; every row then warms up once
more before it is timed from the moment the connector is registered until every expected
object is stored and the connector's committed offsets reach the end of the topic.
Requests are counted from versitygw's access log; RSS and CPU are the worker's own
(/proc: VmHWM after resetting it, utime + stime)."""

from __future__ import annotations

import argparse
import contextlib
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
import threading
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
          ("proxy_ctl", 17072), ("s3_tls", 17073)]}
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
NOOP_SINK_CLASS = "bench.NoopSinkConnector"
CONNECT_ALONE = "Connect alone (no store)"
BOTH_AT_ONCE = "Connect alone and the ceiling at once"
ACCESS_LOG = STACK_DIR / "logs" / "s3-access.log"
TLS_ACCESS_LOG = STACK_DIR / "logs" / "s3tls-access.log"
# The store keeps its objects in RAM when there is room (BENCH_STORE_TMPFS=none: on disk, in
# STACK_DIR). On this machine's ext4, which has no journal, a new file skips the inodes deleted
# within the last minute (five while their inode-table block is not yet written back), reading
# the inode table to find them: a row's writes cost the store more when the rows before it had
# just removed their objects (recently_deleted and the block lookups behind it were 11 to 13%
# of versitygw's samples), so what a row cost the store depended on the rows before it.
STORE_TMPFS = os.environ.get("BENCH_STORE_TMPFS", "/dev/shm")
STORE_TMPFS_NEEDS = 16 << 30  # the largest row's objects (L: 4 GB) with room to spare
S3_TLS_URL = f"https://127.0.0.1:{PORTS['s3_tls']}"
COUNTS = WORK / "counts"
# How often the bench worker commits offsets (the local stack: 1 s, Connect's default: 60 s).
# Every row waits for the commit after its last object, up to this long, whatever the system.
OFFSET_FLUSH_MS = 200
HOSTS_FILE = WORK / "hosts"
CEILING = WORK / "bin" / "ceiling"
PROXY = WORK / "bin" / "proxy"
# c=1 was never the best and takes minutes at 20 ms; the highest level, twice the engine's
# default upload.concurrency (128) at a distance, shows whether the store would take more.
CONCURRENCIES = (8, 32, 64, 128)
WAN_CONCURRENCIES = (64, 128, 256)
SEED, PAYLOAD, BATCH = "ours (seed config)", "ours (payload only)", "ours (flush.size=1000)"
METADATA = "ours (payload + send-time metadata)"
PARTS_8MIB = "ours (seed config, 8 MiB parts)"  # the default before 25 MiB: L's messages went multipart
HTTPS_SIGNED, HTTPS_UNSIGNED = "ours (seed config, HTTPS)", "ours (seed config, HTTPS, unsigned payload)"
SYSTEM_SLUGS = {SEED: "seed", PAYLOAD: "payload", "Camel": "camel", BATCH: "batch", CONNECT_ALONE: "alone",
                BOTH_AT_ONCE: "both",
                METADATA: "meta", HTTPS_SIGNED: "tls", HTTPS_UNSIGNED: "tlsu", PARTS_8MIB: "p8"}
MiB = 1 << 20


@dataclass
class Sizes:
    """Messages per scenario: (ours, Connect alone and the ceiling; Camel and the seed pattern).
    The peers are 10-100 times slower, so they measure their steady rate on fewer messages."""
    s: tuple[int, int]
    m: tuple[int, int]
    l: tuple[int, int]
    s_wan: tuple[int, int]
    m_wan: tuple[int, int]
    batched: int       # 1 KiB messages of the batched scenario (a multiple of 3,000)
    warm: int          # warm-up messages (1 KiB and 100 KiB kinds)
    warm_l: int        # warm-up messages of 16 MiB
    memory_bytes: int  # backlog of the memory scenario
    memory_window: int  # seconds each system drains that backlog at most
    row_timeout: int
    warm_fresh_worker_s: float  # a fresh worker's first warm-up repeats for this long at least
    rehearse: bool     # every warm-up ends with the measured row itself, on its own records
    repeats: int       # runs of each row the ratios rank (ours, Connect alone); the median is kept


# Full: every measured span of ours, Connect alone's peers and the ceiling 5 s or more.
FULL = Sizes((20_000, 6_000), (7_000, 2_000), (120, 40), (7_000, 400), (6_000, 400), 1_500_000, 1_000, 8,
             1 << 30, 240, 900, 20, True, 3)
QUICK = Sizes((3_000, 1_000), (600, 300), (6, 6), (600, 150), (300, 150), 60_000, 300, 3, 256 * MiB, 40, 300, 0,
              False, 1)


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
    peer_count: int = 0  # messages of the topic Camel reads and the seed pattern replays

    @property
    def peer_topic(self) -> str:
        return self.topic + "-peer"

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
               SINETS3_S3_TLS_PORT=str(PORTS["s3_tls"]),
               SINETS3_S3_ACCESS_KEY=ACCESS, SINETS3_S3_SECRET_KEY=SECRET,
               SINETS3_OFFSET_FLUSH_MS=str(OFFSET_FLUSH_MS))
    env.pop("JDK_JAVA_OPTIONS", None)
    env.update(extra)
    return env


def local_stack(*args, **extra) -> None:
    run(REPO / "scripts" / "local-stack.sh", *args, env=stack_env(**extra), timeout=240)


# After its warm-up a worker waits until its JIT compilers use less than this much CPU over
# one step (they finish what the warm-up queued), for at most the last figure.
JIT_IDLE_CPU_S, JIT_STEP_S, JIT_WAIT_MAX_S = 0.05, 2.0, 40.0


def pid_of(part: str) -> int:
    return int((STACK_DIR / "run" / f"{part}.pid").read_text())


def cpu_seconds(pid: int) -> float:
    return cpu_seconds_of(Path(f"/proc/{pid}/stat"))


def compiler_cpu_seconds(pid: int) -> float:
    """CPU time of the JVM's JIT compiler threads (C1, C2)."""
    total = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            if (task / "comm").read_text().startswith(("C1 Compiler", "C2 Compiler")):
                total += cpu_seconds_of(task / "stat")
    return total


def cpu_seconds_of(stat: Path) -> float:
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_for_idle_jit(label: str) -> None:
    worker = pid_of("connect")
    started = time.monotonic()
    before = compiler_cpu_seconds(worker)
    while time.monotonic() - started < JIT_WAIT_MAX_S:
        time.sleep(JIT_STEP_S)
        now = compiler_cpu_seconds(worker)
        if now - before < JIT_IDLE_CPU_S:
            say(f"  {label}: JIT idle after {time.monotonic() - started:.0f} s")
            return
        before = now
    say(f"  {label}: JIT still compiling after {JIT_WAIT_MAX_S:.0f} s; measuring anyway")


def status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def reset_peak_rss(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # VmHWM := VmRSS


# JVM options every worker the harness starts gets on top of its own (bench/profile.py's perf options).
EXTRA_JAVA_OPTIONS = ""


def restart_worker() -> None:
    """A fresh Connect worker; it resolves <bucket>.localhost through our hosts file (Camel)."""
    options = f"-Djdk.net.hosts.file={HOSTS_FILE} {EXTRA_JAVA_OPTIONS}".strip()
    for attempt in (1, 2):  # a worker that dies while starting (seen once on a busy machine) gets one more try
        try:
            local_stack("restart", "connect", JDK_JAVA_OPTIONS=options)
            return
        except subprocess.CalledProcessError:
            if attempt == 2:
                raise
            say("  the Connect worker did not start: once more")


class AccessLog:
    """versitygw's access log: requests and stored objects (distinct keys: a record that Connect
    redelivers after a rebalance is written again under the same name) per bucket since the
    last mark."""

    STORED = {"s3_PutObject", "s3_CompleteMultipartUpload"}

    def __init__(self, paths: list[Path]):
        self.paths, self.offsets, self.counts = paths, {}, {}

    def mark(self) -> None:
        self.offsets = {p: p.stat().st_size if p.exists() else 0 for p in self.paths}
        self.counts = {}

    def poll(self) -> dict:
        for path in self.paths:
            if path.exists():
                self.read(path)
        return self.counts

    def read(self, path: Path) -> None:
        with path.open("rb") as f:
            f.seek(self.offsets.get(path, 0))
            data = f.read()
        end = data.rfind(b"\n") + 1
        self.offsets[path] = self.offsets.get(path, 0) + end
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

class Alongside(threading.Thread):
    """A function run beside a connector row, its result or its exception kept for outcome().
    The function gets this object: it calls ready() once prepared, which returns when the row
    has registered its connector, and finished() when its timed work is done."""

    def __init__(self, body):
        super().__init__(daemon=True)
        self.body, self.result, self.error = body, None, None
        self.prepared, self.go = threading.Event(), threading.Event()
        self.finished_at = 0.0

    def ready(self) -> None:
        self.prepared.set()
        self.go.wait()

    def finished(self) -> None:
        self.finished_at = time.monotonic()

    def run(self) -> None:
        try:
            self.result = self.body(self)
        except BaseException as e:  # re-raised by outcome() in the row's thread
            self.error = e
        finally:
            self.prepared.set()
            self.finished_at = self.finished_at or time.monotonic()

    def outcome(self):
        self.join()
        if self.error:
            raise self.error
        return self.result


class Bench:
    def __init__(self, sizes: Sizes):
        self.sizes = sizes
        self.rows: list[dict] = []
        self.proxy: subprocess.Popen | None = None
        self.connect = Connect(f"http://127.0.0.1:{PORTS['connect']}")
        self.access = AccessLog([ACCESS_LOG, TLS_ACCESS_LOG])
        self.bootstrap = f"127.0.0.1:{PORTS['broker']}"
        n = sizes
        self.scenarios = [
            Scenario("S", "bench-s", n.s[0], 1024, "json", 0, "warm-s", peer_count=n.s[1]),
            Scenario("M", "bench-m", n.m[0], 100 * 1024, "jpeg", 0, "warm-m", peer_count=n.m[1]),
            Scenario("L", "bench-l", n.l[0], 16 * MiB, "jpeg", 0, "warm-l", peer_count=n.l[1]),
            Scenario("S-wan", "bench-s-wan", n.s_wan[0], 1024, "json", 20, "warm-s", peer_count=n.s_wan[1]),
            Scenario("M-wan", "bench-m-wan", n.m_wan[0], 100 * 1024, "jpeg", 20, "warm-m", peer_count=n.m_wan[1]),
        ]
        self.batch = Scenario("batched", "bench-batched", n.batched, 1024, "json", 0, "warm-s")
        self.memory = Scenario("memory", "bench-memory", sizes.memory_bytes // (8 * 1024), 8 * 1024, "json", 0,
                               "", partitions=100)
        self.worker_system: str | None = None
        self.worker_fresh = False
        self.store_dir = "disk"
        self.rows_done = self.rows_total = 0

    # ---------------------------------------------------------------- stack and helpers

    def start(self) -> None:
        local_stack("down")  # leftovers of an interrupted run, if any
        for d in ("stack", "routes"):
            shutil.rmtree(WORK / d, ignore_errors=True)
        (WORK / "routes").mkdir(parents=True)
        self.store_dir = place_store()
        buckets = [self.bucket(sc, "camel", t, p) for sc in self.scenarios + [self.memory]
                   for t in (1, 3) for p in "wm"]
        HOSTS_FILE.write_text(f"127.0.0.1 localhost {socket.gethostname()} "
                              + " ".join(b + ".localhost" for b in buckets) + "\n")
        say(f"starting the bench stack in {STACK_DIR} (ports {PORTS})")
        local_stack("start", "s3", VGW_VIRTUAL_DOMAIN="localhost", VGW_ACCESS_LOG=str(ACCESS_LOG))
        local_stack("start", "s3tls", VGW_VIRTUAL_DOMAIN="localhost", VGW_ACCESS_LOG=str(TLS_ACCESS_LOG))
        self.ca_file = STACK_DIR / "tls" / "ca.pem"
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
        remove_store()

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
    def alone_config(topic: str, tasks: int, counts: Path) -> dict:
        """What Connect costs by itself: bench/noop's sink reads and delivers the same records,
        counts them and stores nothing."""
        return {"connector.class": NOOP_SINK_CLASS, "tasks.max": str(tasks), "topics": topic,
                "key.converter": BYTE_ARRAY, "value.converter": BYTE_ARRAY, "count.file": str(counts)}

    def targets(self, topic: str, flush: int, objects_per_record: int) -> tuple[dict[int, int], int, int]:
        """Offsets the connector must commit, objects it must store, messages they hold. With
        flush.size > 1 only full objects count (the rest waits for more records)."""
        ends = self.end_offsets(topic)
        commit = {p: e // flush * flush for p, e in ends.items()}
        messages = sum(commit.values())
        return commit, messages // flush * objects_per_record, messages

    def drain(self, name: str, config: dict, bucket: str, commit: dict[int, int], objects: int,
              timeout: float, label: str, window: float | None = None,
              beside: Alongside | None = None) -> dict:
        """Registers the connector and waits until `objects` objects are stored in `bucket` and the
        committed offsets reach `commit` (or `window` seconds pass). Returns timings and counts."""
        os.sync()  # no writeback of earlier rows' objects while this one runs
        worker = pid_of("connect")
        store = pid_of("s3")
        rss_start = status_kb(worker, "VmRSS")
        reset_peak_rss(worker)
        if beside:  # what runs beside prepares first, then starts with the registration
            beside.start()
            beside.prepared.wait()
        cpu0, store_cpu0, jit0 = cpu_seconds(worker), cpu_seconds(store), compiler_cpu_seconds(worker)
        self.access.mark()
        started, started_wall = time.monotonic(), time.time()
        self.connect.put_config(name, config)
        if beside:
            beside.go.set()
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
                "jit_cpu_s": compiler_cpu_seconds(worker) - jit0, "complete": done_at is not None,
                "registered_at": started_wall, "started_at": started}

    def prepare_worker(self, system: str) -> None:
        if self.worker_system != system:
            say(f"  fresh Connect worker for {system}")
            restart_worker()
            self.worker_system = system
            self.worker_fresh = True

    def connector_row(self, sc: Scenario, label: str, system: str, tasks: int, extra: dict | None = None,
                      flush: int = 1, topic: str | None = None, warm: bool = True,
                      window: float | None = None, alongside=None, repeats: int = 1) -> tuple[dict, list]:
        """One measured connector row; returns the row and the objects it stored. `alongside`, a
        function of an `Alongside`, runs in a thread and starts its timed work with the
        connector's registration; the row lasts until both are done and holds what it returned
        as `alongside`. With `repeats` > 1 the warm worker measures the row that many times and
        keeps the run of median time, with every run's time, worker CPU and JIT CPU (`runs_s`,
        `runs_cpu_s`, `runs_jit_cpu_s`): identical rows on this machine differ by tens of percent,
        more than most differences the table ranks."""
        topic = topic or sc.topic
        kind = SYSTEM_SLUGS[label]
        per_record = {"camel": 1, "alone": 0}.get(system, 1 if (extra or {}).get("sink.objects") == "payload" else 2)
        self.prepare_worker(system)
        COUNTS.mkdir(parents=True, exist_ok=True)

        def config(topic_: str, bucket_: str) -> dict:
            if system == "camel":
                return self.camel_config(sc, topic_, bucket_, tasks)
            if system == "alone":
                return self.alone_config(topic_, tasks, COUNTS / bucket_)
            return self.ours_config(sc, topic_, bucket_, tasks, extra or {})

        if warm:
            # A cold JVM's compiler takes a quarter of the worker's CPU for tens of seconds, which
            # a connector running for days pays once: a fresh worker warms up for longer on the
            # small warm-up topic, and every row first runs once on its own records (the JIT still
            # compiled for 1.0 s in an M row with three tasks after a warm-up of the other kind).
            self.set_delay(0)
            fresh, self.worker_fresh = self.worker_fresh, False
            until = time.monotonic() + (self.sizes.warm_fresh_worker_s if fresh else 0)

            def warm_up(warm_topic: str, round_: int) -> None:
                bucket = self.new_bucket(self.bucket(sc, kind, tasks, "w"))
                commit, objects, _ = self.targets(warm_topic, flush, per_record)
                name = f"{bucket}-{int(time.time())}-{round_}"
                say(f"  {sc.name} {label} tasks={tasks}: warm-up on {warm_topic}" + (f" ({round_})" if round_ > 1 else ""))
                self.drain(name, config(warm_topic, bucket), bucket, commit, objects, self.sizes.row_timeout,
                           f"warm-up {label}")
                self.connect.delete(name)
                self.drop_bucket(bucket)

            for round_ in itertools.count(1):
                warm_up(sc.warm_topic, round_)
                if time.monotonic() >= until:
                    break
            if self.sizes.rehearse:
                warm_up(topic, round_ + 1)
        self.rows_done += 1
        runs = []
        for run_ in range(1, repeats + 1):
            if warm or run_ > 1:  # after the warm-up or the run before
                wait_for_idle_jit(f"{sc.name} {label} tasks={tasks}")
            say(f"  {sc.name} {label} tasks={tasks}: connector row {self.rows_done}"
                + (f"/{self.rows_total}" if self.rows_total else "")
                + (f", run {run_} of {repeats}" if repeats > 1 else ""))
            runs.append(self.measure(sc, label, system, tasks, config, topic, flush, per_record, window, alongside))
        row, stored = sorted(runs, key=lambda run: run[0]["seconds"])[(len(runs) - 1) // 2]
        if repeats > 1:
            for runs_key, key in (("runs_s", "seconds"), ("runs_cpu_s", "cpu_s"), ("runs_jit_cpu_s", "jit_cpu_s")):
                row[runs_key] = [run[0][key] for run in runs]
        self.add(row)
        return row, stored

    def measure(self, sc: Scenario, label: str, system: str, tasks: int, config, topic: str, flush: int,
                per_record: int, window: float | None, alongside) -> tuple[dict, list]:
        """One run of a connector row on a warm worker: the row (not yet added) and its objects."""
        kind = SYSTEM_SLUGS[label]
        self.set_delay(sc.delay_ms)
        bucket = self.new_bucket(self.bucket(sc, kind, tasks, "m"))
        commit, objects, messages = self.targets(topic, flush, per_record)
        name = f"{bucket}-{time.time_ns()}"  # a new consumer group every run
        say(f"  {sc.name} {label} tasks={tasks}: measuring {messages} messages, {objects} objects")
        beside = Alongside(alongside) if alongside else None
        try:
            m = self.drain(name, config(topic, bucket), bucket, commit, objects, self.sizes.row_timeout,
                           f"{sc.name} {label} t{tasks}", window, beside)
            started_at = m.pop("started_at")
            if beside:  # the delay stays on until what runs beside is done too
                m["alongside"] = beside.outcome()
                m["seconds"] = max(m["seconds"], beside.finished_at - started_at)
        finally:
            if beside:
                beside.go.set()  # never left waiting when the row failed before registering
                beside.join()
            self.connect.delete(name)
            self.set_delay(0)
        stored = stored_objects(bucket)
        self.drop_bucket(bucket)
        if m["complete"] and len(stored) != objects:
            raise RuntimeError(f"{label}: {len(stored)} objects stored, {objects} expected")
        if system == "alone":
            m.update(self.delivered(COUNTS / bucket, m["registered_at"], messages))
        if not m["complete"]:  # memory window: messages stored so far
            messages = m["objects_seen"] // per_record
        size = sum(s for _, s in stored)
        row = {"scenario": sc.name, "system": label, "tasks": tasks, "messages": messages,
               "objects": len(stored), "bytes": size, **m,
               "msgs_per_s": messages / m["seconds"], "mb_per_s": size / 1e6 / m["seconds"],
               "requests_per_msg": m["requests"] / messages if messages else None}
        return row, stored

    @staticmethod
    def delivered(prefix: Path, registered_at: float, messages: int) -> dict:
        """What the counting sink's tasks were delivered, and when the first record came."""
        records = value_bytes = 0
        first = None
        for path in prefix.parent.glob(prefix.name + "-*"):
            fields = path.read_text().split()
            records, value_bytes = records + int(fields[0]), value_bytes + int(fields[1])
            if len(fields) > 2 and int(fields[2]) > 0:
                first = min(first or 1e18, int(fields[2]) / 1000)
            path.unlink()
        if records < messages:
            raise RuntimeError(f"{CONNECT_ALONE}: {records} records delivered, {messages} expected")
        return {"delivered": records, "delivered_bytes": value_bytes,
                "first_object_after_s": (first - registered_at) if first else None}

    # ---------------------------------------------------------------- store-only rows

    def ceiling(self, sc: Scenario, label: str, objects: list[tuple[str, str, int]], messages: int,
                mode: str = "put", concurrency: int = 32, tasks: int | None = None,
                beside: Alongside | None = None) -> dict:
        """The ceiling program on `objects` (stream, key, size) against the same store and delay;
        run `beside` a connector row, it starts when the row registers its connector."""
        bucket = self.new_bucket(f"{sc.slug}-ceil-{mode}-{concurrency}-{len(self.rows)}")
        manifest = "".join(f"{stream} {size} {key}\n" for stream, key, size in objects)
        self.set_delay(sc.delay_ms)
        os.sync()
        if beside:
            beside.ready()
        store = pid_of("s3")
        store_cpu0 = cpu_seconds(store)
        client_cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        try:
            out = subprocess.run([CEILING, "-endpoint", self.store_url(sc), "-bucket", bucket, "-mode", mode,
                                  "-concurrency", str(concurrency), "-access", ACCESS, "-secret", SECRET],
                                 input=manifest, text=True, capture_output=True, timeout=self.sizes.row_timeout)
        finally:
            if beside:
                beside.finished()  # the bucket's removal below is not part of the row
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
        levels = WAN_CONCURRENCIES if sc.delay_ms else CONCURRENCIES
        rows = [self.ceiling(sc, f"ceiling ({what}) c={c}", objects, messages, concurrency=c) for c in levels]
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
        for label, extra, what in [(SEED, {}, "seed objects"), (PAYLOAD, {"sink.objects": "payload"}, "payload objects")]:
            row, stored = self.connector_row(sc, label, "ours", 1, extra, repeats=self.sizes.repeats)
            self.connector_row(sc, label, "ours", 3, extra, repeats=self.sizes.repeats)
            best = self.ceiling_rows(sc, what, [("a", k, s) for k, s in stored], row["messages"])
            if label == SEED:
                seed_objects, seed_messages, seed_best = stored, row["messages"], best
        if sc.name == "S":  # one object per message with the send time as metadata: 1 request
            self.connector_row(sc, METADATA, "ours", 1, {"sink.objects": "payload", "s3.object.metadata": "send-time"})
        if sc.name == "L":
            self.connector_row(sc, PARTS_8MIB, "ours", 1, {"s3.part.size": str(8 * MiB)})
        if sc.name == "L":  # what SigV4's UNSIGNED-PAYLOAD saves, over HTTPS (refused over http://)
            tls = {"store.url": S3_TLS_URL, "s3.ssl.ca.file": str(self.ca_file)}
            for label, unsigned in [(HTTPS_SIGNED, "false"), (HTTPS_UNSIGNED, "true")]:
                self.connector_row(sc, label, "ours", 1, {**tls, "s3.unsigned.payload": unsigned})
        for tasks in (1, 3):
            self.connector_row(sc, CONNECT_ALONE, "alone", tasks, repeats=self.sizes.repeats)
        self.both_at_once(sc, seed_objects, seed_messages, seed_best["concurrency"])
        for tasks in (1, 3):
            self.connector_row(sc, "Camel", "camel", tasks, topic=sc.peer_topic)
        # The seed pattern replays the objects of the peers' messages: the first of each partition.
        per_partition = sc.peer_count // sc.partitions
        peer_objects = [(k, s) for k, s in seed_objects if offset_of(k) < per_partition]
        for tasks in (1, 3):  # two connectors (payload, timestamp), `tasks` tasks each
            streams = [(f"{'ts' if k.endswith('-timestamp.txt') else 'data'}-{partition_of(k) % tasks}", k, s)
                       for k, s in peer_objects]
            self.ceiling(sc, "seed pattern (modelled)", streams, per_partition * sc.partitions, mode="seed",
                         tasks=tasks)

    def batched(self) -> None:
        """Ours with flush.size=1000 (objects of ~1 MB) against the ceiling for the same objects
        and against Connect alone on the same records."""
        sc = self.batch
        say(f"== scenario batched: {sc.count} messages of {sc.size} bytes, ours with flush.size=1000")
        kept = None
        for tasks in (1, 3):
            row, stored = self.connector_row(sc, BATCH, "ours", tasks, {"flush.size": "1000"}, flush=1000,
                                             repeats=self.sizes.repeats)
            kept = kept or (row, stored)
        row, stored = kept
        best = self.ceiling_rows(sc, "batched objects", [("a", k, s) for k, s in stored], row["messages"])
        for tasks in (1, 3):
            self.connector_row(sc, CONNECT_ALONE, "alone", tasks, flush=1000, repeats=self.sizes.repeats)
        self.both_at_once(sc, stored, row["messages"], best["concurrency"], flush=1000)

    def both_at_once(self, sc: Scenario, stored: list[tuple[str, int]], messages: int, concurrency: int,
                     flush: int = 1) -> None:
        """Connect alone and the ceiling for the objects ours stored, at the same time (one task):
        both halves a connector chains, sharing this machine as they do under ours, with nothing
        between them. The row lasts until both are done."""
        def ceiling(beside: Alongside) -> dict:
            row = self.ceiling(sc, f"{BOTH_AT_ONCE}: the ceiling", [("a", k, s) for k, s in stored], messages,
                               concurrency=concurrency, beside=beside)
            self.rows.remove(row)
            return row

        row, _ = self.connector_row(sc, BOTH_AT_ONCE, "alone", 1, flush=flush, alongside=ceiling)
        # The store works until the ceiling ends, after Connect alone's own span.
        row.update(ceiling_s=row["alongside"]["seconds"], concurrency=concurrency,
                   store_cpu_s=max(row["store_cpu_s"], row["alongside"]["store_cpu_s"]))

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
        self.rows_total = (sum(9 + (sc.name == "S") + 3 * (sc.name == "L") for sc in chosen)
                           + 5 * ("batched" in only or not only) + 2 * ("memory" in only or not only))
        self.start()
        self.warm_store()
        warm = {}
        for sc in chosen:
            self.preload(sc, sc.topic, sc.count)
            self.preload(sc, sc.peer_topic, sc.peer_count)
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


def offset_of(key: str) -> int:
    return int(key.rsplit("/", 1)[-1].split("+")[2].split("-")[0].split(".")[0])


def partition_of(key: str) -> int:
    return int(key.rsplit("/", 1)[-1].split("+")[1])


# ------------------------------------------------------------------------------ report

SCENARIO_ORDER = ["S", "M", "L", "S-wan", "M-wan", "batched", "memory"]
SYSTEM_ORDER = [SEED, PAYLOAD, BATCH, PARTS_8MIB, METADATA, HTTPS_SIGNED, HTTPS_UNSIGNED, "Camel", CONNECT_ALONE, BOTH_AT_ONCE,
                "seed pattern (modelled)", "ceiling (seed", "ceiling (payload", "ceiling (batched"]


def sort_key(row: dict) -> tuple:
    system = next(i for i, s in enumerate(SYSTEM_ORDER) if row["system"].startswith(s))
    return SCENARIO_ORDER.index(row["scenario"]), system, row["system"], row.get("tasks") or 0


def pick(rows: list[dict], scenario: str, system: str, tasks: int | None = None) -> list[dict]:
    return [r for r in rows if r["scenario"] == scenario and r["system"].startswith(system)
            and (tasks is None or r.get("tasks") == tasks)]


def steady_rate(row: dict) -> float | None:
    """Messages per second from the first object stored (the first record delivered, for Connect
    alone) until the end: the rate once Connect has assigned the partitions."""
    span = row["seconds"] - (row.get("first_object_after_s") or 0)
    return row["messages"] / span if span > 0 else None


def ratios(rows: list[dict], cores: int) -> dict:
    """Per scenario, keyed by tasks.max ("1", "3"):
    - limit_s = max(Connect alone's time, the ceiling's best time for the objects of ours), the
      slower of the two halves the connector chains; ours_vs_limit = limit_s / ours' time and
      ours_vs_ceiling = the ceiling's time / ours' time (seed config; batched: flush.size=1000;
      1.0 = as fast as the limit allows); payload_only_vs_limit the same for the payload-only rows;
    - ours_vs_peer: ours (payload only; batched: flush.size=1000) over Camel, msgs/s (batched:
      Camel on S); ours_vs_seed_pattern: ours (seed config) over the seed pattern, msgs/s;
    - steady_msgs_per_s and startup_s: the rate after the first object, and the time to it;
    - plugin_cpu_us_per_msg / _per_mb: ours' worker CPU minus Connect alone's, per message and
      per MB of record values. The plain keys (ours_vs_limit, ...) hold the lower of the two;
    - both_at_once_s (tasks.max 1 only): Connect alone and the ceiling run at the same time, the
      two halves sharing the machine with nothing between them; ours_vs_both_at_once = that time /
      ours' time (seed config; batched: flush.size=1000);
    - cpu_needed_s: the CPU seconds the two halves take for this work, Connect alone's worker plus
      the best ceiling row's client and store; cpu_bound_s = that over the machine's `cores`, the
      shortest time any connector could take here (the broker's CPU, not counted, only adds to it);
      ours_vs_cpu_bound = that / ours' time (ours_s)."""
    out = {}
    for scenario in SCENARIO_ORDER[:-1]:
        batched = scenario == "batched"
        seed_label = BATCH if batched else SEED
        ceiling_rows = pick(rows, scenario, "ceiling (batched" if batched else "ceiling (seed objects)")
        ceiling = [r["seconds"] for r in ceiling_rows]
        best_ceiling = min(ceiling_rows, key=lambda r: r["seconds"], default=None)
        payload_ceiling = [r["seconds"] for r in pick(rows, scenario, "ceiling (payload objects)")]
        q = {k: {} for k in ("limit_s", "limit_set_by", "ours_vs_limit", "ours_vs_ceiling", "payload_only_vs_limit",
                             "ours_vs_peer", "ours_vs_seed_pattern", "steady_msgs_per_s", "startup_s",
                             "plugin_cpu_us_per_msg", "plugin_cpu_us_per_mb", "alone_startup_s", "cpu_needed_s",
                             "cpu_bound_s", "ours_vs_cpu_bound", "ours_s")}
        for tasks in (1, 3):
            t = str(tasks)
            seed = next(iter(pick(rows, scenario, seed_label, tasks)), None)
            alone = next(iter(pick(rows, scenario, CONNECT_ALONE, tasks)), None)
            payload = next(iter(pick(rows, scenario, PAYLOAD, tasks)), None)
            ours = BATCH if batched else PAYLOAD
            camel = next(iter(pick(rows, "S" if batched else scenario, "Camel", tasks)), None)
            pattern = next(iter(pick(rows, scenario, "seed pattern", tasks)), None)
            peer = next(iter(pick(rows, scenario, ours, tasks)), None)
            if peer and camel:
                q["ours_vs_peer"][t] = round(peer["msgs_per_s"] / camel["msgs_per_s"], 2)
            if seed and pattern:
                q["ours_vs_seed_pattern"][t] = round(seed["msgs_per_s"] / pattern["msgs_per_s"], 1)
            if seed:
                q["steady_msgs_per_s"][t] = round(steady_rate(seed) or 0, 1)
                q["startup_s"][t] = round(seed["first_object_after_s"], 2)
                q["ours_s"][t] = round(seed["seconds"], 2)
            if seed and ceiling:
                q["ours_vs_ceiling"][t] = round(min(ceiling) / seed["seconds"], 2)
            if seed and alone and ceiling:
                limit = max(alone["seconds"], min(ceiling))
                q["limit_s"][t] = round(limit, 2)
                q["limit_set_by"][t] = "Connect" if alone["seconds"] >= min(ceiling) else "store"
                q["ours_vs_limit"][t] = round(limit / seed["seconds"], 2)
                cpu = seed["cpu_s"] - alone["cpu_s"]
                q["plugin_cpu_us_per_msg"][t] = round(cpu / seed["messages"] * 1e6, 1)
                mb = alone["delivered_bytes"] / 1e6 * seed["messages"] / alone["delivered"]
                q["plugin_cpu_us_per_mb"][t] = round(cpu / mb * 1e6)
                q["alone_startup_s"][t] = round(alone["first_object_after_s"] or 0, 2)
                if best_ceiling.get("client_cpu_s") is not None:
                    needed = alone["cpu_s"] + best_ceiling["client_cpu_s"] + best_ceiling["store_cpu_s"]
                    q["cpu_needed_s"][t] = round(needed, 1)
                    q["cpu_bound_s"][t] = round(needed / cores, 2)
                    q["ours_vs_cpu_bound"][t] = round(needed / cores / seed["seconds"], 2)
            if payload and alone and payload_ceiling:
                q["payload_only_vs_limit"][t] = round(max(alone["seconds"], min(payload_ceiling))
                                                      / payload["seconds"], 2)
        both = next(iter(pick(rows, scenario, BOTH_AT_ONCE, 1)), None)
        ours_one_task = next(iter(pick(rows, scenario, seed_label, 1)), None)
        if any(q.values()):
            entry = {key: min(q[key].values(), default=None)
                     for key in ("ours_vs_limit", "ours_vs_ceiling", "ours_vs_peer", "ours_vs_seed_pattern")}
            steady = q["steady_msgs_per_s"]
            entry["tasks3_vs_tasks1_steady"] = round(steady["3"] / steady["1"], 2) if steady.get("1") and "3" in steady else None
            entry.update({f"{key}_by_tasks": value for key, value in q.items()})
            if both and ours_one_task:
                entry["both_at_once_s"] = round(both["seconds"], 2)
                entry["both_at_once_ours_s"] = round(ours_one_task["seconds"], 2)
                entry["ours_vs_both_at_once"] = round(both["seconds"] / ours_one_task["seconds"], 2)
            out[scenario] = entry
    https = [next(iter(pick(rows, "L", label, 1)), None) for label in (HTTPS_SIGNED, HTTPS_UNSIGNED)]
    if all(https):
        signed, unsigned = https
        out["L"]["unsigned_payload"] = {
            "signed_s": round(signed["seconds"], 2), "unsigned_s": round(unsigned["seconds"], 2),
            "signed_cpu_s": round(signed["cpu_s"], 2), "unsigned_cpu_s": round(unsigned["cpu_s"], 2),
            "cpu_saved_ms_per_mb": round((signed["cpu_s"] - unsigned["cpu_s"]) / (signed["bytes"] / 1e6) * 1e3, 2)}
    return out


def rounded(value):
    """Floats to 3 decimals, in nested rows too."""
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    return value


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
        note = "" if r.get("complete", True) else f" (window: {r['messages']:,} msgs)"
        if r.get("runs_s"):
            note += " (median of " + ", ".join(f"{s:.2f}" for s in r["runs_s"]) + ")"
        lines.append(f"| {r['scenario']} | {r['system']} | {r.get('tasks') or '–'} | {fmt(r['msgs_per_s'])} "
                     f"| {fmt(r['mb_per_s'], 2)} | {fmt(r['requests_per_msg'], 2)} | {fmt(r['peak_rss_mb'], 0)} "
                     f"| {fmt(r['cpu_s'])} | {fmt(r['seconds'], 2)}{note} |")
    return lines


def by_tasks(q: dict, key: str, digits: int = 2) -> str:
    values = q.get(key + "_by_tasks", {})
    return " / ".join(fmt(values.get(t), digits) if isinstance(values.get(t), (int, float)) else str(values.get(t, "–"))
                      for t in "13")


def markdown(result: dict) -> str:
    m, rows = result["machine"], result["rows"]
    load = result.get("load_average") or {}
    lines = [f"Run of {result['date']} ({'quick' if result['quick'] else 'full'}, {result['duration_s'] / 60:.0f} min) "
             f"on {m['cores']} cores, {m['memory_gib']:.0f} GiB, {m['cpu']}. Loopback; the `-wan` scenarios add "
             "20 ms per request round trip between the worker (or the ceiling program) and the store, "
             f"which keeps its objects {STORE_PLACES[m.get('store_dir', 'disk')]}. "
             f"1-minute load average during the run: {fmt(load.get('min'), 2)} min, {fmt(load.get('mean'), 2)} mean, "
             f"{fmt(load.get('max'), 2)} max ({load.get('waited_s', 0):.0f} s waited for a quiet machine first, "
             f"{fmt(load.get('before'), 2)} at the start).", "",
             "### Summary (ceiling: its best concurrency)", ""]
    lines += table(summary_rows(rows))
    lines += ["", "### Against the limit", "",
              "limit = max(Connect alone, the ceiling for the same objects), both from this run. "
              "Figures are tasks.max = 1 / 3.", "",
              "| scenario | limit s (set by) | ours / limit | ours / ceiling | payload only / its limit "
              "| ours / Camel | ours / seed pattern | steady msgs/s | 3 tasks / 1 (steady) | start-up s "
              "(ours; Connect alone) | plugin CPU µs/msg | plugin CPU µs/MB |",
              "|---|---|---|---|---|---|---|---|---:|---|---|---|"]
    for name, q in result["ratios"].items():
        limit = " / ".join(f"{fmt(q['limit_s_by_tasks'].get(t), 2)} ({q['limit_set_by_by_tasks'].get(t, '–')})"
                           for t in "13")
        lines.append(f"| {name} | {limit} | {by_tasks(q, 'ours_vs_limit')} | {by_tasks(q, 'ours_vs_ceiling')} "
                     f"| {by_tasks(q, 'payload_only_vs_limit')} | {by_tasks(q, 'ours_vs_peer')} "
                     f"| {by_tasks(q, 'ours_vs_seed_pattern', 1)} | {by_tasks(q, 'steady_msgs_per_s', 0)} "
                     f"| {fmt(q.get('tasks3_vs_tasks1_steady'), 2)} | {by_tasks(q, 'startup_s')}; "
                     f"{by_tasks(q, 'alone_startup_s')} | {by_tasks(q, 'plugin_cpu_us_per_msg', 1)} "
                     f"| {by_tasks(q, 'plugin_cpu_us_per_mb', 0)} |")
    both = {name: q for name, q in result["ratios"].items() if "both_at_once_s" in q}
    if both:
        lines += ["", "Both halves at once, tasks.max = 1: Connect alone delivering the records while the ceiling "
                  "stores ours' objects, on the same machine at the same time, nothing between them.", "",
                  "| scenario | limit s | both at once s | ours s | ours / both at once |", "|---|---:|---:|---:|---:|"]
        for name, q in both.items():
            lines.append(f"| {name} | {fmt(q['limit_s_by_tasks'].get('1'), 2)} | {q['both_at_once_s']:.2f} "
                         f"| {q['both_at_once_ours_s']:.2f} | {q['ours_vs_both_at_once']:.2f} |")
        if result.get("both_at_once_note"):
            lines += ["", result["both_at_once_note"]]
    bounded = {name: q for name, q in result["ratios"].items() if q.get("cpu_bound_s_by_tasks")}
    if bounded:
        lines += ["", f"What {m['cores']} cores allow: the CPU seconds the two halves take for the same work (Connect "
                  "alone's worker, the best ceiling row's client and store), spread over every core with nothing "
                  "idle, give the shortest time any connector could take on this machine (the broker's CPU, not "
                  "counted, only adds to it). The goal (0.8 of the limit) is out of reach where that bound is over "
                  "limit / 0.8. Figures are tasks.max = 1 / 3.", "",
                  "| scenario | CPU s needed | shortest possible s | limit / 0.8 s | ours s | ours / shortest possible |",
                  "|---|---|---|---|---|---|"]
        for name, q in bounded.items():
            goal = " / ".join(fmt(q["limit_s_by_tasks"][t] / 0.8, 2) if t in q["limit_s_by_tasks"] else "–" for t in "13")
            lines.append(f"| {name} | {by_tasks(q, 'cpu_needed_s', 1)} | {by_tasks(q, 'cpu_bound_s')} | {goal} "
                         f"| {by_tasks(q, 'ours_s')} | {by_tasks(q, 'ours_vs_cpu_bound')} |")
    unsigned = result["ratios"].get("L", {}).get("unsigned_payload")
    if unsigned:
        lines += ["", f"L over HTTPS, tasks.max=1, seed config: signed payload {unsigned['signed_s']:.2f} s "
                  f"(worker CPU {unsigned['signed_cpu_s']:.2f} s), `s3.unsigned.payload=true` {unsigned['unsigned_s']:.2f} s "
                  f"(worker CPU {unsigned['unsigned_cpu_s']:.2f} s): {unsigned['cpu_saved_ms_per_mb']:.2f} ms of worker "
                  "CPU saved per MB stored."]
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
              "From registration: first object stored (Connect alone: first record delivered), all objects stored, "
              "offsets committed (= time s); \"Connect alone\" is bench/noop's sink: the worker reading and "
              "delivering the same records, counting them, storing nothing; "
              "CPU seconds of the worker, of its JIT compiler threads (part of the worker's) and of the store "
              "(versitygw) over that time.", "",
              "| scenario | system | tasks | first object s | all stored s | committed s | worker CPU s "
              "| JIT CPU s | store CPU s |",
              "|---|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        if "first_object_after_s" in r and r["scenario"] != "memory":
            first = fmt(r["first_object_after_s"], 2) if r["first_object_after_s"] is not None else "–"
            stored = f"{r['stored_after_s']:.2f}" if r["objects"] > 0 else "–"
            lines.append(f"| {r['scenario']} | {r['system']} | {r['tasks']} | {first} | {stored} "
                         f"| {r['seconds']:.2f} | {r['cpu_s']:.1f} | {fmt(r.get('jit_cpu_s'), 2)} "
                         f"| {r['store_cpu_s']:.1f} |")
    lines += ["", "### Every row", ""] + table(rows)
    return "\n".join(lines) + "\n"


CHART_SYSTEMS = [(SEED, 1, "ours, seed config, 1 task"), (SEED, 3, "ours, seed config, 3 tasks"),
                 (BATCH, 1, "ours, flush.size=1000, 1 task"), (BATCH, 3, "ours, flush.size=1000, 3 tasks"),
                 ("Camel", 1, "Camel, 1 task"), ("Camel", 3, "Camel, 3 tasks"),
                 ("seed pattern (modelled)", 1, "seed pattern (modelled), 1 task per connector"),
                 (CONNECT_ALONE, 1, "Connect alone, 1 task"), ("ceiling (", None, "ceiling (same objects, best c)")]


def charts(result: dict, out: Path) -> list[Path]:
    """throughput.svg: msgs/s per scenario and system (log scale); vs-limit.svg: ours against
    the limit per scenario and tasks.max."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = summary_rows(result["rows"])
    scenarios = [s for s in SCENARIO_ORDER[:-1] if pick(rows, s, "")]
    title = f"{result['date']}, {'quick' if result['quick'] else 'full'} run, {result['machine']['cores']} cores"
    fig, ax = plt.subplots(figsize=(11, 4.8))
    width = 0.8 / 7
    slot = 0
    for system, tasks, label in CHART_SYSTEMS:
        values = []
        for s in scenarios:
            system_here = ("ceiling (batched" if s == "batched" else "ceiling (seed objects)") \
                if system == "ceiling (" else system
            found = pick(rows, s, system_here, tasks)
            values.append(found[0]["msgs_per_s"] if found else 0)
        if not any(values):
            continue
        if system == BATCH:  # ours' bars of the batched scenario share the slots of the seed config
            offset = 0 if tasks == 1 else 1
        else:
            offset = slot
            slot += 1
        xs = [i + (offset - 3) * width for i in range(len(scenarios))]
        ax.bar(xs, values, width, label=label if system != BATCH else None,
               color=f"C{offset}", hatch="//" if system == BATCH else None, edgecolor="white")
    ax.set_yscale("log")
    ax.set_xticks(range(len(scenarios)), scenarios)
    ax.set_ylabel("messages per second (log)")
    ax.set_title(f"Throughput per scenario ({title}; batched: ours with flush.size=1000, hatched)", fontsize=10)
    ax.legend(fontsize=8, ncol=2)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    throughput = out / "throughput.svg"
    fig.savefig(throughput, metadata={"Date": None})
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(9, 4))
    names = [s for s in scenarios if s in result["ratios"]]
    for i, tasks in enumerate("13"):
        values = [result["ratios"][s]["ours_vs_limit_by_tasks"].get(tasks, 0) for s in names]
        bars = ax.bar([x + (i - 0.5) * 0.38 for x in range(len(names))], values, 0.38, label=f"tasks.max={tasks}")
        ax.bar_label(bars, fmt="%.2f", fontsize=7)
    ax.axhline(0.8, color="grey", linestyle="--", linewidth=1, label="goal 0.8")
    ax.axhline(1.0, color="black", linewidth=0.6)
    ax.set_xticks(range(len(names)), names)
    ax.set_ylabel("limit time / ours' time")
    ax.set_title(f"Ours (seed config) against the limit = max(Connect alone, ceiling)\n{title}", fontsize=9)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1, 1))
    fig.tight_layout()
    vs_limit = out / "vs-limit.svg"
    fig.savefig(vs_limit, metadata={"Date": None})
    plt.close(fig)
    return [throughput, vs_limit]


STORE_PLACES = {"tmpfs": "in RAM (tmpfs)", "disk": "on disk"}


def machine() -> dict:
    mem_kb = int(next(line for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal")).split()[1])
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.machine())
    return {"cores": os.cpu_count(), "memory_gib": mem_kb / 1024 / 1024, "cpu": cpu,
            "kernel": platform.release()}


def store_in_memory() -> Path | None:
    """The store's directory on tmpfs (see STORE_TMPFS), used when there is room; None with
    BENCH_STORE_TMPFS=none."""
    return None if STORE_TMPFS == "none" else Path(STORE_TMPFS) / f"sinets3-bench-{PORTS['s3']}"


def place_store() -> str:
    """Links STACK_DIR/s3, the store's directory, to a fresh one on tmpfs when it has room;
    says where the objects are: "tmpfs" or "disk"."""
    in_memory = store_in_memory()
    if in_memory is None:
        return "disk"
    shutil.rmtree(in_memory, ignore_errors=True)  # an interrupted run's
    if not in_memory.parent.is_dir() or shutil.disk_usage(in_memory.parent).free < STORE_TMPFS_NEEDS:
        return "disk"
    (in_memory / "s3").mkdir(parents=True)
    STACK_DIR.mkdir(parents=True, exist_ok=True)
    (STACK_DIR / "s3").symlink_to(in_memory / "s3")
    return "tmpfs"


def remove_store() -> None:
    if in_memory := store_in_memory():
        shutil.rmtree(in_memory, ignore_errors=True)


def interrupted(*_) -> None:
    raise KeyboardInterrupt


def load_1min() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def wait_for_quiet(limit: float = 1.5, steady_s: int = 120, every_s: int = 30, give_up_s: int = 45 * 60) -> float:
    """Waits until the 1-minute load average stays under `limit` for `steady_s` (others share
    this machine); gives up after `give_up_s`. Returns the seconds waited."""
    started = time.monotonic()
    quiet_since = None
    while time.monotonic() - started < give_up_s:
        load = load_1min()
        now = time.monotonic()
        quiet_since = (quiet_since or now) if load < limit else None
        if quiet_since is not None and now - quiet_since >= steady_s:
            return now - started
        say(f"waiting for a quiet machine: load {load:.2f} (under {limit} for {steady_s}s wanted)")
        time.sleep(every_s)
    say(f"the machine did not quieten within {give_up_s / 60:.0f} min: running anyway")
    return time.monotonic() - started


class LoadSampler(threading.Thread):
    """The 1-minute load average every 10 s while the run goes on, for the results."""

    def __init__(self):
        super().__init__(daemon=True)
        self.samples: list[float] = []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(10):
            self.samples.append(load_1min())

    def summary(self) -> dict:
        self.done.set()
        s = self.samples or [load_1min()]
        return {"min": min(s), "mean": round(sum(s) / len(s), 2), "max": max(s), "samples": len(s)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller run of the same scenarios")
    parser.add_argument("--only", default="", help="comma-separated scenarios (S,M,L,S-wan,M-wan,batched,memory), "
                        "for development; results then go to bench/work/results")
    parser.add_argument("--out", default=None, help="directory of latest.md / latest.json and the charts")
    parser.add_argument("--wait-quiet", action=argparse.BooleanOptionalAction, default=None,
                        help="first wait until the 1-minute load stays under 1.5 for 2 minutes (at most 45 min; "
                        "default: for a full run)")
    parser.add_argument("--render", metavar="JSON", help="write latest.md and the charts of a run's latest.json "
                        "anew (into --out, default: beside it), running nothing")
    args = parser.parse_args()
    if args.render:
        source = Path(args.render)
        result = json.loads(source.read_text())
        result["ratios"] = ratios(result["rows"], result["machine"]["cores"])
        out = Path(args.out or source.parent)
        out.mkdir(parents=True, exist_ok=True)
        (out / "latest.md").write_text(markdown(result))
        (out / "latest.json").write_text(json.dumps(result, indent=1) + "\n")
        charts(result, out)
        return 0
    only = {name for name in args.only.split(",") if name}
    out = Path(args.out or (WORK / "results" if only or args.quick else BENCH / "results"))
    signal.signal(signal.SIGTERM, interrupted)
    waited = wait_for_quiet() if (args.wait_quiet if args.wait_quiet is not None else not (args.quick or only)) else 0
    load_before = load_1min()
    bench = Bench(QUICK if args.quick else FULL)
    sampler = LoadSampler()
    sampler.start()
    started = time.monotonic()
    try:
        bench.main(only)
    except KeyboardInterrupt:
        say("interrupted: stopping everything this run started")
        return 130
    finally:
        bench.stop()
    result = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "quick": args.quick,
              "machine": {**machine(), "store_dir": bench.store_dir}, "duration_s": round(time.monotonic() - started),
              "load_average": {**sampler.summary(), "before": load_before, "waited_s": round(waited)},
              "rows": sorted(bench.rows, key=sort_key), "ratios": ratios(bench.rows, os.cpu_count() or 1)}
    result["rows"] = [rounded(r) for r in result["rows"]]
    out.mkdir(parents=True, exist_ok=True)
    table = markdown(result)
    (out / "latest.md").write_text(table)
    (out / "latest.json").write_text(json.dumps(result, indent=1) + "\n")
    pictures = charts(result, out)
    print()
    print(table)
    say(f"done in {result['duration_s'] / 60:.1f} min: {out / 'latest.md'}, {out / 'latest.json'}, "
        + ", ".join(str(p) for p in pictures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
