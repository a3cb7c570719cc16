"""Benchmark of a queue under load on the real stack: ~100 callers wait for 10 agents, once with our
service's queue node and once with Asterisk's app_queue (the reference), same phones, same callers.

    .venv/bin/python bench/bench_queue.py [--callers 100] [--rate 50] [--repeats 3] [--json FILE] [--keep DIR]

The agents are one SIPp UAS registered to the PBX as 201-210: each call rings 200 ms, is answered,
talks TALK_MS and the agent hangs up. The callers are SIPp as the carrier; each waits until the PBX
hangs up on it (its agent hung up). Measured per run:
- agent-offer latency: from the BYE an agent sent (its call is over; no wrap-up) to the next INVITE
  the PBX sent that agent, both as the kernel timestamped the packets on lo (a packet capture of
  the net: needs root), counted only when callers were still waiting at the BYE (arrived and not
  yet offered);
- CPU seconds per caller of the service and of Asterisk (/proc/<pid>/stat utime+stime);
- callers served (agents' answered calls), abandoned (callers whose patience ran out), wall time.

Everything runs on 127.0.32.x (PBX .1, carrier .2, app_queue callers .3, agents .11); all it
starts it stops.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
from bisect import bisect_left
from dataclasses import asdict, dataclass
from pathlib import Path

from stack import (HERE, BenchError, Capture, SipMessage, Sipp, Stack, measured, percentile,
                   register_phones, run_bench, scenario, sipp_counts)

from ivr.plan.loader import load_plan
from ivr.plan.model import QueueNode

PBX_IP, CARRIER_IP, REFERENCE_IP, AGENTS_IP = "127.0.32.1", "127.0.32.2", "127.0.32.3", "127.0.32.11"
WEB_PORT = 18132
PLAN, SECRETS = HERE / "plans_queue.yaml", HERE / "plans_secrets.yaml"
NUMBER = "+74951110300"
TALK_MS = 3000
PATIENCE_MS = 300_000
SLOW_MS = 1000                    # offers slower than this are counted apart
SYSTEMS = ("service", "app_queue")
# app_queue's strategy for each of ours (both ring one agent per offer).
APP_QUEUE_STRATEGY = {"longestidle": "leastrecent", "leastrecent": "leastrecent", "roundrobin": "rrmemory",
                      "linear": "linear", "fewestcalls": "fewestcalls", "random": "random", "ringall": "ringall"}


@dataclass(frozen=True)
class RunResult:
    system: str
    callers: int
    served: int                       # calls the agents answered
    abandoned: int                    # callers who hung up first (SIPp failed calls)
    latencies_ms: list[float]         # agent free -> its next INVITE, while callers waited
    freed_idle: int                   # agent BYEs with nobody waiting (not counted above)
    service_cpu_per_call_s: float
    asterisk_cpu_per_call_s: float
    wall_s: float

    @property
    def slow_offers(self) -> int:
        return sum(1 for ms in self.latencies_ms if ms > SLOW_MS)


def app_queue_config(node: QueueNode) -> dict[str, str]:
    """queues.conf, and what extensions.conf and pjsip.conf get appended, for the same queue on
    app_queue: callers from REFERENCE_IP enter Queue() instead of our Stasis app."""
    members = "".join(f"member => PJSIP/{ext}\n" for ext in node.agents)
    queues = f"""; Rendered by bench/bench_queue.py: the plan's queue `{node.id}` for app_queue.
[general]
persistentmembers = no
autofill = yes
shared_lastcall = yes

[{node.id}]
strategy = {APP_QUEUE_STRATEGY[node.strategy]}
musicclass = {node.music}
timeout = {node.agent_ring_seconds:.0f}
retry = 1
wrapuptime = {node.wrapup_seconds:.0f}
maxlen = {node.max_callers}
ringinuse = no
joinempty = yes
leavewhenempty = no
; position said on entry only (announce_every: 0 in the plan): app_queue also says it again
; whenever it changed, at most every min-announce-frequency seconds
announce-frequency = {node.announce_every or 3600:.0f}
min-announce-frequency = {node.announce_every or 3600:.0f}
announce-position = yes
announce-holdtime = no
{members}"""
    extensions = f"""
; Appended by bench/bench_queue.py: the reference callers go to app_queue.
[bench-app-queue]
exten => _[+0-9].,1,Answer()
 same => n,Queue({node.id})
 same => n,Hangup()
"""
    pjsip = f"""
; Appended by bench/bench_queue.py: the reference callers' carrier.
[bench-app-queue](media)
context = bench-app-queue
aors = bench-app-queue

[bench-app-queue]
type = aor
contact = sip:{REFERENCE_IP}

[bench-app-queue]
type = identify
endpoint = bench-app-queue
match = {REFERENCE_IP}
"""
    return {"queues.conf": queues, "extensions.conf": extensions, "pjsip.conf": pjsip}


def offer_latencies(messages: list[SipMessage], source: str) -> tuple[list[float], int, int]:
    """(latencies ms, BYEs with nobody waiting, calls answered) from the SIP messages of a run;
    `source` is the callers' address."""
    arrived: dict[str, float] = {}
    hung_up: dict[str, float] = {}
    for m in messages:                       # first sendings only, not retransmissions
        if m.src != source:
            continue
        if m.method == "INVITE" and m.first_line.startswith(f"INVITE sip:{NUMBER}@"):
            arrived.setdefault(m.call_id, m.at)
        elif m.method == "BYE":
            hung_up.setdefault(m.call_id, m.at)
    arrivals, gave_up = sorted(arrived.values()), sorted(hung_up.values())
    offers: list[float] = []
    seen: set[str] = set()
    byes: set[str] = set()
    per_agent: dict[str, list[tuple[float, str]]] = {}
    answered = 0
    for m in messages:
        if m.dst == AGENTS_IP and m.method == "INVITE" and m.call_id not in seen:  # not a re-INVITE
            seen.add(m.call_id)
            offers.append(m.at)
            per_agent.setdefault(m.to_user, []).append((m.at, "invite"))
        elif m.src == AGENTS_IP and m.method == "BYE" and m.call_id not in byes:  # not its retransmissions
            byes.add(m.call_id)
            per_agent.setdefault(m.from_user, []).append((m.at, "bye"))
            answered += 1
    offers.sort()

    def waiting(t: float) -> int:
        return bisect_left(arrivals, t) - bisect_left(offers, t) - bisect_left(gave_up, t)

    latencies, idle = [], 0
    for events in per_agent.values():
        events.sort()
        for (t, kind), following in zip(events, events[1:] + [(0.0, "")]):
            if kind != "bye":
                continue
            if following[1] == "invite" and waiting(t) > 0:
                latencies.append((following[0] - t) * 1000)
            else:
                idle += 1
    return latencies, idle, answered


async def run_once(stack: Stack, system: str, callers: int, rate: int, index: int) -> RunResult:
    tag = f"{system}-{index}"
    capture = Capture(PBX_IP.rsplit(".", 1)[0]).start()
    agents = await Sipp(["-sf", str(scenario("phone_answer.xml", stack.work, talk_ms=TALK_MS)),
                         "-i", AGENTS_IP, "-p", "5060", "-mi", AGENTS_IP, "-mp", "17000", "-trace_err", "-error_file", str(stack.work / f"{tag}-agents.errors")],
                        stack.rootfs, stack.work / f"{tag}-agents.out").start()
    await asyncio.sleep(0.5)          # bound to its socket before the first INVITE
    source = CARRIER_IP if system == "service" else REFERENCE_IP
    stat = stack.work / f"{tag}-callers.csv"
    caller = Sipp([f"{PBX_IP}:5060", "-sf", str(scenario("caller.xml", stack.work, patience_ms=PATIENCE_MS)),
                   "-s", NUMBER, "-key", "caller", f"+791610{index}", "-i", source, "-p", "5060",
                   "-mi", source, "-mp", "16000", "-m", str(callers), "-l", str(callers), "-r", str(rate),
                   "-trace_stat", "-stf", str(stat), "-fd", "1",
                   "-trace_err", "-error_file", str(stack.work / f"{tag}-callers.errors")],
                  stack.rootfs, stack.work / f"{tag}-callers.out")

    async def calls() -> tuple[int, int]:
        await caller.start()
        await caller.wait(PATIENCE_MS / 1000 + callers * 10 + 120)
        if not await stack.wait_idle():
            raise BenchError(f"channels left on the PBX after the run:\n{stack.pbx.cli('core show channels')}")
        return sipp_counts(stat)

    try:
        (_, failed), wall, service_cpu, asterisk_cpu = await measured(stack, calls)
    finally:
        await agents.stop()
        messages = capture.stop()
    latencies, idle, served = offer_latencies(messages, source)
    return RunResult(system, callers, served, failed, latencies, idle, service_cpu / callers,
                     asterisk_cpu / callers, wall)


async def bench_system(system: str, node: QueueNode, passwords: dict[str, str], callers: int, rate: int,
                       repeats: int, work: Path) -> list[RunResult]:
    work.mkdir(parents=True, exist_ok=True)
    stack = Stack(work, PBX_IP, WEB_PORT, PLAN, SECRETS, name=f"pbx-bench-{system}", isolated=True)
    results = []
    try:
        if system == "service":
            await stack.start()
        else:
            # No service: nothing re-renders the configuration, so the additions stay.
            stack.render()
            for name, text in app_queue_config(node).items():
                path = stack.pbx.etc / name
                path.write_text((path.read_text() if name != "queues.conf" else "") + text)
            stack.start_pbx()
        await register_phones(stack.rootfs, PBX_IP, AGENTS_IP, passwords, work)
        # One warm-up call: first-use costs (imports, file cache) are not what we measure.
        await run_once(stack, system, 1, 1, 0)
        for index in range(1, repeats + 1):
            result = await run_once(stack, system, callers, rate, index)
            print(f"{system} run {index}: {result.callers} callers, served {result.served}, abandoned "
                  f"{result.abandoned}, offer latency p50 {_num(percentile(result.latencies_ms, 0.5))} ms "
                  f"p99 {_num(percentile(result.latencies_ms, 0.99))} ms ({len(result.latencies_ms)} offers), "
                  f"cpu/call service {result.service_cpu_per_call_s * 1000:.0f} ms "
                  f"asterisk {result.asterisk_cpu_per_call_s * 1000:.0f} ms, {result.wall_s:.0f} s",
                  file=sys.stderr, flush=True)
            results.append(result)
    finally:
        stack.stop()
    return results


async def bench(callers: int, rate: int, repeats: int, work: Path) -> list[RunResult]:
    plan = load_plan(PLAN, secrets_path=SECRETS)
    node = plan.nodes[plan.numbers[NUMBER].entry]
    assert isinstance(node, QueueNode)
    passwords = {ext: plan.staff[ext].password for ext in node.agents}
    results = []
    for system in SYSTEMS:
        results += await bench_system(system, node, passwords, callers, rate, repeats, work / system)
    return results


def summarize(results: list[RunResult]) -> list[dict]:
    """One row per system: medians over the repeats of each run's figures."""
    rows = []
    for system in SYSTEMS:
        runs = [r for r in results if r.system == system]
        if not runs:
            continue

        def median(values: list[float | None]) -> float | None:
            present = [v for v in values if v is not None]
            return statistics.median(present) if present else None

        rows.append({
            "system": system, "repeats": len(runs), "callers": runs[0].callers,
            "p50_ms": median([percentile(r.latencies_ms, 0.5) for r in runs]),
            "p99_ms": median([percentile(r.latencies_ms, 0.99) for r in runs]),
            "max_ms": median([max(r.latencies_ms, default=None) for r in runs]),
            "slow": [r.slow_offers for r in runs],
            "offers": [len(r.latencies_ms) for r in runs],
            "service_cpu_per_call_s": median([r.service_cpu_per_call_s for r in runs]),
            "asterisk_cpu_per_call_s": median([r.asterisk_cpu_per_call_s for r in runs]),
            "served": [r.served for r in runs], "abandoned": [r.abandoned for r in runs],
            "wall_s": median([r.wall_s for r in runs]),
        })
    return rows


def markdown(results: list[RunResult], rate: int) -> str:
    rows = summarize(results)
    callers = rows[0]["callers"] if rows else 0
    lines = [
        "## Queue under load: our queue node and app_queue (`bench/bench_queue.py`)",
        "",
        f"{callers} callers (SIPp as the carrier, {rate} new calls per second, all waiting at once) "
        "call a queue of 10 agents on our PBX Asterisk 22 at 127.0.32.1. The agents are one SIPp UAS "
        "registered as 201-210: every INVITE rings 200 ms, is answered, talks "
        f"{TALK_MS / 1000:.0f} s and the agent hangs up; no wrap-up, agent ring time 15 s, "
        "longest-idle first, music on hold, position said on entry only. **service**: "
        "`bench/plans_queue.yaml`'s queue node in our service (`ari_app.py`, SQLite). **app_queue**: "
        "the same queue in Asterisk's `app_queue` (`strategy = leastrecent`, `wrapuptime = 0`, "
        "`timeout = 15`, `ringinuse = no`, `autofill = yes`, `announce-position = yes` on entry "
        "only (`announce-frequency` and `min-announce-frequency` 3600: by default app_queue says "
        "the position again whenever it changed, every 15 s, and a caller hearing it is not "
        "offered an agent until it ends), `retry = 1` instead of the default 5), same PBX and "
        "agents, service not running, "
        "callers entering `Answer(), Queue()` from their own carrier address. "
        "**Offer latency**: from the BYE an agent sent to the next INVITE that agent received, "
        "both as the kernel timestamped the packets on the loopback interface (a packet capture of "
        "the net, so SIPp's own scheduling does not count), counted only when at "
        "the BYE some caller was waiting (its INVITE seen and no agent offered to it yet); an "
        "agent who frees up while every waiting caller is already being offered another agent is "
        "counted with the time until its next offer. **CPU per caller**: utime + stime from "
        "`/proc/<pid>/stat` of the service and of Asterisk from the first call to the last channel "
        "gone, divided by the callers; Asterisk's figure includes the music on hold of all waiting "
        "callers. **Served**: calls the agents answered; **abandoned**: callers not hung up on "
        f"within {PATIENCE_MS // 1000} s. One warm-up call precedes each system's runs; p50/p99 "
        "are nearest-rank per run, the table gives the median over the runs. How app_queue "
        "offers: a waiting caller's own thread checks the line once a second (`RECHECK`), so its "
        "latency spreads over 0-1 s; a caller still hearing its entry announcement is offered an "
        "agent only when the announcement ends (ours cuts the announcement short for an offer).",
        "",
        "| queue | callers × runs | offer latency p50 | p99 | max | offers over 1 s per run | "
        "service CPU / caller | Asterisk CPU / caller | served per run | abandoned per run | wall (median) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(f"| {row['system']} | {row['callers']} × {row['repeats']} | {_num(row['p50_ms'])} ms | "
                     f"{_num(row['p99_ms'])} ms | {_num(row['max_ms'])} ms | "
                     f"{', '.join(map(str, row['slow']))} | "
                     f"{_cpu(row['system'], row['service_cpu_per_call_s'], ' ms')} | "
                     f"{row['asterisk_cpu_per_call_s'] * 1000:.0f} ms | "
                     f"{', '.join(map(str, row['served']))} | {', '.join(map(str, row['abandoned']))} | "
                     f"{row['wall_s']:.0f} s |")
    lines += ["", "Every run:", "",
              "| queue | callers | served | abandoned | offers measured | agent freed, nobody waiting | "
              "p50 ms | p99 ms | over 1 s | service CPU ms/caller | Asterisk CPU ms/caller | wall s |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r.system} | {r.callers} | {r.served} | {r.abandoned} | {len(r.latencies_ms)} | "
                     f"{r.freed_idle} | {_num(percentile(r.latencies_ms, 0.5))} | "
                     f"{_num(percentile(r.latencies_ms, 0.99))} | {r.slow_offers} | "
                     f"{_cpu(r.system, r.service_cpu_per_call_s)} | "
                     f"{r.asterisk_cpu_per_call_s * 1000:.0f} | {r.wall_s:.0f} |")
    return "\n".join(lines)


def _cpu(system: str, seconds: float, unit: str = "") -> str:
    """The service's CPU; "—" for app_queue, where the service does not run."""
    return "—" if system != "service" else f"{seconds * 1000:.0f}{unit}"


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--callers", type=int, default=100, help="callers per run")
    parser.add_argument("--rate", type=int, default=50, help="new callers per second")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each system")
    parser.add_argument("--json", type=Path, help="also write the summary and every run here")
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it (logs, SIPp errors)")
    args = parser.parse_args()
    results = run_bench("bench_queue", args.keep, lambda work: bench(args.callers, args.rate, args.repeats, work))
    if results is None:
        return 1
    if args.json:
        args.json.write_text(json.dumps({"summary": summarize(results),
                                         "runs": [asdict(r) for r in results]}, indent=1))
    print(markdown(results, args.rate))
    return 0


if __name__ == "__main__":
    sys.exit(main())
