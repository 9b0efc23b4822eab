#!/usr/bin/env python3
"""Memory of a Connect worker running the connector, against the bound the README promises:
RSS at most the JVM heap plus twice upload.max.inflight.bytes. A program that prints figures,
not a test (issue 16: "measured by a program, not asserted by a timed test").

Scenarios, each with a new connector on a new topic:
  partitions    2,000 partitions, 100 KB records spread over them, flush.size=10000 (objects
                never fill: every partition keeps an open object), rotate.schedule.interval.ms
                lets the task close the oldest early once memory is full
  partitions-no-rotation  the same without rotate.schedule.interval.ms: memory full of open
                objects alone fails the task with advice (the figure: RSS until then)
  bombs         500 zstd messages of 8 KB that expand to 256 MiB each (above the default 64 MiB
                decompression limit) in one topic, one poll's worth: all go to the dead letter
                queue

With the worker started with SINETS3_CONNECT_OPTS=-XX:NativeMemoryTracking=summary (and
--restart-worker, which keeps the worker's environment), it also splits the native part into the
JVM's own (direct buffers among it) and what the JVM does not know of: the engine's allocations.

It needs a running local stack (scripts/local-stack.sh up, or the fault suite's: set
SINETS3_STACK_DIR and the SINETS3_*_PORT variables as for it) with the plugin loaded. The
worker's RSS is read from /proc/<pid>/status five times a second while a scenario runs, and split
into the Java heap's part and the rest (native: the engine, malloc's arenas, the JVM's own) from
/proc/<pid>/smaps and `jcmd GC.heap_info` once a second.

  .venv/bin/python bench/memory.py [--only partitions,bombs] [--records N] [--inflight BYTES] [--restart-worker]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests" / "e2e"), str(REPO / "tests" / "faults")]

from kafka import KafkaProducer  # noqa: E402

from helpers import (STACK_DIR, Connect, Stack, create_topic, delete_topic, end_offsets, produce,  # noqa: E402
                     sink_config)
from support import MemoryWatch, process_memory, v3_message, wait_for_leaders, zstd_bomb  # noqa: E402

MiB = 1 << 20


def worker_pid() -> int:
    return int((STACK_DIR / "run" / "connect.pid").read_text().strip())


def max_heap(pid: int) -> int:
    """-Xmx of the worker, bytes (the JVM's default, a quarter of RAM, when absent)."""
    args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    for a in args:
        m = re.fullmatch(rb"-Xmx(\d+)([kmgKMG]?)", a)
        if m:
            return int(m[1]) * units.get(m[2].decode().lower(), 1)
    mem_total_kib = int(Path("/proc/meminfo").read_text().split()[1])  # first line: MemTotal
    return mem_total_kib * 1024 // 4


def heap_range(pid: int) -> tuple[int, int] | None:
    """The Java heap's address range, from `jcmd <pid> GC.heap_info`."""
    jcmd = Path(f"/proc/{pid}/exe").resolve().parent / "jcmd"
    try:
        out = subprocess.run([str(jcmd), str(pid), "GC.heap_info"], capture_output=True, text=True,
                             timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r"heap\s+total \d+K, used \d+K \[(0x[0-9a-f]+), (0x[0-9a-f]+)\)", out)
    return (int(m[1], 16), int(m[2], 16)) if m else None


def rss_split(pid: int, heap: tuple[int, int] | None) -> tuple[int, int]:
    """(resident bytes inside the Java heap's range, resident bytes outside it) from smaps:
    what the JVM's heap holds, and what native code (the engine, malloc, the JVM itself) does."""
    inside = outside = 0
    start = 0
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        m = re.match(r"^([0-9a-f]+)-[0-9a-f]+ ", line)
        if m:
            start = int(m[1], 16)
        elif line.startswith("Rss:"):
            kib = int(line.split()[1]) * 1024
            if heap and heap[0] <= start < heap[1]:
                inside += kib
            else:
                outside += kib
    return inside, outside


def jvm_native(pid: int) -> tuple[int, int] | None:
    """(all the JVM says it committed, its 'Other' part: direct buffers) from Native Memory
    Tracking, None when the worker runs without -XX:NativeMemoryTracking=summary. RSS minus the
    first is what the JVM does not know of: the engine's allocations, mostly."""
    jcmd = Path(f"/proc/{pid}/exe").resolve().parent / "jcmd"
    try:
        out = subprocess.run([str(jcmd), str(pid), "VM.native_memory", "summary"], capture_output=True, text=True,
                             timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    total = re.search(r"^Total: reserved=\d+KB, committed=(\d+)KB", out, re.M)
    other = re.search(r"^-\s+Other \(reserved=\d+KB, committed=(\d+)KB", out, re.M)
    return (int(total[1]) * 1024, int(other[1]) * 1024 if other else 0) if total else None


class Watch(MemoryWatch):
    """Peak VmRSS of the worker while a scenario runs, five times a second; the peak outside
    the Java heap (smaps) once a second; with NMT, the JVM's native part every other second."""

    def __init__(self, pid: int):
        super().__init__(pid, interval=0.2)
        self.heap = heap_range(pid)
        self.start_outside = rss_split(pid, self.heap)[1]
        self.peak_outside = 0
        self.nmt = jvm_native(pid) is not None
        self.peak_untracked = self.peak_direct = 0
        self.ticks = 0

    def sample(self) -> None:
        super().sample()
        self.ticks += 1
        if self.ticks % 5 == 0:
            self.peak_outside = max(self.peak_outside, rss_split(self.pid, self.heap)[1])
        if self.nmt and self.ticks % 10 == 0:
            rss, committed = process_memory(self.pid)["VmRSS"], jvm_native(self.pid)
            if committed:
                self.peak_untracked = max(self.peak_untracked, rss - committed[0])
                self.peak_direct = max(self.peak_direct, committed[1])


def wait_done(connect: Connect, name: str, ends: dict[int, int], timeout: float) -> str:
    """'committed' once every partition is committed; 'FAILED: ...' or 'timed out' otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        failed = connect.failures(connect.status(name))
        if failed:
            causes = [x.strip() for x in failed.splitlines() if x.strip().startswith("Caused by")]
            return "FAILED: " + (causes[-1] if causes else failed.splitlines()[0])[:220]
        got = connect.committed(name)
        if all(got.get(p, 0) >= e for p, e in ends.items() if e):
            return "committed"
        time.sleep(1)
    return f"timed out after {timeout:.0f} s"


def scenario_partitions(stack, connect, work, args, rotate: bool):
    topic = f"bench.memory.partitions.{uuid.uuid4().hex[:6]}"
    create_topic(stack, topic, partitions=2000)
    extra = {"flush.size": "10000", "upload.max.inflight.bytes": str(args.inflight)}
    if rotate:
        extra["rotate.schedule.interval.ms"] = "10000"
    wait_for_leaders(stack, topic, 2000)
    record = bytes(100_000)

    def publish(part: int) -> None:  # a publish to a partition of its own waits ~10 ms: 4 producers
        (work / str(part)).mkdir(exist_ok=True)
        produce(stack, work / str(part), topic, [record] * (args.records // 4),
                type_spec={"retries": 60, "retry_backoff_ms": 1000})
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(publish, range(4)))
    return topic, extra, f"{args.records} records of 100 KB over 2000 partitions, flush.size 10000" + \
        (", rotate.schedule.interval.ms 10000" if rotate else "")


def scenario_bombs(stack, connect, work, args):
    topic = f"bench.memory.bombs.{uuid.uuid4().hex[:6]}"
    create_topic(stack, topic)
    bomb = zstd_bomb(256 * MiB, declare_size=False)
    producer = KafkaProducer(bootstrap_servers=stack.bootstrap, acks="all", linger_ms=50)
    for _ in range(500):
        producer.send(topic, v3_message(bomb, time.time_ns() // 1000))
    producer.flush(60)
    producer.close()
    extra = {"sinetstream.compression.algorithm": "zstd", "upload.max.inflight.bytes": str(args.inflight),
             "errors.tolerance": "all", "errors.deadletterqueue.topic.name": topic + ".dlq",
             "errors.deadletterqueue.topic.replication.factor": "1"}
    return topic, extra, f"500 zstd bombs of {len(bomb) // 1024} KB expanding to 256 MiB each, in one topic"


SCENARIOS = {
    "partitions": lambda *a: scenario_partitions(*a, rotate=True),
    "partitions-no-rotation": lambda *a: scenario_partitions(*a, rotate=False),
    "bombs": scenario_bombs,
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", default=",".join(SCENARIOS), help="scenarios, comma-separated")
    ap.add_argument("--records", type=int, default=4000, help="records of the partitions scenarios")
    ap.add_argument("--inflight", type=int, default=128 * MiB, help="upload.max.inflight.bytes")
    ap.add_argument("--timeout", type=float, default=240, help="seconds each scenario may take")
    ap.add_argument("--restart-worker", action="store_true",
                    help="restart the stack's worker (scripts/local-stack.sh restart connect) before each scenario, "
                         "so each starts from a fresh process")
    args = ap.parse_args()
    stack = Stack.load()
    connect = Connect(stack.connect_url)
    pid = worker_pid()
    heap = max_heap(pid)
    bound = heap + 2 * args.inflight
    print(f"worker pid {pid}: -Xmx {heap / MiB:.0f} MiB, upload.max.inflight.bytes {args.inflight / MiB:.0f} MiB, "
          f"bound (heap + 2 x inflight) {bound / MiB:.0f} MiB; RSS now {process_memory(pid)['VmRSS'] / MiB:.0f} MiB")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.only.split(","):
            if args.restart_worker:
                stack.run("restart", "connect")
                pid = worker_pid()
            topic, extra, what = SCENARIOS[name](stack, connect, Path(tmp), args)
            what += f" (worker pid {pid})"
            connector = f"bench-memory-{uuid.uuid4().hex[:6]}"
            bucket = stack.bucket
            started = time.monotonic()
            with Watch(pid) as watch:
                connect.put_config(connector, sink_config(stack, topic, bucket, extra))
                outcome = wait_done(connect, connector, end_offsets(stack, topic), args.timeout)
            secs = time.monotonic() - started
            alive = Path(f"/proc/{pid}").exists()
            connect.delete(connector)
            delete_topic(stack, topic)
            idle = rss_split(pid, heap_range(pid))[1] if alive else 0
            rows.append((name, watch.start_rss, watch.peak_rss, watch.start_outside, watch.peak_outside, idle,
                         outcome, secs, alive))
            mib = {k: f"{v / MiB:.0f} MiB" for k, v in dict(
                start=watch.start_rss, peak=watch.peak_rss, bound=bound, out_start=watch.start_outside,
                out_peak=watch.peak_outside, idle=idle, twice=2 * args.inflight).items()}
            print(f"{name}: {what}\n  RSS {mib['start']} -> peak {mib['peak']} "
                  f"({'within' if watch.peak_rss <= bound else 'ABOVE'} the bound of {mib['bound']}); outside the "
                  f"Java heap: {mib['out_start']} -> peak {mib['out_peak']}, {mib['idle']} once the connector is "
                  f"deleted (2 x inflight = {mib['twice']}); {outcome} after {secs:.0f} s; "
                  f"worker {'alive' if alive else 'DEAD'}", flush=True)
            if watch.nmt:
                print(f"  Native Memory Tracking: JVM direct buffers ('Other') peak {watch.peak_direct / MiB:.0f} MiB; "
                      f"RSS the JVM does not account for (the engine, mostly) peak "
                      f"{watch.peak_untracked / MiB:.0f} MiB")
    print(f"\nVmHWM of the worker: {process_memory(pid)['VmHWM'] / MiB:.0f} MiB")
    print("| scenario | RSS before | RSS peak | outside the heap: before / peak / after | bound | outcome | worker |")
    print("|---|---|---|---|---|---|---|")
    for name, start, peak, before, outside, idle, outcome, secs, alive in rows:
        print(f"| {name} | {start / MiB:.0f} MiB | {peak / MiB:.0f} MiB | {before / MiB:.0f} / {outside / MiB:.0f} / "
              f"{idle / MiB:.0f} MiB | "
              f"{bound / MiB:.0f} MiB | {outcome} ({secs:.0f} s) | {'alive' if alive else 'dead'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
