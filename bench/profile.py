"""Where the CPU goes in one benchmark row: runs the row on the bench stack with `perf record`
on the Connect worker (Java frames named through the JIT's perf map) and on the store, then the
ceiling for the same objects with `perf` on the store, and prints the hottest threads and
symbols. The broker shares the two cores: its CPU time over the row is counted, not profiled.
Through bench/run.sh, which builds the helpers first:

    bench/run.sh --profile M seed [--tasks 3] [--set upload.concurrency=32] [--repeat 2]

Rows: seed, payload, alone (the counting no-op sink); scenario `batched` runs them with
flush.size=1000. The perf.data files stay in bench/work/profile/ for `perf report -i`. The
plugin's engine is stripped: PROFILE_JAVA_OPTS=-Djava.library.path=<dir> loads one built with
symbols (`cargo build --release -p s3sink-jni`) from <dir> instead."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402

OUT = bench.WORK / "profile"
JAVA_OPTS = os.environ.get("PROFILE_JAVA_OPTS", "") + " -XX:+UnlockDiagnosticVMOptions -XX:+PreserveFramePointer -XX:+DumpPerfMapAtExit"


@contextlib.contextmanager
def recording(pid: int, data: Path, seconds: int):
    perf = subprocess.Popen(["perf", "record", "-F", "499", "-g", "-o", str(data), "-p", str(pid),
                             "--", "sleep", str(seconds)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    try:
        yield
    finally:
        perf.send_signal(signal.SIGINT)
        perf.wait(30)


def tcp_active_opens() -> int:
    lines = [line.split() for line in Path("/proc/net/snmp").read_text().splitlines() if line.startswith("Tcp:")]
    return int(lines[1][lines[0].index("ActiveOpens")])


def machine_cpu() -> dict[str, float]:
    """CPU seconds of the whole machine, all cores: busy, idle, and stolen by the hypervisor."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    user, nice, system, idle, iowait, irq, softirq, steal = (int(v) / os.sysconf("SC_CLK_TCK") for v in fields)
    return {"busy": user + nice + system + irq + softirq, "idle": idle + iowait, "steal": steal}


def context_switches(pid: int) -> dict[str, list[int]]:
    """Voluntary and involuntary context switches so far, per thread name (digits dropped, so
    that the pool threads of one kind add up), of the threads alive now."""
    switches: dict[str, list[int]] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            status = dict(line.split(":\t", 1) for line in (task / "status").read_text().splitlines() if ":\t" in line)
            name = "".join(c for c in status["Name"].strip() if not c.isdigit()).rstrip("-_ ")
            counts = switches.setdefault(name, [0, 0])
            counts[0] += int(status["voluntary_ctxt_switches"])
            counts[1] += int(status["nonvoluntary_ctxt_switches"])
    return switches


def switches_between(before: dict[str, list[int]], after: dict[str, list[int]]) -> str:
    grown = {name: [a - b for a, b in zip(counts, before.get(name, [0, 0]))] for name, counts in after.items()}
    busiest = sorted(grown.items(), key=lambda item: -sum(item[1]))[:6]
    total = [sum(counts[i] for counts in grown.values()) for i in (0, 1)]
    return (f"{total[0]} voluntary, {total[1]} involuntary; "
            + ", ".join(f"{name} {v}/{i}" for name, (v, i) in busiest))


def report(data: Path, sort: str, limit: int) -> str:
    text = subprocess.run(["perf", "report", "-i", str(data), "--no-children", "--stdio", "-g", "none",
                           "--sort", sort, "--percent-limit", "0.4"], capture_output=True, text=True,
                          check=True).stdout
    lines = [line.rstrip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return "\n".join(lines[:limit])


def show(title: str, data: Path) -> None:
    print(f"\n== {title} ({data})")
    for sort, limit in (("comm,dso", 12), ("dso,symbol", 30)):
        print(report(data, sort, limit))
        print()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("scenario", choices=["S", "M", "L", "S-wan", "M-wan", "batched"])
    parser.add_argument("row", choices=["seed", "payload", "alone"])
    parser.add_argument("--tasks", type=int, default=1)
    parser.add_argument("--seconds", type=int, default=30, help="longest perf recording")
    parser.add_argument("--ceiling", type=int, default=64, help="then the ceiling at this concurrency (0: none)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a connector setting on top of the row's (repeatable)")
    parser.add_argument("--repeat", type=int, default=1, help="run the row this many times on one worker, "
                        "recording the last")
    parser.add_argument("--warm", type=int, default=bench.FULL.warm, help="warm-up messages (not 16 MiB ones)")
    parser.add_argument("--warm-seconds", type=float, default=bench.FULL.warm_fresh_worker_s,
                        help="the fresh worker's warm-up repeats for this long at least")
    args = parser.parse_args()
    bench.EXTRA_JAVA_OPTIONS = JAVA_OPTS
    run = bench.Bench(dataclasses.replace(bench.FULL, warm=args.warm, warm_fresh_worker_s=args.warm_seconds))
    sc = run.batch if args.scenario == "batched" else next(s for s in run.scenarios if s.name == args.scenario)
    OUT.mkdir(parents=True, exist_ok=True)
    name = f"{sc.slug}-{args.row}-t{args.tasks}"
    worker_data, store_data, ceiling_data = (OUT / f"{name}-{part}.data" for part in ("worker", "store", "ceiling"))
    label, system, extra, flush = {
        "seed": (bench.SEED, "ours", {}, 1),
        "payload": (bench.PAYLOAD, "ours", {"sink.objects": "payload"}, 1),
        "alone": (bench.CONNECT_ALONE, "alone", {}, 1),
    }[args.row]
    extra = {**extra, **dict(setting.split("=", 1) for setting in args.set)}
    if sc.name == "batched":
        label, extra, flush = (bench.BATCH, {**extra, "flush.size": "1000"}, 1000) if system == "ours" else (label, {}, 1000)
    ceiling = None
    try:
        run.start()
        run.warm_store()
        run.preload(sc, sc.topic, sc.count)
        run.preload(sc, sc.warm_topic, run.sizes.warm_l if sc.size > bench.MiB else run.sizes.warm)
        original_drain = run.drain

        rows_left = args.repeat
        repeats = []  # (seconds, machine CPU over the row) of every measured run

        def drain_measured(*row):
            before = machine_cpu()
            m = original_drain(*row)
            after = machine_cpu()
            repeats.append((m["seconds"], {k: after[k] - before[k] for k in after}))
            return m

        def drain_under_perf(name_, config, bucket, commit, objects, timeout, what, *rest):
            nonlocal rows_left
            if what.startswith("warm-up"):
                return original_drain(name_, config, bucket, commit, objects, timeout, what, *rest)
            rows_left -= 1
            if rows_left > 0:
                return drain_measured(name_, config, bucket, commit, objects, timeout, what, *rest)
            opens = tcp_active_opens()
            worker, store, broker = bench.pid_of("connect"), bench.pid_of("s3"), bench.pid_of("broker")
            switched = context_switches(worker), context_switches(store)
            broker_cpu = bench.cpu_seconds(broker)
            with recording(worker, worker_data, args.seconds), recording(store, store_data, args.seconds):
                m = drain_measured(name_, config, bucket, commit, objects, timeout, what, *rest)
            m["tcp_opens"] = tcp_active_opens() - opens
            m["broker_cpu_s"] = bench.cpu_seconds(broker) - broker_cpu
            m["switches"] = (switches_between(switched[0], context_switches(worker)),
                             switches_between(switched[1], context_switches(store)))
            return m

        run.drain = drain_under_perf
        for _ in range(args.repeat):
            row, stored = run.connector_row(sc, label, system, args.tasks, extra, flush=flush)
        # The JIT writes /tmp/perf-<pid>.map when the worker exits (DumpPerfMapAtExit).
        os.kill(bench.pid_of("connect"), signal.SIGTERM)
        time.sleep(5)
        if args.ceiling and system == "ours":
            opens = tcp_active_opens()
            with recording(bench.pid_of("s3"), ceiling_data, args.seconds):
                ceiling = run.ceiling(sc, f"ceiling c={args.ceiling}", [("a", k, s) for k, s in stored],
                                      row["messages"], concurrency=args.ceiling)
            ceiling["tcp_opens"] = tcp_active_opens() - opens
    finally:
        run.stop()
    print(f"{sc.name} {label} tasks={args.tasks}: {row['seconds']:.2f} s, worker CPU {row['cpu_s']:.1f} s, "
          f"store CPU {row['store_cpu_s']:.1f} s, broker CPU {row['broker_cpu_s']:.1f} s, "
          f"TCP connections opened {row['tcp_opens']}")
    for i, (seconds, cpu) in enumerate(repeats, 1):
        print(f"run {i} of {len(repeats)}{' (under perf)' if i == len(repeats) else ''}: {seconds:.2f} s; "
              f"machine CPU busy {cpu['busy']:.1f} s, idle {cpu['idle']:.1f} s, stolen {cpu['steal']:.1f} s")
    print(f"context switches in the worker: {row['switches'][0]}")
    print(f"context switches in the store: {row['switches'][1]}")
    if ceiling:
        print(f"ceiling c={args.ceiling}: {ceiling['seconds']:.2f} s, client CPU {ceiling['client_cpu_s']:.1f} s, "
              f"store CPU {ceiling['store_cpu_s']:.1f} s, TCP connections opened {ceiling['tcp_opens']}")
    show("worker", worker_data)
    show("store during the row", store_data)
    if ceiling:
        show("store during the ceiling", ceiling_data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
