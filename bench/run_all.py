"""Run every benchmark (the IVR on the real stack, the numbering core, the `ivr` command's start,
hunting, the queue against app_queue, campaigns, the cluster) one after the other and write
docs/benchmarks.md with the machine and the date.

    .venv/bin/python bench/run_all.py [--repeats 3] [--ported 10000000] [--out docs/benchmarks.md] [--quick]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
SECTIONS = ("bench_hunt.py", "bench_queue.py", "bench_campaign.py", "bench_cluster.py")
# Everything below this line of the output file is written by hand (before/after measurements) and kept.
NOTES_MARKER = "<!-- make bench rewrites everything above this line and keeps everything below it. -->"
# --quick: every benchmark at a small size, to check the whole chain in a few minutes (not for numbers).
QUICK = {"bench_ivr.py": ["--concurrency", "5"], "bench_numbering.py": ["--def-rows", "2000", "--abc-rows",
         "20000", "--lookups", "20000"], "bench_cli.py": ["--runs", "3", "--abc-rows", "20000", "--def-rows", "2000"],
         "bench_hunt.py": ["--calls", "10"],
         "bench_queue.py": ["--callers", "20", "--repeats", "1"],
         "bench_campaign.py": ["--rows", "3000", "--calls", "24", "--concurrency", "8", "--repeats", "1", "--no-postgres"],
         "bench_cluster.py": ["--calls", "10", "--concurrency", "5", "--hold", "1"]}


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "unknown CPU")
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
    return (f"{cpu}, {os.cpu_count()} cores, {mem_kb / 2**20:.1f} GB RAM, Linux {platform.release()}, "
            f"Python {platform.python_version()}")


def run(command: list[str]) -> str:
    """Run one benchmark, its progress on our stderr; its Markdown table (stdout) is returned."""
    print("$", " ".join(command), file=sys.stderr, flush=True)
    proc = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"run_all: {command[1]} failed with exit code {proc.returncode}")
    return proc.stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs of each IVR concurrency")
    parser.add_argument("--ported", type=int, default=10_000_000, help="numbers in the ported dump")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--quick", action="store_true", help="small sizes, one run each: checks the chain")
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.ported = 1, 100_000

    def sized(script: str) -> list[str]:
        return [sys.executable, str(BENCH / script), *(QUICK[script] if args.quick else [])]

    started = datetime.now(timezone.utc)
    with tempfile.TemporaryDirectory(prefix="bench-all-") as tmp:
        runs_file = Path(tmp) / "ivr.json"
        ivr_table = run([*sized("bench_ivr.py"), "--repeats", str(args.repeats), "--json", str(runs_file)])
        runs = json.loads(runs_file.read_text())["runs"]
    numbering_table = run([*sized("bench_numbering.py"), "--ported", str(args.ported)])
    cli_table = run(sized("bench_cli.py"))
    # Each of these prints its own complete section (heading, method, tables).
    sections = "\n\n".join(run(sized(script)) for script in SECTIONS)
    per_run = "\n".join(
        f"| {r['concurrency']} | {r['calls']} | {r['failed']} | "
        f"{_ms(r['p50_ms'])} | {_ms(r['p99_ms'])} | "
        f"{r['service_cpu_per_call_s'] * 1000:.0f} | {r['asterisk_cpu_per_call_s'] * 1000:.0f} | "
        f"{r['wall_s']:.0f} |" for r in runs)

    notes = kept_notes(args.out)
    args.out.write_text(f"""# Benchmarks

Measured on {started:%Y-%m-%d %H:%M} UTC, on {machine()}.
The machine is shared with other work and noisy: quote the medians, not single runs. Regenerate
this file with `make bench` (`bench/run_all.py`).

## Inbound IVR on the real stack (`bench/bench_ivr.py`)

SIPp 3.8 (from the bundled Asterisk root filesystem) plays the carrier at 127.0.30.11 and places
calls to the company number of `bench/plan.yaml` on our PBX Asterisk 22 at 127.0.30.1, with the
IVR service (`ari_app.py`, SQLite) connected over ARI. Each call hears the greeting (3.2 s), and
5 s after answer, while the menu prompt plays, sends digit 1 as RFC 2833 events (sip-tester's
`dtmf_2833_1.pcap`); the menu stops its prompt and plays `all-busy`, then the plan hangs up and
SIPp answers the BYE; a call lasts about 9.5 s. New calls start at up to 50 per second;
"concurrent calls" is SIPp's limit of simultaneous calls: at 1, five calls in a row; otherwise as
many calls as the limit, so at 200 all calls are up together for about 5 s. One warm-up call
precedes the runs.

- **Added latency**: from Asterisk's `ChannelDtmfReceived` event of the digit to its
  `PlaybackStarted` event of `all-busy` on the same channel. Both are timestamped by Asterisk
  (millisecond resolution) and read by a second, passive ARI application subscribed to all
  channels, so the service is not changed for the benchmark. The span covers the event reaching
  the service, the flow's decision, stopping the menu prompt and the play request being accepted
  and started by Asterisk. p50/p99 are per run; the table gives the median over the runs.
- **CPU per call**: utime + stime from `/proc/<pid>/stat` of the service process and of the
  Asterisk process, before and after a run (until the PBX has no channel left), divided by the
  calls. Asterisk's figure includes its RTP (each call streams about 10 s of prompt audio), the
  observer's event feed, and its idle background (timers, about 10 ms per second of wall time),
  which is why it looks higher at 1 call: those runs last 50 s for 5 calls.
- **Failed calls**: calls SIPp did not complete (no BYE from the PBX within 30 s, SIP errors), or
  whose digit or following prompt Asterisk never reported.

Medians over the runs:

{ivr_table}

Every run:

| concurrent calls | calls | failed | p50 ms | p99 ms | service CPU ms/call | Asterisk CPU ms/call | wall s |
|---|---|---|---|---|---|---|---|
{per_run}

## Numbering core (`bench/bench_numbering.py`)

{numbering_table}

## Start of the `ivr` command (`bench/bench_cli.py`)

{cli_table}

{sections}
{notes}""")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


def kept_notes(out: Path) -> str:
    """The hand-written part of an existing output file, from its marker on ("" if it has none)."""
    text = out.read_text(encoding="utf-8") if out.exists() else ""
    at = text.find(NOTES_MARKER)
    return "" if at < 0 else "\n" + text[at:]


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f}"


if __name__ == "__main__":
    sys.exit(main())
