"""What the real-stack benchmarks share: the PBX Asterisk and the IVR service on a benchmark's own
loopback net, SIPp from the bundled Asterisk root filesystem, CPU seconds from /proc, and the SIP
messages on the net as the kernel timestamped them (a packet capture on lo).

Each benchmark has its own net (bench_ivr 127.0.30.x, bench_hunt 127.0.31.x, bench_queue 127.0.32.x)
so none of them collides with `make run` (127.0.0.x) or the integration tests (127.0.20-29.x).
"""
from __future__ import annotations

import asyncio
import csv
import ctypes
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ivr.asterisk.process import LIB_DIRS, Instance  # noqa: E402
from ivr.asterisk.render import render_pbx  # noqa: E402
from ivr.config import load_settings  # noqa: E402
from ivr.errors import IvrError  # noqa: E402
from ivr.plan.loader import load_plan  # noqa: E402

HERE = Path(__file__).resolve().parent
SIPP_DIR = HERE / "sipp"
OPEN = "2026-11-25T11:00:00+03:00"  # a Wednesday, office open


T = TypeVar("T")


class BenchError(IvrError):
    error_id = "bench-error"


def run_bench(name: str, keep: Path | None, bench: Callable[[Path], Awaitable[T]]) -> T | None:
    """Run `bench(work)` in a fresh work directory, or in `keep` (left in place: logs, SIPp files).
    A BenchError is printed as one line on stderr and gives None."""
    work = keep or Path(tempfile.mkdtemp(prefix=f"{name.replace('_', '-')}-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        return asyncio.run(bench(work))  # type: ignore[arg-type]
    except BenchError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return None
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..1); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def sipp_binary(rootfs: Path) -> list[str]:
    """SIPp of the root filesystem, run through the tree's own loader (it needs sid's glibc)."""
    libs = ":".join(str(rootfs / d) for d in LIB_DIRS)
    return [str(rootfs / "lib64/ld-linux-x86-64.so.2"), "--library-path", libs, str(rootfs / "usr/bin/sipp")]


def sipp_counts(stat_file: Path) -> tuple[int, int]:
    """(successful, failed) calls from the last line of SIPp's statistics file."""
    with open(stat_file, newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter=";"))
    if not rows:
        raise BenchError(f"SIPp wrote no statistics to {stat_file}")
    last = rows[-1]
    return int(last["SuccessfulCall(C)"]), int(last["FailedCall(C)"])


def scenario(name: str, work: Path, **values: int) -> Path:
    """A copy of bench/sipp/<name> in `work` with its placeholders (PATIENCE_MS, TALK_MS, ...)
    filled in: SIPp takes a recv timeout only as a literal."""
    text = (SIPP_DIR / name).read_text()
    for key, value in values.items():
        text = text.replace(key.upper(), str(value))
    path = work / f"{Path(name).stem}-{'-'.join(map(str, values.values()))}.xml"
    path.write_text(text)
    return path


@dataclass(frozen=True)
class SipMessage:
    """One SIP message as it crossed the loopback interface."""

    at: float                 # epoch seconds, the kernel's timestamp of the packet
    src: str                  # source and destination IP addresses
    dst: str
    first_line: str
    call_id: str
    from_user: str
    to_user: str

    @property
    def method(self) -> str:
        """INVITE, CANCEL, BYE, ... for a request; "" for a response."""
        return "" if self.first_line.startswith("SIP/2.0") else self.first_line.split(" ", 1)[0]


_USER = re.compile(r"<?sips?:([^@;>]+)@")
ETH_P_ALL, PACKET_OUTGOING = 0x0003, 4
SO_ATTACH_FILTER, SO_TIMESTAMPNS = 26, 35            # Linux socket options


def _bpf_udp_to_net(net: str, port: int) -> list[tuple[int, int, int, int]]:
    """Classic BPF: IPv4 UDP packets to `port` on an address of `net` (a /24) pass, others not."""
    a, b, c = (int(x) for x in net.split("."))
    return [(0x28, 0, 0, 12), (0x15, 0, 9, 0x0800),        # ethertype IPv4
            (0x30, 0, 0, 23), (0x15, 0, 7, 17),            # protocol UDP
            (0x20, 0, 0, 30), (0x54, 0, 0, 0xFFFFFF00),    # destination address in the /24
            (0x15, 0, 4, (a << 24) | (b << 16) | (c << 8)),
            (0xB1, 0, 0, 14), (0x48, 0, 0, 16),            # destination port after the IP header
            (0x15, 0, 1, port), (0x06, 0, 0, 0xFFFF), (0x06, 0, 0, 0)]


class Capture:
    """Every SIP packet (UDP to port 5060) to an address of one loopback /24 net, with the time
    the kernel stamped on it as it crossed `lo`: when it was sent, however busy the receiving
    process was. A packet socket (root) with an in-kernel filter, read by a thread."""

    def __init__(self, net: str, port: int = 5060):
        self.net, self.port = net, port
        self.messages: list[SipMessage] = []
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._filter: ctypes.Array | None = None      # the kernel reads it at attach time; kept anyway

    def start(self) -> Capture:
        try:
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        except PermissionError:
            raise BenchError("capturing SIP on lo needs root (a packet socket)") from None
        program = _bpf_udp_to_net(self.net, self.port)
        self._filter = (ctypes.c_uint64 * len(program))(
            *(code | (jt << 16) | (jf << 24) | (k << 32) for code, jt, jf, k in program))
        sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER,
                        struct.pack("HL", len(program), ctypes.addressof(self._filter)))
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
        sock.bind(("lo", 0))
        sock.settimeout(0.2)
        self._sock = sock
        self._thread = threading.Thread(target=self._read, name=f"capture-{self.net}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> list[SipMessage]:
        self._stop.set()
        if self._thread:
            self._thread.join(5)
        if self._sock:
            self._sock.close()
        return self.messages

    def _read(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                data, ancillary, _, address = self._sock.recvmsg(65600, 64)
            except socket.timeout:
                continue
            if address[2] == PACKET_OUTGOING:            # lo shows each packet twice: keep the delivery
                continue
            at = next((sec + nsec / 1e9 for level, kind, raw in ancillary
                       if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS
                       for sec, nsec in [struct.unpack("qq", raw[:16])]), time.time())
            if (message := _parse(data, at)) is not None:
                self.messages.append(message)


def _parse(frame: bytes, at: float) -> SipMessage | None:
    ihl = (frame[14] & 0x0F) * 4
    payload = frame[14 + ihl + 8:].decode("utf-8", "replace")
    head = payload.split("\r\n\r\n", 1)[0].split("\r\n")
    if not head or not head[0]:
        return None
    headers: dict[str, str] = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), value.strip())
    return SipMessage(at, socket.inet_ntoa(frame[26:30]), socket.inet_ntoa(frame[30:34]), head[0],
                      headers.get("call-id", headers.get("i", "")),
                      _user(headers.get("from", headers.get("f", ""))), _user(headers.get("to", headers.get("t", ""))))


def _user(header: str) -> str:
    match = _USER.search(header)
    return match.group(1) if match else ""


class AriObserver:
    """A passive ARI application subscribed to every channel: Asterisk's own timestamps of the
    events a benchmark measures, without changing the service. Subclasses pick events in `seen`."""

    def __init__(self, url: str, user: str, password: str, app: str):
        self.url, self.user, self.password, self.app = url, user, password, app
        self._task: asyncio.Task | None = None
        self._ready = asyncio.Event()

    def seen(self, event: dict) -> None:
        raise NotImplementedError

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())
        await asyncio.wait_for(self._ready.wait(), 10)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def _run(self) -> None:
        ws_url = (self.url.replace("http", "ws", 1) + f"/ari/events?app={self.app}"
                  f"&subscribeAll=true&api_key={self.user}:{self.password}")
        async with aiohttp.ClientSession() as http, http.ws_connect(ws_url, max_msg_size=0) as ws:
            self._ready.set()
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    self.seen(json.loads(msg.data))


def ari_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")


class Stack:
    """The PBX Asterisk and the service on one loopback net, with their own files under `work`.

    `isolated`: the service runs on the settings' defaults plus these variables, not on
    config/settings.yaml. `start()` renders the PBX's configuration from the plan, starts Asterisk, then the service.
    A benchmark that needs extra Asterisk configuration (a reference dialplan) renders, writes its
    files into `pbx.etc`, and calls `start_pbx()` alone.
    """

    def __init__(self, work: Path, pbx_ip: str, web_port: int, plan: Path, secrets: Path,
                 name: str = "pbx-bench", clock: str = OPEN, isolated: bool = False):
        self.work = work
        self.plan_path, self.secrets_path = plan, secrets
        self.web_port = web_port
        self.env = {
            "IVR_SIP_ADDRESS": pbx_ip,
            "IVR_ARI_URL": f"http://{pbx_ip}:8088",
            "IVR_DATABASE_URL": f"sqlite+aiosqlite:///{work}/ivr.db",
            "IVR_ASTERISK_CONFIG_DIR": str(work / "pbx" / "etc"),
            "IVR_PLAN_FILE": str(plan),
            "IVR_SECRETS_FILE": str(secrets),
            "IVR_VAR_DIR": str(work / "var"),
            "IVR_WEB_PORT": str(web_port),
            "IVR_PUBLIC_URL": f"http://127.0.0.1:{web_port}",
            "IVR_CLOCK": clock,
            "IVR_LOG_LEVEL": "WARNING",
        }
        if isolated:
            # Defaults only: a developer's config/settings.yaml (demo mailbox port, ...) stays out.
            (work / "settings.yaml").write_text("{}\n")
            self.env["IVR_SETTINGS"] = str(work / "settings.yaml")
        self.settings = load_settings(env=self.env)
        self.rootfs = Path(self.settings.asterisk_rootfs)
        self.pbx = Instance(name, work / "pbx", self.rootfs)
        self.service: subprocess.Popen | None = None

    async def start(self) -> None:
        self.render()
        self.start_pbx()
        await self.start_service()

    def render(self) -> None:
        plan = load_plan(self.plan_path, secrets_path=self.secrets_path)
        render_pbx(self.settings, plan, self.pbx)

    def start_pbx(self) -> None:
        self.pbx.start()

    async def start_service(self) -> None:
        log = open(self.work / "service.log", "ab")
        self.service = subprocess.Popen([sys.executable, str(ROOT / "ari_app.py")],
                                        env={**os.environ, **self.env}, stdout=log,
                                        stderr=subprocess.STDOUT, cwd=ROOT)
        deadline = time.monotonic() + 90       # a fresh database's migrations on a busy machine
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                if self.service.poll() is not None:
                    # The work directory goes with the run: what the service said is kept here.
                    said = (self.work / "service.log").read_text(errors="replace")[-3000:]
                    raise BenchError(f"service exited; the end of its log:\n{said}")
                try:
                    async with http.get(f"http://127.0.0.1:{self.web_port}/status") as r:
                        if r.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.2)
        raise BenchError(f"service not ready; see {self.work / 'service.log'}")

    def stop_service(self) -> None:
        if self.service and self.service.poll() is None:
            self.service.terminate()
            try:
                self.service.wait(10)
            except subprocess.TimeoutExpired:
                self.service.kill()
                self.service.wait()
        self.service = None

    def stop(self) -> None:
        self.stop_service()
        self.pbx.stop()

    def cpu(self) -> tuple[float, float]:
        """CPU seconds used so far by the service (0 when it is not running) and by the PBX Asterisk."""
        asterisk_pid = self.pbx.pid()
        if asterisk_pid is None:
            raise BenchError("the PBX Asterisk is not running")
        return (cpu_seconds(self.service.pid) if self.service else 0.0), cpu_seconds(asterisk_pid)

    async def wait_idle(self, timeout: float = 60) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.pbx.cli("core show channels count").startswith("0 active channels"):
                return True
            await asyncio.sleep(0.5)
        return False


class Sipp:
    """One SIPp process started in the background (a UAS phone, or a UAC we wait for)."""

    def __init__(self, args: list[str], rootfs: Path, log: Path, cwd: Path | None = None):
        self.args, self.rootfs, self.log, self.cwd = args, rootfs, log, cwd
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> Sipp:
        self.proc = await asyncio.create_subprocess_exec(
            *sipp_binary(self.rootfs), *self.args, "-nostdin", cwd=self.cwd or self.log.parent,
            stdin=subprocess.DEVNULL, stdout=open(self.log, "wb"), stderr=subprocess.STDOUT)
        return self

    async def wait(self, timeout: float) -> int:
        assert self.proc is not None
        try:
            return await asyncio.wait_for(self.proc.wait(), timeout)
        except asyncio.TimeoutError:
            await self.stop()
            raise BenchError(f"SIPp did not finish in {timeout:.0f} s; see {self.log}") from None

    async def stop(self) -> None:
        """SIGUSR1 asks SIPp to stop gracefully (it writes its logs); kill if it does not."""
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.send_signal(signal.SIGUSR1)
        try:
            await asyncio.wait_for(self.proc.wait(), 5)
        except asyncio.TimeoutError:
            self.proc.kill()
            await self.proc.wait()


async def register_phones(rootfs: Path, pbx_ip: str, local_ip: str, phones: dict[str, str],
                          work: Path) -> None:
    """Register staff extensions (extension -> password) to the PBX with SIPp from local_ip:5060,
    so a SIPp UAS started afterwards on that address receives their calls."""
    inf = work / f"register-{local_ip}.csv"
    inf.write_text("SEQUENTIAL\n" + "".join(f"{ext};{pw}\n" for ext, pw in phones.items()))
    stat = work / f"register-{local_ip}.stat.csv"
    sipp = Sipp([f"{pbx_ip}:5060", "-sf", str(SIPP_DIR / "register.xml"), "-inf", str(inf),
                 "-i", local_ip, "-p", "5060", "-m", str(len(phones)), "-l", "1", "-r", "50",
                 "-trace_stat", "-stf", str(stat), "-fd", "1"], rootfs, work / f"register-{local_ip}.out")
    await sipp.start()
    await sipp.wait(30)
    ok, failed = sipp_counts(stat)
    if ok != len(phones):
        raise BenchError(f"{failed} of {len(phones)} phones at {local_ip} did not register; "
                         f"see {work / f'register-{local_ip}.out'}")


async def measured(stack: Stack, run: Callable[[], object]) -> tuple[object, float, float, float]:
    """Run `run()` (a coroutine function) and return its result, wall seconds, and the CPU seconds
    the service and Asterisk used meanwhile (the service's is 0 when it is not running)."""
    before = stack.cpu()
    started = time.monotonic()
    result = await run()  # type: ignore[misc]
    wall = time.monotonic() - started
    after = stack.cpu()
    return result, wall, after[0] - before[0], after[1] - before[1]
