"""What the fault cases share besides the invariant: the fault proxy (bench/proxy) and its
control API, a steady SINETStream stream into single-partition topics, the Connect workers
of the stack, hand-made SINETStream messages and a summary line per case.

Every wait here is bounded (helpers.wait_until)."""

from __future__ import annotations

import json
import os
import re
import struct
import subprocess
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import boto3
from botocore.config import Config

from helpers import REPO, STACK_DIR, STACK_SCRIPT, Sent, Stack, admin, produce, wait_until

PROXY_SOURCE = REPO / "bench" / "proxy"
RESULTS = Path(os.environ.get("SINETS3_FAULTS_RESULTS", REPO / "build" / "test-results-faults"))


class Background:
    """A daemon thread running self.run_loop() while the object is used as a context manager;
    run_loop() ends when self._stop is set."""

    def __init__(self, name: str, join_timeout: float = 30):
        self._stop = threading.Event()
        self._join_timeout = join_timeout
        self._thread = threading.Thread(target=self.run_loop, name=name, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread.ident is not None:
            self._thread.join(self._join_timeout)

    def run_loop(self) -> None:
        raise NotImplementedError


# ------------------------------------------------------------------------------ fault proxy

class FaultProxy:
    """One bench/proxy process between the sink and versitygw, started and stopped by the
    suite. `url` is what a connector's store.url names."""

    def __init__(self, name: str, binary: Path, port: int, control_port: int, target_port: int):
        self.name, self.port, self.control_port = name, port, control_port
        self.url = f"http://127.0.0.1:{port}"
        self.log = STACK_DIR / "logs" / f"proxy-{name}.log"
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [str(binary), "-listen", f"127.0.0.1:{port}", "-target", f"127.0.0.1:{target_port}",
             "-control", f"127.0.0.1:{control_port}"],
            stdout=subprocess.DEVNULL, stderr=self.log.open("ab"), start_new_session=True)
        wait_until(lambda: self.process.poll() is not None or self.counts(), 30, f"proxy {name} to answer")
        assert self.process.poll() is None, f"proxy {name} exited: see {self.log}"

    def control(self, path: str, method: str = "POST"):
        req = urllib.request.Request(f"http://127.0.0.1:{self.control_port}{path}", method=method)
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.read()

    def counts(self) -> dict:
        return json.loads(self.control("/counts", "GET"))

    def clear(self) -> None:
        self.control("/clear")
        self.control("/up")

    def delay(self, ms: float, kinds: str = "") -> None:
        self.control(f"/delay?ms={ms}&kinds={kinds}")

    def slowdown(self, fraction: float) -> None:
        self.control(f"/slowdown?fraction={fraction}")

    def reset_parts(self, fraction: float) -> None:
        self.control(f"/reset?fraction={fraction}")

    def down(self) -> None:
        self.control("/down")

    def up(self) -> None:
        self.control("/up")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


def build_proxy() -> Path:
    """Builds bench/proxy (Go stdlib only, seconds when cached) into the stack dir."""
    binary = STACK_DIR / "bin" / "fault-proxy"
    binary.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PATH=os.environ.get("PATH", "") + ":/usr/local/go/bin")
    subprocess.run(["go", "build", "-o", str(binary), "."], cwd=PROXY_SOURCE, env=env, check=True, timeout=300)
    return binary


def proxy_ports() -> tuple[int, int]:
    """(first port, S3 port): the proxies take first..first+3 (listen, control; twice)."""
    s3_port = int(os.environ.get("SINETS3_S3_PORT", "7070"))
    return int(os.environ.get("SINETS3_PROXY_PORT", str(s3_port + 1))), s3_port


def requests_of(counts: dict, *kinds: str) -> int:
    return sum(counts["requests"].get(k, 0) for k in kinds)


# ------------------------------------------------------------------------------ workers

@dataclass
class Worker:
    """A Connect worker of the stack (part `connect` or `connect2`) and the proxy it stores
    through when a connector says store.url=${env:SINETS3_STORE_URL}."""
    part: str
    url: str
    store_url: str

    def run(self, command: str, timeout: float = 300) -> None:
        env = dict(os.environ, SINETS3_STORE_URL=self.store_url)
        try:
            subprocess.run([str(STACK_SCRIPT), command, self.part], check=True, timeout=timeout, env=env)
        except subprocess.CalledProcessError:
            if command not in ("start", "restart"):
                raise
            # local-stack.sh may take its just-forked child for a process that exited (see
            # scripts/test-faults.sh): once more, from a stopped worker.
            subprocess.run([str(STACK_SCRIPT), "stop", self.part], check=True, timeout=timeout, env=env)
            subprocess.run([str(STACK_SCRIPT), "start", self.part], check=True, timeout=timeout, env=env)

    def pid(self) -> int:
        return int((STACK_DIR / "run" / f"{self.part}.pid").read_text().strip())

    def alive(self) -> bool:
        try:
            return Path(f"/proc/{self.pid()}").exists()
        except (OSError, ValueError):
            return False

    def memory(self) -> dict[str, int]:
        return process_memory(self.pid())


def process_memory(pid: int) -> dict[str, int]:
    """VmHWM and VmRSS of a process, bytes."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            out[key] = int(value.split()[0]) * 1024
    return out


class MemoryWatch(Background):
    """The peak VmRSS and VmHWM of a process, sampled in a thread every `interval` seconds
    (`with MemoryWatch(pid) as watch:`); sample() is the hook for more figures."""

    def __init__(self, pid: int, interval: float = 1.0):
        super().__init__("memory")
        self.pid, self.interval = pid, interval
        self.start_rss = process_memory(pid)["VmRSS"]
        self.peak_rss = self.hwm = 0

    def sample(self) -> None:
        mem = process_memory(self.pid)
        self.peak_rss, self.hwm = max(self.peak_rss, mem["VmRSS"]), max(self.hwm, mem["VmHWM"])

    def run_loop(self) -> None:
        while True:
            try:
                self.sample()
            except (OSError, ValueError, KeyError):  # the process is gone, or between states
                pass
            if self._stop.wait(self.interval):
                return


def restart_task(connect, name: str, task: int = 0, timeout: float = 90) -> None:
    """POST .../tasks/<task>/restart, then wait until the task is RUNNING. The status topic
    may still say FAILED (the old failure) for a moment after the restart: a FAILED state
    counts only once it outlasts a grace period."""
    connect.call("POST", f"/connectors/{name}/tasks/{task}/restart")
    grace_end = time.monotonic() + 15

    def running():
        status = connect.status(name) or {"tasks": []}
        state = next((t for t in status["tasks"] if t["id"] == task), {"state": "none"})
        if state["state"] == "FAILED" and time.monotonic() > grace_end:
            raise AssertionError(f"task {task} of {name} failed again after its restart:\n{state.get('trace')}")
        return state["state"] == "RUNNING"
    wait_until(running, timeout, f"task {task} of {name} RUNNING after its restart")


def engine_reason(trace: str) -> str:
    """The engine's message in a task's trace: "upload of <key> failed: ..." to its end."""
    line = next((x.strip() for x in trace.splitlines() if "upload of" in x), trace.splitlines()[0])
    return line[line.find("upload of"):]


def assert_all(checks: list[tuple[object, str]], context: str) -> None:
    """Asserts every (holds, what is broken otherwise) pair, saying all that fail at once."""
    broken = [text for ok, text in checks if not ok]
    assert not broken, "\n".join(broken) + f"\n{context}"


def retried_for(trace: str) -> int | None:
    """The seconds an upload was retried, from the engine's "after N attempts over S s
    (upload.retry.timeout.ms = ...)"; None when the failure does not say."""
    m = re.search(r"after \d+ attempts over (\d+) s \(upload\.retry\.timeout\.ms", trace)
    return int(m[1]) if m else None


def store_url_variable() -> str:
    """The connector setting that sends each worker's uploads through its own proxy."""
    return "${env:SINETS3_STORE_URL}"


# ------------------------------------------------------------------------------ streams

def payload(topic: str, index: int) -> bytes:
    """Varied, recognisable payloads: a record found in the wrong object shows where it came from."""
    return f"{topic} record {index:06d};".encode() * (1 + index % 23)


class Stream(Background):
    """A steady stream from the real SINETStream client into single-partition topics, in
    chunks of publishes, in a background thread. Single-partition topics let the stream end
    every partition on a whole object of flush.size records, so every object closes and the
    whole stream can be checked. `sent` grows as chunks are acknowledged; `on_sent` sees every chunk. Leaving
the `with` block stops the thread without the top-up of stop()."""

    def __init__(self, stack: Stack, workdir: Path, topics: list[str], rate: float, *, chunk: int = 25,
                 on_sent=None, make_payload=payload, type_spec: dict | None = None):
        super().__init__("stream", join_timeout=60)
        self.stack, self.workdir, self.topics = stack, workdir, topics
        self.pause = 1.0 / rate if rate else 0.0  # one thread for all topics: `rate` is their sum
        self.chunk, self.on_sent, self.make_payload, self.type_spec = chunk, on_sent, make_payload, type_spec
        self.sent: dict[str, list[Sent]] = {t: [] for t in topics}
        self._error: BaseException | None = None

    def count(self) -> int:
        return sum(len(s) for s in self.sent.values())

    def _publish(self, topic: str, n: int) -> None:
        start = len(self.sent[topic])
        batch = [self.make_payload(topic, start + i) for i in range(n)]
        sent = produce(self.stack, self.workdir, topic, batch, pause=self.pause, type_spec=self.type_spec)
        self.sent[topic].extend(sent)
        if self.on_sent:
            self.on_sent(topic, sent)

    def run_loop(self) -> None:
        try:
            while not self._stop.is_set():
                for topic in self.topics:
                    self._publish(topic, self.chunk)
                    if self._stop.is_set():
                        break
        except BaseException as exc:  # reported by stop()
            self._error = exc

    def stop(self, flush_size: int = 1, timeout: float = 120) -> dict[str, list[Sent]]:
        """Ends the stream; then tops every topic up until its last object is whole."""
        self._stop.set()
        self._thread.join(timeout)
        assert not self._thread.is_alive(), f"the producer did not stop within {timeout}s"
        if self._error:
            raise AssertionError(f"the producer failed: {self._error!r}") from self._error
        for topic in self.topics:
            while rest := records_to_close(self.sent[topic], flush_size):
                self._publish(topic, rest)
        return self.sent

    def all_sent(self) -> list[Sent]:
        return [s for t in self.topics for s in self.sent[t]]


def records_to_close(run: list[Sent], flush_size: int) -> int:
    """How many more records close the open object of a run of records sent to one partition
    (from its start or from just after an errant record, which also closes the open object).
    The sink closes an object after flush.size records and when the hour of the records
    changes, so a run across the top of the hour counts from the hour's first record."""
    if not run:
        return 0
    last_hour = hour_of(run[-1])
    first_of_hour = next(i for i, s in enumerate(run) if hour_of(s) == last_hour)
    return -(len(run) - first_of_hour) % flush_size


def hour_of(record: Sent) -> int:
    # The sink's hour buckets in Asia/Tokyo (sink_config), a whole number of hours from UTC.
    return record.kafka_ts // 3_600_000


def wait_for_leaders(stack: Stack, topic: str, partitions: int, timeout: float = 120) -> None:
    """Until every partition of a new topic has a leader (2,000 take a while)."""
    client = admin(stack)
    try:
        def led():
            [described] = client.describe_topics([topic])
            return sum(p["leader"] >= 0 for p in described["partitions"]) == partitions
        wait_until(led, timeout, f"a leader for each of the {partitions} partitions of {topic}", interval=1)
    finally:
        client.close()


# ------------------------------------------------------------------------------ messages

AVRO_SINGLE_OBJECT = b"\xc3\x01" + bytes.fromhex("1f9c0c91eb33664f")


def _zigzag(n: int) -> bytes:
    n = (n << 1) ^ (n >> 63)
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def v3_message(msg: bytes, tstamp_us: int) -> bytes:
    """A SINETStream v3 value, unencrypted: header DF 03 00 00, key version 0, then the Avro
    single-object record {tstamp, msg} (the wire format of ../testvectors/sinetstream). Built
    by hand where the client cannot send what a case needs (a compressed bomb it would have to
    hold in memory first)."""
    return b"\xdf\x03\x00\x00" + struct.pack(">H", 0) + AVRO_SINGLE_OBJECT + _zigzag(tstamp_us) + \
        _zigzag(len(msg)) + msg


def zstd_bomb(expanded: int, declare_size: bool) -> bytes:
    """A zstd frame of `expanded` zero bytes, compressed in 1 MiB steps (never held whole);
    with or without the content size in its header."""
    import zstandard  # brought by sinetstream (its zstd compression)

    chunk = bytes(1 << 20)
    cctx = zstandard.ZstdCompressor(level=3, write_content_size=declare_size)
    obj = cctx.compressobj(size=expanded if declare_size else -1)
    out = bytearray()
    left = expanded
    while left:
        n = min(left, len(chunk))
        out += obj.compress(chunk[:n])
        left -= n
    out += obj.flush()
    return bytes(out)


# ------------------------------------------------------------------------------ results

@dataclass
class CaseReport:
    """The line each case prints and the report quotes: records through, faults injected,
    lost and doubled."""
    case: str
    records: int = 0
    faults: list[str] = field(default_factory=list)
    lost: int | None = None
    doubled: int | None = None
    notes: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def fault(self, text: str) -> None:
        self.faults.append(text)

    def note(self, text: str) -> None:
        self.notes.append(text)

    def line(self) -> str:
        secs = time.monotonic() - self.started
        lost = "?" if self.lost is None else self.lost
        doubled = "?" if self.doubled is None else self.doubled
        text = (f"{self.case}: {self.records} records, lost {lost}, doubled {doubled}, {secs:.0f} s; "
                f"faults: {'; '.join(self.faults) or 'none'}")
        return text + "".join(f"\n    {n}" for n in self.notes)

    def write(self) -> None:
        RESULTS.mkdir(parents=True, exist_ok=True)
        with (RESULTS / "cases.txt").open("a") as f:
            f.write(self.line() + "\n")


def s3_client(stack: Stack, secret: str | None = None):
    return boto3.client("s3", endpoint_url=stack.s3_url, region_name="us-east-1",
                        aws_access_key_id=stack.access_key, aws_secret_access_key=secret or stack.secret_key,
                        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3}))


def open_multipart_uploads(s3, bucket: str) -> list[str]:
    return [u["Key"] for u in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]
