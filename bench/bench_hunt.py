"""Benchmark of hunt-group precision on the real stack: a sequential group of four staff phones,
three that ring and never answer and one that answers; configured ring time per member against
the time each phone actually rang (INVITE to CANCEL, as the kernel timestamped the packets on lo),
and the gap between one phone's CANCEL and the next phone's INVITE. Needs root (packet capture).

    .venv/bin/python bench/bench_hunt.py [--calls 100] [--concurrency 5] [--json FILE] [--keep DIR]

The phones are SIPp UAS processes registered to the PBX (101-103 answer 180 and wait for the
CANCEL, 104 answers after 200 ms, talks 0.5 s and hangs up); SIPp as the carrier places the calls.
Two runs: ring time `rings: 2` with the plan's ring compressed to 1 s, and `seconds: 3`.

Everything runs on 127.0.31.x (PBX .1, carrier .2, phones .11-.14); all it starts it stops.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from stack import (HERE, SIPP_DIR, BenchError, Capture, SipMessage, Sipp, Stack, measured, percentile,
                   register_phones, run_bench, scenario, sipp_counts)

from ivr.plan.loader import load_plan
from ivr.plan.model import HuntNode

PBX_IP, CARRIER_IP = "127.0.31.1", "127.0.31.2"
WEB_PORT = 18131
PLAN, SECRETS = HERE / "plans_hunt.yaml", HERE / "plans_secrets.yaml"
PHONES = {"101": "127.0.31.11", "102": "127.0.31.12", "103": "127.0.31.13", "104": "127.0.31.14"}
ANSWERS = "104"                   # the last member answers; the others never do
TALK_MS = 500
# (name, company number, what the plan says) of each run; the ring time itself is read from the plan.
RUNS = (("rings", "+74951110200", "rings: 2 (1 s per ring)"),
        ("seconds", "+74951110201", "seconds: 3"))
PATIENCE_MS = 60_000              # a caller not hung up on by then failed
WARMUP_PREFIX = "+7916009"


@dataclass(frozen=True)
class RunResult:
    run: str
    plan_says: str
    calls: int
    complete: int                                  # calls whose four INVITEs and three CANCELs were seen
    sipp_failed: int
    configured_s: dict[str, float]                 # member -> ring time of the plan
    rang_ms: dict[str, list[float]]                # member -> INVITE-to-CANCEL per call
    gaps_ms: dict[str, list[float]]                # "101→102" -> CANCEL of 101 to INVITE of 102 per call
    service_cpu_per_call_s: float
    asterisk_cpu_per_call_s: float
    wall_s: float

    def deviations_ms(self, member: str) -> list[float]:
        return [ms - self.configured_s[member] * 1000 for ms in self.rang_ms[member]]


def ring_times(node: HuntNode) -> dict[str, float]:
    return {m.target: m.ring_seconds for m in node.members}


async def start_phones(stack: Stack, tag: str) -> dict[str, Sipp]:
    phones = {}
    for ext, ip in PHONES.items():
        sf = scenario("phone_answer.xml", stack.work, talk_ms=TALK_MS) if ext == ANSWERS \
            else SIPP_DIR / "phone_noanswer.xml"
        args = ["-sf", str(sf), "-i", ip, "-p", "5060", "-mi", ip, "-mp", "17000",
                "-trace_err", "-error_file", str(stack.work / f"{tag}-{ext}.errors")]
        phones[ext] = await Sipp(args, stack.rootfs, stack.work / f"{tag}-{ext}.out").start()
    await asyncio.sleep(0.5)          # bound to their sockets before the first INVITE
    return phones


async def place_calls(stack: Stack, number: str, prefix: str, calls: int, concurrency: int,
                      tag: str) -> tuple[int, int]:
    stat = stack.work / f"{tag}-caller.csv"
    caller = Sipp([f"{PBX_IP}:5060", "-sf", str(scenario("caller.xml", stack.work, patience_ms=PATIENCE_MS)), "-s", number,
                   "-key", "caller", prefix, "-i", CARRIER_IP, "-p", "5060", "-mi", CARRIER_IP, "-mp", "16000",
                   "-m", str(calls), "-l", str(concurrency), "-r", "1",
                   "-trace_stat", "-stf", str(stat), "-fd", "1",
                   "-trace_err", "-error_file", str(stack.work / f"{tag}-caller.errors")],
                  stack.rootfs, stack.work / f"{tag}-caller.out")
    await caller.start()
    await caller.wait(calls * 30 / concurrency + 120)
    if not await stack.wait_idle():
        raise BenchError(f"channels left on the PBX after the run:\n{stack.pbx.cli('core show channels')}")
    return sipp_counts(stat)


def analyse(messages: list[SipMessage], prefix: str, order: list[str]) -> tuple[int, dict, dict]:
    """Per call (the caller's number in each INVITE's From): when each phone's INVITE and CANCEL
    went out to it. Returns (complete calls, member -> rang ms, pair -> gap ms)."""
    phone_of = {PHONES[ext]: ext for ext in order}
    invites: dict[str, dict[str, float]] = {}
    cancels: dict[str, dict[str, float]] = {}
    for m in messages:
        ext = phone_of.get(m.dst)
        if ext is None or not m.from_user.startswith(prefix):
            continue
        if m.method == "INVITE":
            invites.setdefault(m.from_user, {}).setdefault(ext, m.at)     # not its retransmissions
        elif m.method == "CANCEL":
            cancels.setdefault(m.from_user, {}).setdefault(ext, m.at)
    rang: dict[str, list[float]] = {ext: [] for ext in order[:-1]}
    gaps: dict[str, list[float]] = {f"{a}→{b}": [] for a, b in zip(order, order[1:])}
    complete = 0
    for call, inv in invites.items():
        cancel = cancels.get(call, {})
        if set(inv) != set(order) or set(cancel) != set(order[:-1]):
            continue
        complete += 1
        for ext in order[:-1]:
            rang[ext].append((cancel[ext] - inv[ext]) * 1000)
        for a, b in zip(order, order[1:]):
            gaps[f"{a}→{b}"].append((inv[b] - cancel[a]) * 1000)
    return complete, rang, gaps


async def run_once(stack: Stack, node: HuntNode, name: str, plan_says: str, number: str, prefix: str,
                   calls: int, concurrency: int) -> RunResult:
    tag = f"run-{name}"
    capture = Capture(PBX_IP.rsplit(".", 1)[0]).start()
    try:
        phones = await start_phones(stack, tag)
        try:
            (ok, failed), wall, service_cpu, asterisk_cpu = await measured(
                stack, lambda: place_calls(stack, number, prefix, calls, concurrency, tag))
        finally:
            for phone in phones.values():
                await phone.stop()
    finally:
        messages = capture.stop()
    complete, rang, gaps = analyse(messages, prefix, [m.target for m in node.members])
    return RunResult(name, plan_says, calls, complete, failed, ring_times(node), rang, gaps,
                     service_cpu / calls, asterisk_cpu / calls, wall)


async def bench(calls: int, concurrency: int, work: Path) -> list[RunResult]:
    plan = load_plan(PLAN, secrets_path=SECRETS)
    stack = Stack(work, PBX_IP, WEB_PORT, PLAN, SECRETS, name="pbx-bench-hunt", isolated=True)
    results = []
    try:
        await stack.start()
        for ext, ip in PHONES.items():
            await register_phones(stack.rootfs, PBX_IP, ip, {ext: plan.staff[ext].password}, work)
        for index, (name, number, plan_says) in enumerate(RUNS, start=1):
            node = plan.nodes[plan.numbers[number].entry]
            assert isinstance(node, HuntNode)
            if index == 1:
                # One warm-up call: first-use costs (imports, file cache) are not what we measure.
                await run_once(stack, node, "warmup", plan_says, number, WARMUP_PREFIX, 1, 1)
            result = await run_once(stack, node, name, plan_says, number, f"+791600{index}", calls, concurrency)
            print(f"{name}: {result.calls} calls, {result.complete} complete, SIPp failed {result.sipp_failed}, "
                  + ", ".join(f"{ext} dev p50 {_num(percentile(result.deviations_ms(ext), 0.5))} ms"
                              for ext in result.rang_ms)
                  + f", {result.wall_s:.0f} s", file=sys.stderr, flush=True)
            results.append(result)
    finally:
        stack.stop()
    return results


def markdown(results: list[RunResult], concurrency: int) -> str:
    calls = results[0].calls if results else 0
    lines = [
        "## Hunt-group precision on the real stack (`bench/bench_hunt.py`)",
        "",
        f"A sequential hunt group of four staff phones on our PBX Asterisk 22 at {PBX_IP}, with the "
        "service (`ari_app.py`, SQLite) connected over ARI. The phones are SIPp UAS processes "
        "registered to the PBX (101, 102, 103 at 127.0.31.11-13 answer every INVITE with 180 and "
        f"never answer; 104 at 127.0.31.14 answers after 200 ms, talks {TALK_MS} ms and hangs up). "
        f"SIPp as the carrier at {CARRIER_IP} places {calls} calls per run, a new one each second, at "
        f"most {concurrency} at once (`ring_busy: yes`, so parallel calls ring the same phones). "
        "Two runs: `rings: 2` with one ring compressed to 1 s (`ring_seconds: 1`), and `seconds: 3`. "
        "**Rang** is the time from the INVITE to the CANCEL the PBX sent the phone, both as the "
        "kernel timestamped the packets on the loopback interface (a packet capture of the net, so "
        "neither SIPp's nor our scheduling delays count); **deviation** = rang − configured ring "
        "time. **Gap** is from the CANCEL to one phone to the INVITE to the next phone of the same "
        "call (negative would be overlap; the "
        "caller hears one continuous ringback playback across it). Calls are told apart by the "
        "caller's number, which the PBX puts in each member INVITE's From. A call counts as "
        "complete when all four INVITEs and three CANCELs were seen. A negative minimum is real: "
        "the service counts a ring from its dial request's return and ends it with a hangup "
        "request, and Asterisk sends the INVITE and the CANCEL from its SIP threads a few ms "
        "later, so under load a CANCEL can leave after the next phone's INVITE. CPU: utime + stime from "
        "`/proc/<pid>/stat` of the service and of Asterisk over the run, divided by the calls. "
        "One warm-up call precedes the runs. Percentiles are nearest-rank over the run's calls.",
        "",
        "| ring time (plan) | member | configured | rang p50 | deviation p50 | p99 | max | min |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        for ext, rang in r.rang_ms.items():
            dev = r.deviations_ms(ext)
            lines.append(f"| `{r.plan_says}` | {ext} | {r.configured_s[ext] * 1000:.0f} ms | "
                         f"{_num(percentile(rang, 0.5))} ms | {_num(percentile(dev, 0.5), '+')} ms | "
                         f"{_num(percentile(dev, 0.99), '+')} ms | {_num(max(dev, default=None), '+')} ms | "
                         f"{_num(min(dev, default=None), '+')} ms |")
    lines += ["", "| ring time (plan) | between | gap p50 | p99 | max | min |", "|---|---|---|---|---|---|"]
    for r in results:
        for pair, gaps in r.gaps_ms.items():
            lines.append(f"| `{r.plan_says}` | {pair} | {_num(percentile(gaps, 0.5))} ms | "
                         f"{_num(percentile(gaps, 0.99))} ms | {_num(max(gaps, default=None))} ms | "
                         f"{_num(min(gaps, default=None))} ms |")
    lines += ["", "| ring time (plan) | calls | complete | SIPp failed | service CPU / call | "
              "Asterisk CPU / call | wall |", "|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| `{r.plan_says}` | {r.calls} | {r.complete} | {r.sipp_failed} | "
                     f"{r.service_cpu_per_call_s * 1000:.0f} ms | {r.asterisk_cpu_per_call_s * 1000:.0f} ms | "
                     f"{r.wall_s:.0f} s |")
    return "\n".join(lines)


def _num(value: float | None, sign: str = "") -> str:
    return "n/a" if value is None else f"{value:{sign}.0f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100, help="calls per run")
    parser.add_argument("--concurrency", type=int, default=5, help="calls at once")
    parser.add_argument("--json", type=Path, help="also write every run's raw figures here")
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it (logs, SIPp errors)")
    args = parser.parse_args()
    results = run_bench("bench_hunt", args.keep, lambda work: bench(args.calls, args.concurrency, work))
    if results is None:
        return 1
    if args.json:
        summary = [{"run": r.run, "member": ext, "configured_ms": r.configured_s[ext] * 1000,
                    "deviation_p50_ms": percentile(r.deviations_ms(ext), 0.5),
                    "deviation_p99_ms": percentile(r.deviations_ms(ext), 0.99),
                    "deviation_max_ms": max(r.deviations_ms(ext), default=None)}
                   for r in results for ext in r.rang_ms]
        args.json.write_text(json.dumps({"summary": summary, "runs": [asdict(r) for r in results]}, indent=1))
    print(markdown(results, args.concurrency))
    return 0


if __name__ == "__main__":
    sys.exit(main())
