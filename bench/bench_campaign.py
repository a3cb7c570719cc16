"""Benchmark of outbound campaigns: scheduling a large passenger list, and the dialer on the real
stack with SIPp as the carrier answering every call.

    .venv/bin/python bench/bench_campaign.py [--rows 100000] [--calls 400] [--concurrency 50 150]
        [--repeats 3] [--no-postgres] [--json FILE] [--keep DIR]

Scheduling (each repeat in a fresh process and a fresh database, so memory figures are its own):
- import: read_csv on a generated CSV of --rows passengers (the code of `ivr campaign import`);
- planning: each passenger's callee zone (carrier lookup's region) and first call time
  (scheduler.callee_timezone + plan_first), alone, as add_passengers does it before storing;
- create: create_campaign (planning again + the rows' INSERT), as the HTTP API does it;
- first claim, and 20 claims after it: store.claim of the profile's max_concurrent rows, with the
  do-not-call update and the pick query it runs also timed alone;
- peak RSS of each phase (VmHWM reset before it) and tracemalloc's peak in one extra run.

Dialer (PBX Asterisk at 127.0.33.1 and the service on its own SQLite database; SIPp at 127.0.33.11
is the carrier's trunk and answers every call): per run, a campaign of --calls rows with the
profile's max_concurrent at each --concurrency and a calls-per-second ceiling of 1000. A passive
ARI application sees every campaign channel's ChannelCreated and ChannelDestroyed (Asterisk's
timestamps); SIPp logs each INVITE's arrival (gettimeofday). Both clocks are this machine's.

Everything runs on 127.0.33.x so it can run beside `make run`, the tests and bench_ivr.py;
IVR_BENCH_NET (e.g. 127.0.46) and IVR_BENCH_WEB_PORT move it, as in bench_ivr.py.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo


HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from campaign_data import MOBILE, passengers_csv, write_registry  # noqa: E402
from stack import AriObserver, BenchError, Sipp, Stack, ari_time, percentile, sipp_counts  # noqa: E402

from ivr.campaigns import scheduler  # noqa: E402
from ivr.campaigns.channel_ids import attempt_channel_id  # noqa: E402
from ivr.campaigns.config import load_profiles_text  # noqa: E402
from ivr.campaigns.importer import read_csv  # noqa: E402
from ivr.campaigns.model import Passenger  # noqa: E402
from ivr.campaigns.service import create_campaign  # noqa: E402
from ivr.campaigns.store import CampaignStore  # noqa: E402
from ivr.plan.loader import load_plan  # noqa: E402
from ivr.store.db import open_database  # noqa: E402

NET = os.environ.get("IVR_BENCH_NET", "127.0.33")
PBX_IP, CARRIER_IP = f"{NET}.1", f"{NET}.11"
WEB_PORT = int(os.environ.get("IVR_BENCH_WEB_PORT", "18133"))
# Wednesday 07:30 in Moscow: callees east of Moscow (Novosibirsk 11:30, Vladivostok 14:30) may be
# called at once, those in Moscow and Kaliningrad only from 09:00 their time.
SCHEDULE_NOW = datetime.fromisoformat("2026-11-25T07:30:00+03:00")
STEADY_CLAIMS = 20
MAX_CPS = 1000
ROUTES = ("Москва — Тверь", "Новосибирск — Томск", "Владивосток — Находка", "Калининград — Советск")
OPERATORS_FILE = ROOT / "config" / "numbering" / "operators.yaml"
SCHEDULE_PROFILE = """
profiles:
  confirm:
    flow: confirm
    hours: {daily: "09:00-21:00"}
    deadline_hours: 3
    digits: {"1": confirm, "2": cancel, "0": repeat}
    pacing: {max_concurrent: 10, reserve_inbound: 1, calls_per_second: 5}
"""
DIALER_PROFILE = """
  bench{n}:
    flow: confirm
    hours: {{daily: "00:00-24:00"}}
    deadline_hours: 1
    ring_seconds: 10
    answer_timeout: 5
    max_attempts: 1
    digits: {{"1": confirm, "2": cancel, "0": repeat}}
    pacing: {{max_concurrent: {n}, reserve_inbound: 0, calls_per_second: {cps}}}
"""


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def median(values: list) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


# ---------------------------------------------------------------- scheduling 100,000 rows

def memory_mb() -> dict[str, float]:
    status = Path("/proc/self/status").read_text().splitlines()
    values = {ln.split(":")[0]: int(ln.split()[1]) / 1024 for ln in status if ln.startswith(("VmRSS", "VmHWM"))}
    return {"rss_mb": values["VmRSS"], "peak_mb": values["VmHWM"]}


def reset_peak() -> None:
    """Start a new peak-RSS window (Linux: "5" to clear_refs resets VmHWM to the current RSS)."""
    Path("/proc/self/clear_refs").write_text("5")
    if tracemalloc.is_tracing():
        tracemalloc.reset_peak()


class Phase:
    """Wall time, peak RSS (and tracemalloc's peak when tracing) of one block."""

    def __init__(self, results: dict, name: str):
        self.results, self.name = results, name

    def __enter__(self) -> Phase:
        reset_peak()
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        seconds = time.perf_counter() - self.started
        mem = memory_mb()
        entry = {"s": seconds, "peak_rss_mb": mem["peak_mb"], "rss_after_mb": mem["rss_mb"]}
        if tracemalloc.is_tracing():
            entry["traced_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        self.results[self.name] = entry


async def schedule_once(url: str, csv_path: Path, numbering: Path) -> dict:
    """One import + planning + claims of the CSV on a fresh database; every figure of one repeat."""
    from ivr.routing.carriers import load_carrier_table
    from ivr.routing.lookup import CarrierLookup
    plan = load_plan(HERE / "plan.yaml", secrets_path=HERE / "secrets.yaml")
    profile = load_profiles_text(SCHEDULE_PROFILE, "bench", plan)["confirm"]
    now = SCHEDULE_NOW
    out: dict = {"base_rss_mb": memory_mb()["rss_mb"]}
    phases: dict = {}
    with Phase(phases, "import"):
        text = csv_path.read_text(encoding="utf-8-sig")
        result = read_csv(text, plan.country, plan.timezone, plan.languages)
        del text
    out.update(rows_read=result.rows_read, passengers=len(result.passengers), refused=result.refused,
               merged=result.merged)
    lookup = CarrierLookup(numbering, load_carrier_table(OPERATORS_FILE))
    with Phase(phases, "planning"):
        holidays = scheduler.holidays_of(plan, profile)
        planned = []
        for p in result.passengers:
            zone = scheduler.callee_timezone(p.phone, plan, lookup)
            planned.append((zone, scheduler.plan_first(p, zone, profile, holidays, now)))
    out["zones"] = dict(Counter(z for z, _ in planned).most_common())
    out["due_now"] = sum(1 for _, d in planned if not d.final and d.next_at <= now)
    out["final_at_planning"] = dict(Counter(d.result for _, d in planned if d.final))
    del planned
    db = await open_database(url)
    try:
        store = CampaignStore(db)
        with Phase(phases, "create"):
            campaign, added = await create_campaign(store, "bench", profile, plan, result.passengers, now,
                                                    lookup)
        out["added"] = added
        del result
        await store.change(campaign.id, "start", now)
        limit = profile.pacing.max_concurrent

        def claim():
            return store.claim(campaign.id, "bench", now, limit,
                               channel_id_for=lambda row: attempt_channel_id("", campaign.id, row.id, row.attempts),
                               trunk_for=lambda row: "default",
                               expired=lambda row: (d := scheduler.deadline(row.passenger, profile)) is not None
                               and now > d)
        with Phase(phases, "first_claim"):
            first = await claim()
        out["first_claim_rows"] = len(first)
        steady, pick = [], []
        for _ in range(STEADY_CLAIMS):
            started = time.perf_counter()
            await claim()
            steady.append(time.perf_counter() - started)
            pick.append(await _time_pick(store, campaign.id, now, limit))
        out.update(claim_s=statistics.median(steady), pick_s=statistics.median(pick), claim_limit=limit)
    finally:
        await db.close()
    if url.startswith("sqlite"):
        out["db_mb"] = Path(url.split("///", 1)[1]).stat().st_size / 2**20
    out["phases"] = phases
    return out


async def _time_pick(store: CampaignStore, campaign_id: int, now: datetime, limit: int) -> float:
    """store.claim's pick of due rows (CampaignStore.pick), alone (a plain SELECT, nothing marked)."""
    started = time.perf_counter()
    async with store.db.session() as s:
        (await s.scalars(CampaignStore.pick(campaign_id, now, None, limit))).all()
    return time.perf_counter() - started


def run_schedule_process(url: str, csv_path: Path, numbering: Path, traced: bool) -> dict:
    command = [sys.executable, __file__, "--phase", "schedule", "--db", url, "--csv", str(csv_path),
               "--numbering", str(numbering)] + (["--tracemalloc"] if traced else [])
    proc = subprocess.run(command, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BenchError(f"scheduling run failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def bench_schedule(work: Path, rows: int, repeats: int, postgres: bool) -> dict:
    from ivr.routing import registry
    started = time.perf_counter()
    csv_path = work / "passengers.csv"
    csv_path.write_text(passengers_csv(rows), encoding="utf-8")
    numbering = work / "numbering"
    report = registry.import_files(write_registry(work), numbering)
    log(f"scheduling: {rows:,} rows generated ({csv_path.stat().st_size / 2**20:.1f} MB), registry of "
        f"{report.rows} ranges, in {time.perf_counter() - started:.1f} s")
    runs: dict[str, list[dict]] = {"sqlite": []}
    for i in range(repeats):
        runs["sqlite"].append(run_schedule_process(f"sqlite+aiosqlite:///{work}/schedule-{i}.db", csv_path,
                                                   numbering, False))
        _log_schedule("sqlite", i + 1, runs["sqlite"][-1])
    traced = run_schedule_process(f"sqlite+aiosqlite:///{work}/schedule-traced.db", csv_path, numbering, True)
    log("scheduling traced: " + ", ".join(f"{k} {v['traced_peak_mb']:.0f} MB"
                                          for k, v in traced["phases"].items()))
    if postgres:
        from ivr.testing.postgres import PostgresUnavailable, create_database, postgres_server
        try:
            with postgres_server() as server:
                runs["postgresql"] = []
                for i in range(repeats):
                    url = asyncio.run(create_database(server.url))
                    runs["postgresql"].append(run_schedule_process(url, csv_path, numbering, False))
                    _log_schedule("postgresql", i + 1, runs["postgresql"][-1])
        except PostgresUnavailable as e:
            log(f"scheduling on PostgreSQL skipped: {e.message}")
    return {"rows": rows, "runs": runs, "traced": traced}


def _log_schedule(backend: str, i: int, r: dict) -> None:
    p = r["phases"]
    log(f"scheduling {backend} run {i}: import {p['import']['s']:.1f} s, planning {p['planning']['s']:.1f} s, "
        f"create {p['create']['s']:.1f} s, first claim {p['first_claim']['s'] * 1000:.0f} ms, "
        f"claim {r['claim_s'] * 1000:.1f} ms (pick {r['pick_s'] * 1000:.1f}), peak RSS {max(v['peak_rss_mb'] for v in p.values()):.0f} MB")


# ---------------------------------------------------------------- the dialer on the real stack

class Observer(AriObserver):
    """Every campaign channel's creation and destruction (with its cause), by id."""

    def __init__(self, url: str, user: str, password: str):
        super().__init__(url, user, password, "bench-campaign-observer")
        self.created: dict[str, datetime] = {}
        self.destroyed: dict[str, tuple[datetime, int]] = {}

    def seen(self, event: dict) -> None:
        kind = event.get("type")
        if kind not in ("ChannelCreated", "ChannelDestroyed") or not event["channel"]["id"].startswith("camp-"):
            return
        channel, at = event["channel"]["id"], ari_time(event["timestamp"])
        if kind == "ChannelCreated":
            self.created.setdefault(channel, at)
        else:
            self.destroyed.setdefault(channel, (at, int(event.get("cause", 0))))


class DialerStack(Stack):
    """bench/stack.py's PBX and service on 127.0.33.x, on the wall clock, with the benchmark plan
    (its trunk moved to SIPp's address) and one campaign profile per concurrency under `work`."""

    def __init__(self, work: Path, concurrencies: list[int], log_level: str = "WARNING"):
        plan_text = (HERE / "plan.yaml").read_text(encoding="utf-8").replace("127.0.30.", f"{NET}.")
        (work / "plan.yaml").write_text(plan_text, encoding="utf-8")
        (work / "campaigns.yaml").write_text("profiles:" + "".join(
            DIALER_PROFILE.format(n=n, cps=MAX_CPS) for n in sorted({1, *concurrencies})), encoding="utf-8")
        (work / "var").mkdir(exist_ok=True)
        super().__init__(work, PBX_IP, WEB_PORT, work / "plan.yaml", HERE / "secrets.yaml",
                         name="pbx-bench-campaign", clock="", isolated=True)
        self.env["IVR_LOG_LEVEL"] = log_level
        self.plan = load_plan(self.plan_path, secrets_path=self.secrets_path)
        self.profiles = load_profiles_text((work / "campaigns.yaml").read_text(encoding="utf-8"), "bench",
                                           self.plan)

    def callee(self, calls: int, tag: str) -> Sipp:
        """SIPp as the trunk's far end, answering `calls` calls; it exits after the last."""
        return Sipp(["-sf", str(HERE / "sipp" / "campaign_callee.xml"), "-i", CARRIER_IP, "-p", "5060",
                     "-mi", CARRIER_IP, "-mp", "16000", "-m", str(calls), "-aa",
                     "-trace_logs", "-log_file", str(self.work / f"sipp-{tag}.log"),
                     "-trace_stat", "-stf", str(self.work / f"sipp-{tag}.csv"), "-fd", "1",
                     "-trace_err", "-error_file", str(self.work / f"sipp-{tag}.errors")],
                    self.rootfs, self.work / f"sipp-{tag}.out", cwd=self.rootfs / "usr/share/sip-tester")


@dataclass(frozen=True)
class DialRun:
    concurrency: int
    calls: int
    confirmed: int                 # rows whose stored result is "confirm" (digit 1 reached the flow)
    sipp_ok: int
    sipp_failed: int
    ramp_rate: float | None        # originates/s over the first `concurrency` INVITEs at SIPp
    overall_rate: float | None     # INVITEs/s from the first to the last
    free_to_created_ms: list[float]
    free_to_invite_ms: list[float]
    created_to_invite_ms: list[float]
    service_cpu_per_call_s: float
    asterisk_cpu_per_call_s: float
    wall_s: float
    timeline: dict[str, list[float]]   # epoch seconds: slot frees, channels created, INVITEs at SIPp


def sipp_invites(log_file: Path) -> dict[str, datetime]:
    """Dialled number -> the moment SIPp took its INVITE, from the scenario's log lines."""
    out: dict[str, datetime] = {}
    if not log_file.exists():
        return out
    for line in log_file.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[0] == "invite":
            at = datetime.fromtimestamp(float(parts[1]) + float(parts[2]) / 1e6).astimezone()
            out.setdefault(parts[3], at)
    return out


def slot_latencies(frees: list[datetime], starts: list[datetime], concurrency: int) -> list[float]:
    """ms from each freed slot to the originate that took it: the first `concurrency` starts fill
    the empty campaign, every later one takes the oldest slot freed and not yet taken (FIFO)."""
    later = starts[concurrency:]
    return [(s - f).total_seconds() * 1000 for f, s in zip(sorted(frees), sorted(later))]


async def dial_once(stack: DialerStack, store: CampaignStore, observer: Observer, concurrency: int,
                    calls: int, tag: str, base_number: int) -> DialRun:
    profile = stack.profiles[f"bench{concurrency}"]
    tz = ZoneInfo(stack.plan.timezone)
    now = datetime.now(tz)
    departure = (now + timedelta(days=1)).replace(second=0, microsecond=0)
    people = [Passenger(name=f"Пассажир {i}", phone=f"+7916{base_number + i:07d}", trip_id=f"B{tag}",
                        route=ROUTES[i % len(ROUTES)], departure=departure, seat=str(1 + i % 49), language="ru")
              for i in range(calls)]
    sipp = await stack.callee(calls, tag).start()
    await asyncio.sleep(0.5)            # SIPp binds its port
    assert stack.service is not None
    cpu_before = stack.cpu()
    started = time.monotonic()
    campaign, _ = await create_campaign(store, f"bench {tag}", profile, stack.plan, people, now)
    await store.change(campaign.id, "start", datetime.now(tz))
    deadline = started + calls / concurrency * 15 + 60
    while (await store.get(campaign.id)).status != "done":
        if time.monotonic() > deadline:
            await sipp.stop()
            raise BenchError(f"campaign {campaign.id} not done in time: {await store.counts(campaign.id)}")
        await asyncio.sleep(0.2)
    if not await stack.wait_idle():
        raise BenchError(f"channels left on the PBX after the run:\n{stack.pbx.cli('core show channels')}")
    wall = time.monotonic() - started
    await asyncio.sleep(0.5)            # the last events reach the observer
    cpu_after = stack.cpu()
    await sipp.wait(15)                 # it ends after its last call's BYE and time-wait
    ok, failed = sipp_counts(stack.work / f"sipp-{tag}.csv")
    counts = await store.counts(campaign.id)

    prefix = f"camp-{campaign.id}-"
    phone_of = {r.id: r.passenger.phone for r in await store.rows(campaign.id)}
    created = {c: t for c, t in observer.created.items() if c.startswith(prefix)}
    frees = [t for c, (t, _) in observer.destroyed.items() if c.startswith(prefix)]
    invites = sipp_invites(stack.work / f"sipp-{tag}.log")
    invite_of_channel = {c: invites[phone_of[int(c.split("-")[2])]] for c in created
                         if phone_of.get(int(c.split("-")[2])) in invites}
    invite_times = sorted(invites.values())
    n = min(concurrency, len(invite_times))
    ramp = (n - 1) / (invite_times[n - 1] - invite_times[0]).total_seconds() \
        if n > 1 and invite_times[n - 1] > invite_times[0] else None
    overall = (len(invite_times) - 1) / (invite_times[-1] - invite_times[0]).total_seconds() \
        if len(invite_times) > 1 else None
    return DialRun(
        concurrency, calls, counts["result"].get("confirm", 0), ok, failed, ramp, overall,
        slot_latencies(frees, list(created.values()), concurrency),
        slot_latencies(frees, invite_times, concurrency),
        [(invite_of_channel[c] - t).total_seconds() * 1000
         for c, t in created.items() if c in invite_of_channel],
        (cpu_after[0] - cpu_before[0]) / calls, (cpu_after[1] - cpu_before[1]) / calls, wall,
        {"frees": sorted(t.timestamp() for t in frees),
         "created": sorted(t.timestamp() for t in created.values()),
         "invites": [t.timestamp() for t in invite_times]})


async def bench_dialer(work: Path, concurrencies: list[int], calls: int, repeats: int,
                       log_level: str) -> list[DialRun]:
    stack = DialerStack(work, concurrencies, log_level)
    results: list[DialRun] = []
    try:
        await stack.start()
        observer = Observer(stack.settings.ari_url, stack.settings.ari_user, stack.settings.ari_password)
        await observer.start()
        db = await open_database(stack.env["IVR_DATABASE_URL"])
        try:
            store = CampaignStore(db)
            # Warm-up: imports, prompt files, and each route's name spoken once (espeak-ng, cached).
            await dial_once(stack, store, observer, 1, len(ROUTES), "warmup", 0)
            base = 100_000
            for n in concurrencies:
                for i in range(1, repeats + 1):
                    run = await dial_once(stack, store, observer, n, calls, f"{n}-{i}", base)
                    base += calls
                    results.append(run)
                    log(f"dialer C={n} run {i}: {run.calls} calls, {run.confirmed} confirmed, SIPp failed "
                        f"{run.sipp_failed}; ramp {_num(run.ramp_rate, '.0f')}/s, overall "
                        f"{_num(run.overall_rate, '.1f')}/s; slot free -> INVITE p50 "
                        f"{_num(percentile(run.free_to_invite_ms, 0.5), '.0f')} ms p99 "
                        f"{_num(percentile(run.free_to_invite_ms, 0.99), '.0f')} ms "
                        f"(n={len(run.free_to_invite_ms)}); service CPU "
                        f"{run.service_cpu_per_call_s * 1000:.0f} ms/call; {run.wall_s:.0f} s")
        finally:
            await db.close()
            await observer.stop()
    finally:
        stack.stop()
    return results


# ---------------------------------------------------------------- report

def _num(value: float | None, fmt: str) -> str:
    return "n/a" if value is None else format(value, fmt)


def markdown(schedule: dict | None, dialer: list[DialRun], calls: int) -> str:
    lines = ["## Outbound campaigns (bench/bench_campaign.py)", ""]
    if schedule:
        lines += _schedule_markdown(schedule)
    if dialer:
        lines += _dialer_markdown(dialer, calls)
    return "\n".join(lines)


def _schedule_markdown(schedule: dict) -> list[str]:
    runs, traced = schedule["runs"], schedule["traced"]
    first = runs["sqlite"][0]
    zones = ", ".join(f"{z.split('/')[-1]} {n:,}" for z, n in list(first["zones"].items())[:6])
    lines = [
        f"**Scheduling {schedule['rows']:,} rows.** A generated CSV (`bench/campaign_data.py`, `;`-separated "
        f"as Russian spreadsheets export it): names, phones of {len(MOBILE)} mobile codes of five "
        "carriers and landlines of eight regions written as people write them (`8 (916) ...`, "
        "`+7(926)...`, ten bare digits, 4-digit area codes, a few foreign numbers), about 45 passengers "
        "a trip, departures over three days in two date formats; 0.3 % broken phones, 1 % the same "
        f"passenger twice on a trip. The importer read {first['rows_read']:,} rows: {first['passengers']:,} "
        f"passengers, {first['refused']} refused, {first['merged']:,} merged. Callee zones come from a "
        f"registry of the same codes (`ivr.routing` lookup): {zones}. \"Now\" is Wednesday 07:30 Moscow "
        f"time and the profile calls 09:00-21:00 callee time, so {first['due_now']:,} rows are due at once "
        "(east of Moscow) and the rest later today. Each repeat runs in a fresh process on a fresh "
        "database. **import**: reading the file and `read_csv` (parse, normalise every phone, merge, "
        "report), the code of `ivr campaign import`. **planning**: `scheduler.callee_timezone` (carrier "
        "lookup) + `plan_first` for every passenger, alone. **create**: `create_campaign` with the lookup "
        "(planning again + storing the rows in bulk inserts), as `POST /api/campaigns` and `ivr campaign "
        "import` do it. **first claim**: "
        "`store.claim` of the profile's "
        f"{first['claim_limit']} rows (pick, mark with UPDATE ... RETURNING, attempts) just after the "
        f"start; **claim**: median of the {STEADY_CLAIMS} claims after it, and alone its pick SELECT (due "
        "rows by the `ix_campaign_rows_due` index, do-not-call numbers left out). **peak RSS**: VmHWM of the process during the "
        "phase (reset before it), the "
        "process's RSS before the first phase being the base; **Python heap**: tracemalloc's peak "
        "during the phase, in one extra SQLite run with tracing on (slower, not in the times).",
        "",
        "| database | repeats | import | planning | create (plan + insert) | first claim | claim | "
        "of it: pick SELECT | peak RSS (base) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for backend, rs in runs.items():
        def ph(name: str) -> float:
            return median([r["phases"][name]["s"] for r in rs])
        peak = median([max(p["peak_rss_mb"] for p in r["phases"].values()) for r in rs])
        lines.append(
            f"| {'SQLite' if backend == 'sqlite' else 'PostgreSQL 15'} | {len(rs)} | {ph('import'):.1f} s | "
            f"{ph('planning'):.1f} s | {ph('create'):.1f} s | {ph('first_claim') * 1000:.0f} ms | "
            f"{median([r['claim_s'] for r in rs]) * 1000:.1f} ms | "
            f"{median([r['pick_s'] for r in rs]) * 1000:.1f} ms | "
            f"{peak:.0f} MB ({median([r['base_rss_mb'] for r in rs]):.0f} MB) |")
    lines += ["", "| phase (SQLite, medians) | time | per row | peak RSS | Python heap peak (tracemalloc) |",
              "|---|---|---|---|---|"]
    rs = runs["sqlite"]
    for name, label, per in (("import", "import (read_csv)", "rows_read"),
                             ("planning", "planning", "passengers"),
                             ("create", "create (plan + insert)", "passengers")):
        s = median([r["phases"][name]["s"] for r in rs])
        lines.append(f"| {label} | {s:.2f} s | {s / first[per] * 1e6:.0f} µs | "
                     f"{median([r['phases'][name]['peak_rss_mb'] for r in rs]):.0f} MB | "
                     f"{traced['phases'][name]['traced_peak_mb']:.0f} MB |")
    if "db_mb" in first:
        lines += ["", f"SQLite file after the import: {median([r['db_mb'] for r in rs]):.0f} MB."]
    lines.append("")
    return lines


def _dialer_markdown(runs: list[DialRun], calls: int) -> list[str]:
    lines = [
        "**The dialer on the real stack.** PBX Asterisk 22 at 127.0.33.1 with the service (`ari_app.py`, "
        "SQLite); SIPp 3.8 at 127.0.33.11 is the plan's one trunk (no capacity limit) and the "
        "passenger: it takes each INVITE, rings 0.2-2 s, answers, and 4-8 s after the ACK (while the "
        "trip or the question is spoken) sends digit 1 as RFC 2833 events (sip-tester's "
        "`dtmf_2833_1.pcap`); both times are uniform at random, so calls end apart, not in waves that "
        "keep step with the dialer's loop. The flow stores the answer, plays `campaign-confirmed` and "
        "hangs up: a call lasts 8-14 s with the "
        "default wording (`campaign-intro`, route name by espeak-ng, date, time and seat by `say`, "
        "`campaign-confirm-question`). Each run is a fresh campaign of "
        f"{calls} rows created and started from the benchmark process; \"concurrency\" is the "
        "profile's `max_concurrent`, with `calls_per_second` at 1000 so that the ceiling does not "
        "bind. A warm-up campaign of four calls (one per route) precedes the runs.",
        "",
        "- **Ramp rate**: originates per second the dialer achieves while filling an empty campaign: "
        "the first *concurrency* INVITEs as SIPp took them, (n-1) / (last - first). **Overall**: all "
        "INVITEs of the run over their span (bounded by concurrency / call length).",
        "- **Slot free → INVITE**: from Asterisk's `ChannelDestroyed` of a campaign channel (its "
        "timestamp, as a passive ARI application sees it) to the arrival at SIPp of the INVITE that took "
        "the freed slot (SIPp's gettimeofday when it processed the INVITE). Slots and INVITEs are paired "
        "in order: the first *concurrency* INVITEs fill the empty campaign, each later one takes the "
        "oldest freed slot not yet taken. **Slot free → channel**: the same to Asterisk's "
        "`ChannelCreated` of the next campaign channel (both Asterisk's clock): the service's part "
        "(watcher ends the attempt, dialer loop, claim, originate request). **Channel → INVITE**: per "
        "call, Asterisk's `ChannelCreated` to the INVITE at SIPp (Asterisk's dial). p50/p99 per run.",
        "- **CPU per call**: utime + stime from `/proc/<pid>/stat` of the service and of Asterisk "
        "from just before the campaign is created until it is done and the PBX has no channel left, "
        "divided by the rows. It includes the dialer's idle loop, the observer's event feed (Asterisk) "
        "and 8-14 s of audio per call (Asterisk).",
        "- **Failed**: calls SIPp did not complete; **confirmed**: rows whose stored result is `confirm`.",
        "",
        "Medians over the runs:",
        "",
        "| concurrency | calls × runs | ramp rate | overall rate | slot free → INVITE p50 | p99 | "
        "slot free → channel p50 | p99 | channel → INVITE p50 | service CPU / call | Asterisk CPU / call | "
        "failed / confirmed per run |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for n in sorted({r.concurrency for r in runs}):
        rs = [r for r in runs if r.concurrency == n]

        def med(values: list) -> str:
            return _num(median(values), ".0f")
        lines.append(
            f"| {n} | {rs[0].calls} × {len(rs)} | {med([r.ramp_rate for r in rs])}/s | "
            f"{_num(median([r.overall_rate for r in rs]), '.1f')}/s | "
            f"{med([percentile(r.free_to_invite_ms, 0.5) for r in rs])} ms | "
            f"{med([percentile(r.free_to_invite_ms, 0.99) for r in rs])} ms | "
            f"{med([percentile(r.free_to_created_ms, 0.5) for r in rs])} ms | "
            f"{med([percentile(r.free_to_created_ms, 0.99) for r in rs])} ms | "
            f"{_num(median([percentile(r.created_to_invite_ms, 0.5) for r in rs]), '.1f')} ms | "
            f"{median([r.service_cpu_per_call_s for r in rs]) * 1000:.0f} ms | "
            f"{median([r.asterisk_cpu_per_call_s for r in rs]) * 1000:.0f} ms | "
            f"{', '.join(f'{r.sipp_failed}/{r.confirmed}' for r in rs)} |")
    lines += ["", "Every run:", "",
              "| concurrency | calls | confirmed | SIPp failed | ramp /s | overall /s | free → INVITE p50 ms | "
              "p99 ms | pairs | service CPU ms/call | Asterisk CPU ms/call | wall s |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in runs:
        lines.append(
            f"| {r.concurrency} | {r.calls} | {r.confirmed} | {r.sipp_failed} | {_num(r.ramp_rate, '.0f')} | "
            f"{_num(r.overall_rate, '.1f')} | {_num(percentile(r.free_to_invite_ms, 0.5), '.0f')} | "
            f"{_num(percentile(r.free_to_invite_ms, 0.99), '.0f')} | {len(r.free_to_invite_ms)} | "
            f"{r.service_cpu_per_call_s * 1000:.0f} | {r.asterisk_cpu_per_call_s * 1000:.0f} | "
            f"{r.wall_s:.0f} |")
    lines.append("")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="passengers to schedule (0: skip)")
    parser.add_argument("--calls", type=int, default=400, help="rows of each dialer run (0: skip)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[50, 150])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-postgres", action="store_true", help="schedule on SQLite only")
    parser.add_argument("--json", type=Path, help="also write every run here")
    parser.add_argument("--service-log", default="WARNING", metavar="LEVEL",
                        help="the service's log level (INFO: a line per dial and attempt end; costs CPU)")
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it (logs, SIPp files)")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--csv", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--numbering", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--tracemalloc", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase == "schedule":
        if args.tracemalloc:
            tracemalloc.start()
        print(json.dumps(asyncio.run(schedule_once(args.db, args.csv, args.numbering))))
        return 0

    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-campaign-"))
    work.mkdir(parents=True, exist_ok=True)
    schedule, dialer = None, []
    try:
        if args.rows > 0:
            schedule = bench_schedule(work, args.rows, args.repeats, not args.no_postgres)
        if args.calls > 0:
            dialer = asyncio.run(bench_dialer(work, args.concurrency, args.calls, args.repeats,
                                              args.service_log))
    except BenchError as exc:
        print(f"bench_campaign: {exc}", file=sys.stderr)
        return 1
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps({"schedule": schedule, "dialer": [asdict(r) for r in dialer]},
                                        indent=1, default=str))
    print(markdown(schedule, dialer, args.calls))
    return 0


if __name__ == "__main__":
    sys.exit(main())
