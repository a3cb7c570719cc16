"""Benchmark of the inbound IVR on the real stack: SIPp as the carrier places N concurrent calls
(greeting, menu, RFC 2833 digit 1, a short play, hang-up) into our PBX Asterisk and service.

    .venv/bin/python bench/bench_ivr.py [--concurrency 1 50 200] [--repeats 3] [--json FILE]

Measures, per run:
- the app's added latency: from the ChannelDtmfReceived event of the digit to the PlaybackStarted
  event of the prompt the digit leads to, both timestamped by Asterisk and seen by a second,
  passive ARI application subscribed to everything (the service's own app is untouched);
- CPU seconds per call of the service process and of Asterisk (/proc/<pid>/stat utime+stime);
- failed calls: SIPp's failed calls plus calls whose digit or next prompt was never seen.

Everything runs on 127.0.30.x (PBX 127.0.30.1, carrier 127.0.30.11) so it can run beside `make run`
(127.0.0.x) and the integration tests (127.0.20.x); all it starts it stops. IVR_BENCH_NET (e.g.
127.0.46) and IVR_BENCH_WEB_PORT move it, for two benches on one machine. `--profile FILE` records
the service with py-spy (collapsed stacks) during the measured runs.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path


from stack import (HERE, AriObserver, BenchError, Stack, ari_time, percentile, run_bench,
                   sipp_binary, sipp_counts)

NET = os.environ.get("IVR_BENCH_NET", "127.0.30")
PBX_IP, CARRIER_IP = f"{NET}.1", f"{NET}.11"
WEB_PORT = int(os.environ.get("IVR_BENCH_WEB_PORT", "18130"))
COMPANY_NUMBER = "+74951110000"
NEXT_PROMPT = "all-busy"          # what digit 1 leads to in bench/plan.yaml
MAX_RATE = 50                     # new calls per second


@dataclass(frozen=True)
class RunResult:
    concurrency: int
    calls: int
    failed: int
    sipp_failed: int
    latencies_ms: list[float]
    service_cpu_per_call_s: float
    asterisk_cpu_per_call_s: float
    wall_s: float

    def percentile(self, q: float) -> float | None:
        return percentile(self.latencies_ms, q)


class Observer(AriObserver):
    """Every channel's first DTMF and the start of the prompt that follows it."""

    def __init__(self, url: str, user: str, password: str):
        super().__init__(url, user, password, "bench-observer")
        self.dtmf: dict[str, datetime] = {}
        self.started: dict[str, datetime] = {}

    def reset(self) -> None:
        self.dtmf.clear()
        self.started.clear()

    def seen(self, event: dict) -> None:
        kind = event.get("type")
        if kind == "ChannelDtmfReceived":
            self.dtmf.setdefault(event["channel"]["id"], ari_time(event["timestamp"]))
        elif kind == "PlaybackStarted":
            playback = event["playback"]
            if NEXT_PROMPT in playback.get("media_uri", ""):
                channel = playback.get("target_uri", "").removeprefix("channel:")
                self.started.setdefault(channel, ari_time(event["timestamp"]))

    def latencies_ms(self) -> list[float]:
        return [(self.started[c] - t).total_seconds() * 1000
                for c, t in self.dtmf.items() if c in self.started]


def sipp_command(rootfs: Path, calls: int, concurrency: int, stat_file: Path) -> list[str]:
    return [*sipp_binary(rootfs), f"{PBX_IP}:5060",
            "-sf", str(HERE / "sipp" / "ivr_menu_digit.xml"), "-s", COMPANY_NUMBER,
            "-i", CARRIER_IP, "-p", "5060", "-mi", CARRIER_IP, "-mp", "16000",
            "-m", str(calls), "-l", str(concurrency), "-r", str(min(concurrency, MAX_RATE)),
            "-nostdin", "-trace_stat", "-stf", str(stat_file), "-fd", "1",
            "-trace_err", "-error_file", str(stat_file.with_suffix(".errors"))]


async def run_once(stack: Stack, observer: Observer, concurrency: int, calls: int,
                   index: int) -> RunResult:
    observer.reset()
    stat_file = stack.work / f"sipp-{concurrency}-{index}.csv"
    assert stack.service is not None
    cpu_before = stack.cpu()
    started = time.monotonic()
    # SIPp reads the digit's pcap relative to its working directory.
    proc = await asyncio.create_subprocess_exec(
        *sipp_command(stack.rootfs, calls, concurrency, stat_file),
        cwd=stack.rootfs / "usr/share/sip-tester", stdin=subprocess.DEVNULL,
        stdout=open(stack.work / f"sipp-{concurrency}-{index}.out", "wb"), stderr=subprocess.STDOUT)
    try:
        await asyncio.wait_for(proc.wait(), timeout=calls / MAX_RATE + 120)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        raise BenchError(f"SIPp did not finish; see {stack.work}")
    if not await stack.wait_idle():
        raise BenchError(f"channels left on the PBX after the run:\n{stack.pbx.cli('core show channels')}")
    wall = time.monotonic() - started
    await asyncio.sleep(0.5)          # the last events reach the observer
    cpu_after = stack.cpu()
    ok, sipp_failed = sipp_counts(stat_file)
    latencies = observer.latencies_ms()
    # A call fails if SIPp did not complete it, or if its digit or the prompt it leads to was never seen.
    failed = calls - min(ok, len(latencies))
    return RunResult(concurrency, calls, failed, sipp_failed, latencies,
                     (cpu_after[0] - cpu_before[0]) / calls, (cpu_after[1] - cpu_before[1]) / calls,
                     wall)


async def bench(concurrencies: list[int], repeats: int, work: Path, profile: Path | None = None) -> list[RunResult]:
    plan = work / "plan.yaml"           # the carrier's address follows the net
    plan.write_text((HERE / "plan.yaml").read_text().replace("127.0.30.", f"{NET}."))
    stack = Stack(work, PBX_IP, WEB_PORT, plan, HERE / "secrets.yaml")
    results = []
    try:
        await stack.start()
        observer = Observer(stack.settings.ari_url, stack.settings.ari_user, stack.settings.ari_password)
        await observer.start()
        try:
            # One warm-up call: first-use costs (imports, file cache) are not what we measure.
            await run_once(stack, observer, 1, 1, 0)
            spy = _profiler(stack.service.pid, profile) if profile and stack.service else None
            for n in concurrencies:
                for i in range(1, repeats + 1):
                    # At concurrency 1, a few calls in a row, so that p50/p99 mean something.
                    result = await run_once(stack, observer, n, max(n, 5), i)
                    print(f"N={n} run {i}: {result.calls} calls, {result.failed} failed, "
                          f"p50 {result.percentile(0.5)} ms, p99 {result.percentile(0.99)} ms, "
                          f"cpu/call service {result.service_cpu_per_call_s:.3f} s "
                          f"asterisk {result.asterisk_cpu_per_call_s:.3f} s, {result.wall_s:.0f} s",
                          file=sys.stderr, flush=True)
                    results.append(result)
            if spy is not None:
                spy.send_signal(signal.SIGINT)      # py-spy writes its file on Ctrl-C
                spy.wait(30)
        finally:
            await observer.stop()
    finally:
        stack.stop()
    return results


def _profiler(pid: int, out: Path) -> subprocess.Popen:
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return subprocess.Popen([py_spy, "record", "-p", str(pid), "-o", str(out), "-f", "raw", "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def summarize(results: list[RunResult]) -> list[dict]:
    """One row per concurrency: medians over the repeats of each run's figures."""
    rows = []
    for n in sorted({r.concurrency for r in results}):
        runs = [r for r in results if r.concurrency == n]

        def median(values: list[float | None]) -> float | None:
            present = [v for v in values if v is not None]
            return statistics.median(present) if present else None

        rows.append({
            "concurrency": n, "repeats": len(runs), "calls_per_run": runs[0].calls,
            "p50_ms": median([r.percentile(0.5) for r in runs]),
            "p99_ms": median([r.percentile(0.99) for r in runs]),
            "service_cpu_per_call_s": median([r.service_cpu_per_call_s for r in runs]),
            "asterisk_cpu_per_call_s": median([r.asterisk_cpu_per_call_s for r in runs]),
            # each run's own ratio, then their median: a load that comes and goes hits both sides of a run
            "cpu_ratio": median([r.service_cpu_per_call_s / r.asterisk_cpu_per_call_s
                                 for r in runs if r.asterisk_cpu_per_call_s]),
            "failed": [r.failed for r in runs],
        })
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 50, 200])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the summary and every run here")
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it (logs, SIPp stats)")
    parser.add_argument("--profile", type=Path, help="record the service with py-spy into this file")
    args = parser.parse_args()
    results = run_bench("bench_ivr", args.keep,
                        lambda work: bench(args.concurrency, args.repeats, work, args.profile))
    if results is None:
        return 1
    summary = summarize(results)
    if args.json:
        runs = [{**asdict(r), "p50_ms": r.percentile(0.5), "p99_ms": r.percentile(0.99)} for r in results]
        args.json.write_text(json.dumps({"summary": summary, "runs": runs}, indent=1))
    print("| concurrent calls | calls per run × runs | added latency p50 | p99 | "
          "service CPU / call | Asterisk CPU / call | service / Asterisk | failed calls per run |")
    print("|---|---|---|---|---|---|---|---|")
    for row in summary:
        print(f"| {row['concurrency']} | {row['calls_per_run']} × {row['repeats']} | "
              f"{_ms(row['p50_ms'])} | {_ms(row['p99_ms'])} | "
              f"{row['service_cpu_per_call_s'] * 1000:.0f} ms | "
              f"{row['asterisk_cpu_per_call_s'] * 1000:.0f} ms | "
              f"{_ratio(row['cpu_ratio'])} | {', '.join(map(str, row['failed']))} |")
    return 0


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f} ms"


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


if __name__ == "__main__":
    sys.exit(main())
