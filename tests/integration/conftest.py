"""The real-Asterisk harness: the PBX Asterisk, a second "world" Asterisk (callers, carriers, staff
phones) on other loopback addresses, and the IVR service as a real process (so tests can kill it).

Addresses: PBX NET.1, world NET.2, carrier trunks NET.11+, with NET = $IVR_TEST_NET (default 127.0.20).
They differ from `make run`'s 127.0.0.x, so the suite can run beside a running demo, and two runs with
different nets (and so different temp dirs and web ports) can run side by side. Under pytest-xdist each
worker builds its own stack on the next net (gw0 on NET, gw1 on NET+1, ...).
"""
from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from ivr.asterisk.process import Instance
from ivr.asterisk.render import WorldLayout, render_pbx, render_world
from ivr.config import ROOT, load_settings
from ivr.plan.loader import load_plan
from ivr.testing.audio import find_prompts
from ivr.testing.world import World, wait_registered



def worker_net(base: str, worker: str) -> str:
    """This pytest process's net: the base for a plain run or xdist's gw0, the next ones for gw1..."""
    index = int(worker.removeprefix("gw")) if worker.startswith("gw") else 0
    prefix, third = base.rsplit(".", 1)
    return f"{prefix}.{int(third) + index}"


NET = worker_net(os.environ.get("IVR_TEST_NET", "127.0.20"), os.environ.get("PYTEST_XDIST_WORKER", ""))
PBX_IP, WORLD_IP = f"{NET}.1", f"{NET}.2"
WEB_PORT = str(18000 + int(NET.rsplit(".", 1)[1]))
PLANS = Path(__file__).parent / "plans"
# A Wednesday at 11:00 in Moscow: the office is open.
OPEN = "2026-11-25T11:00:00+03:00"
SESSION_START = time.monotonic()

pytestmark = pytest.mark.integration


def pytest_collection_modifyitems(items):
    for item in items:
        if "integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


def reap_stale_asterisks(net: str) -> None:
    """An earlier run on this net that was killed leaves its Asterisks (own sessions, files maybe
    already pruned) holding our addresses: stop every process bound to an address of this net."""
    sockets = subprocess.run(["ss", "-Hulnpt"], capture_output=True, text=True).stdout
    ours = (f" {net}.", f" 127.0.0.1:{WEB_PORT} ")          # its Asterisks and its service
    pids = {m.group(1) for line in sockets.splitlines() if any(o in line for o in ours)
            for m in re.finditer(r"pid=(\d+)", line)}
    for pid in pids:
        subprocess.run(["kill", "-9", pid], check=False)
    if pids:
        time.sleep(0.5)


def plan_text(name: str = "ivr.yaml") -> str:
    """A test plan with its trunk addresses moved onto this run's net."""
    return (PLANS / name).read_text(encoding="utf-8").replace("127.0.20.", f"{NET}.")


@pytest.fixture(scope="session")
def stack_dir(tmp_path_factory) -> Path:
    reap_stale_asterisks(NET)
    path = tmp_path_factory.mktemp("stack")
    (path / "ivr.yaml").write_text(plan_text(), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def base_env(stack_dir) -> dict[str, str]:
    return {
        "IVR_SIP_ADDRESS": PBX_IP,
        # The world's phones and gateway are the office LAN: a module that leaves one of them
        # retrying a registration the next plan lacks must not get all of them blocked (the
        # brute-force tests attack from other addresses).
        "IVR_SIP_TRUSTED": WORLD_IP,
        "IVR_ARI_URL": f"http://{PBX_IP}:8088",
        "IVR_DATABASE_URL": f"sqlite+aiosqlite:///{stack_dir}/ivr.db",
        "IVR_ASTERISK_CONFIG_DIR": str(stack_dir / "pbx" / "etc"),
        "IVR_PLAN_FILE": str(stack_dir / "ivr.yaml"),
        "IVR_SECRETS_FILE": str(PLANS / "secrets.yaml"),
        "IVR_VAR_DIR": str(stack_dir / "var"),
        "IVR_WEB_PORT": WEB_PORT,
        "IVR_PUBLIC_URL": f"http://127.0.0.1:{WEB_PORT}",
        "IVR_CLOCK": OPEN,
        "IVR_SETTINGS": str(PLANS / "settings.yaml"),
        "IVR_LOG_LEVEL": "INFO",
    }


@pytest.fixture(scope="session")
def settings(base_env):
    return load_settings(env=base_env)


@pytest.fixture(scope="session")
def plan(settings, stack_dir):
    return load_plan(stack_dir / "ivr.yaml", secrets_path=PLANS / "secrets.yaml")


@pytest.fixture(scope="session")
def pbx(settings, plan, stack_dir):
    instance = Instance("pbx", stack_dir / "pbx", Path(settings.asterisk_rootfs))
    render_pbx(settings, plan, instance)
    (instance.spool / "recording").mkdir(parents=True, exist_ok=True)
    instance.start()
    try:
        yield instance
    finally:
        instance.stop()


@pytest.fixture(scope="session")
async def world(settings, plan, pbx, stack_dir):
    instance = Instance("world", stack_dir / "world", Path(settings.asterisk_rootfs))
    layout = WorldLayout(WORLD_IP, 8088, PBX_IP, 5060)
    render_world(settings, plan, layout, instance)
    (instance.spool / "recording").mkdir(parents=True, exist_ok=True)
    instance.start()
    carriers = {t.host.split(":")[0]: name for name, t in plan.trunks.items()}
    driver = World(layout.ari_url, layout.ari_user, layout.ari_password, instance.spool,
                   carriers=carriers)
    driver.instance = instance
    try:
        await driver.start()
        await wait_registered(instance, list(plan.staff))
        yield driver
    finally:
        await driver.stop()
        instance.stop()


class ServiceProcess:
    """ari_app.py as a real process with the test's settings."""

    def __init__(self, env: dict[str, str], log_path: Path):
        self.env, self.log_path = env, log_path
        self.proc: subprocess.Popen | None = None
        self.current: dict[str, str] = {}
        self.url = f"http://127.0.0.1:{env['IVR_WEB_PORT']}"

    def start(self, **overrides: str) -> None:
        env = {**os.environ, **self.env, **overrides}
        if "IVR_CLOCK" not in overrides:
            # The default clock runs on from OPEN across restarts, so a call picked up by a
            # restarted service never ends before it started.
            elapsed = timedelta(seconds=time.monotonic() - SESSION_START)
            env["IVR_CLOCK"] = (datetime.fromisoformat(OPEN) + elapsed).isoformat()
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, str(ROOT / "ari_app.py")], env=env, stdout=log,
                                     stderr=subprocess.STDOUT, cwd=ROOT)
        self.current = overrides

    async def run_with(self, **overrides: str) -> ServiceProcess:
        """The service running with exactly these overrides: restarted only when it runs something else."""
        if self.proc is None or self.proc.poll() is not None or self.current != overrides:
            self.stop()
            self.start(**overrides)
            await self.wait_ready()
        return self

    async def wait_ready(self, timeout: float = 60) -> None:
        # A start imports, migrates and loads the plan: seconds of CPU, far longer on a loaded machine.
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                assert self.proc and self.proc.poll() is None, \
                    f"service exited: {self.log_path.read_text()[-3000:]}"
                try:
                    async with http.get(self.url + "/status") as r:
                        if r.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.2)
        raise AssertionError(f"service not ready: {self.log_path.read_text()[-3000:]}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    @property
    def headers(self) -> dict[str, str]:
        """An admin's credentials: the token the service makes at start for local `ivr` commands
        (var/cli-token; read each time, since a service on another var directory has its own)."""
        var = Path({**self.env, **self.current}["IVR_VAR_DIR"])
        return {"Authorization": f"Bearer {(var / 'cli-token').read_text().strip()}"}

    async def request(self, method: str, path: str, body: dict | list | None = None, data: bytes | None = None,
                      headers: dict[str, str] | None = None, raw: bool = False) -> tuple[int, Any]:
        """(status, JSON body or text, or with `raw` the bytes) of one API call with the admin token,
        unless `headers` has its own Authorization (e.g. another role's token)."""
        async with aiohttp.ClientSession() as http:
            async with http.request(method, self.url + path, json=body, data=data,
                                    headers={**self.headers, **(headers or {})}) as r:
                if raw and r.status == 200:
                    return r.status, await r.read()
                answer = await r.json() if r.content_type == "application/json" else await r.text()
                return r.status, answer

    async def get(self, path: str, raw: bool = False) -> Any:
        """The API's JSON answer, or with `raw` the body's bytes (a file: an export, a template)."""
        status, answer = await self.request("GET", path, raw=raw)
        assert status == 200, (path, status, answer)
        return answer

    async def post(self, path: str, body: dict | None = None, data: bytes | None = None,
                   content_type: str = "text/csv") -> tuple[int, Any]:
        """A JSON body, or raw `data` (a CSV import) of `content_type`."""
        return await self.request("POST", path, body, data, {"Content-Type": content_type} if data is not None else None)

    async def post_ok(self, path: str, body: dict | None = None, data: bytes | None = None,
                      content_type: str = "application/octet-stream") -> Any:
        """POST JSON (or `data`, raw bytes: a file) to the API and insist on success; its answer."""
        status, answer = await self.post(path, body, data, content_type)
        assert status < 400, (path, status, answer)
        return answer

    async def call_record(self, caller: str, timeout: float = 10) -> dict:
        """The finished call record of the latest inbound call from `caller` (an outbound call to that
        number, a campaign's or a staff phone's, is stored with the number in `caller` too)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            calls = (await self.get("/api/calls?limit=200"))["calls"]
            mine = [c for c in calls if c["caller"] == caller and c["direction"] == "inbound" and c["ended_at"]]
            if mine:
                return await self.get(f"/api/calls/{mine[0]['id']}")
            await asyncio.sleep(0.3)
        raise AssertionError(f"no finished call record from {caller}")

    async def missed_items(self, customer: str, timeout: float = 10) -> list[dict]:
        """The missed-call items of `customer` (all statuses) once there is one: the review runs just
        after the call's record is stored, so a record can be seen a moment before its item."""
        deadline = time.monotonic() + timeout
        while True:
            items = (await self.get(f"/api/missed?status=all&customer={customer.replace('+', '%2B')}"))["items"]
            if items or time.monotonic() > deadline:
                return items
            await asyncio.sleep(0.2)


@pytest.fixture(scope="session")
async def service_process(base_env, pbx, world, stack_dir):
    service = ServiceProcess(base_env, stack_dir / "service.log")
    service.start()
    await service.wait_ready()
    yield service
    service.stop()


@pytest.fixture
async def service(service_process):
    """The running service with the default (open) clock; restarted if a test changed it."""
    if service_process.proc is None or service_process.proc.poll() is not None \
            or service_process.current:
        service_process.stop()
        service_process.start()
        await service_process.wait_ready()
    return service_process


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep whether the test itself failed, for `no_leaks`."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.call_failed = report.failed


def leftovers(instance: Instance) -> str:
    """What is still up on one Asterisk: its channels and bridges, "" when there are none."""
    channels = instance.cli("core show channels concise").strip()
    bridges = "\n".join(line for line in instance.cli("bridge show all").splitlines()[1:] if line.strip())
    return "\n".join(part for part in (channels, bridges) if part)


def clear(instance: Instance) -> None:
    """Hang up every channel and destroy every bridge, so that the next test starts clean."""
    instance.cli("channel request hangup all")
    for line in instance.cli("bridge show all").splitlines()[1:]:
        if line.split():
            instance.cli(f"bridge destroy {line.split()[0]}")


@pytest.fixture(autouse=True)
async def no_leaks(request):
    """Like Asterisk's own testsuite: every test ends with no channel and no bridge left, on the PBX
    and on the world. A test that failed is cleaned up without a second failure."""
    yield
    if "pbx" not in request.fixturenames:
        return
    instances = {"PBX": request.getfixturevalue("pbx")}
    if "world" in request.fixturenames:
        instances["world"] = request.getfixturevalue("world").instance
    failed = getattr(request.node, "call_failed", True)
    deadline = time.monotonic() + (2 if failed else 8)
    while left := {name: what for name, instance in instances.items() if (what := leftovers(instance))}:
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.3)
    for name in left:
        clear(instances[name])
    if left and not failed:
        raise AssertionError("left over after the test:\n" + "\n".join(f"{name}:\n{what}" for name, what in left.items()))


@pytest.fixture(scope="session")
def prompts(settings):
    """Generated prompt WAVs by (language, name), for matching what a caller heard."""
    generated = settings.path(settings.sounds_dir) / "generated"
    return {lang.name: {p.stem: p for p in lang.glob("*.wav")} for lang in generated.iterdir()}


def heard(path: Path, prompts: dict[str, dict[str, Path]]) -> list[str]:
    """Names of the prompts found in a recording, in order ("ru/welcome", "en/main-menu", ...)."""
    candidates = {f"{lang}/{name}": p for lang, names in prompts.items() for name, p in names.items()}
    return [m.name for m in find_prompts(path, candidates)]


@asynccontextmanager
async def webhook_receiver(stack_dir: Path, secret: str) -> AsyncIterator[tuple[str, list]]:
    """A webhook receiver named in the stack's notifications.yaml (a service reads it when it
    starts); yields its URL and the (body, headers) it received. The file is gone afterwards."""
    received: list[tuple[bytes, dict[str, str]]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((await request.read(), dict(request.headers)))
        return web.Response(text="ok")
    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/hook"
    notifications = stack_dir / "notifications.yaml"
    # events: only `closed` of the missed-call list, so other tests' missed calls are not posted here
    notifications.write_text(f'webhooks: [{{url: "{url}", secret: {secret}, events: [closed]}}]\n'
                             "retry_max_seconds: 2\n", encoding="utf-8")
    try:
        yield url, received
    finally:
        notifications.unlink(missing_ok=True)
        await runner.cleanup()
