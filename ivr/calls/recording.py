"""Call recording done by Asterisk: MixMonitor on the customer's channel.

MixMonitor is an audiohook on that one channel, so the file follows the customer through bridges,
transfers and holds, and outlives the service: a restart or a torn-down bridge does not end it,
only the customer's hang-up does. ARI cannot start MixMonitor, so it is started with Asterisk's CLI
(`mixmonitor start`), like the trunk checks ask it. It writes the two directions interleaved
(option D: customer left, whatever the customer hears right) as raw 8 kHz samples; when the
recording ends Asterisk itself runs ffmpeg (MixMonitor's command) to make the day's compressed file,
Opus in Ogg, stereo or mixed to mono, and deletes the raw one. Asterisk runs as a host process
(ivr.asterisk.process), so the command is the host's ffmpeg.

Storage: <recordings_dir>/YYYY/MM/DD/HHMMSS-<channel id>.ogg, by the local day the call started;
the call record keeps the relative name (a `recording` step). Below a free-space floor no new
recording starts and the ops get an alert mail (at most one an hour); calls go on regardless.
"""
from __future__ import annotations

import asyncio
import logging
import re
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from ivr.ari.client import AriError
from ivr.asterisk.process import AsteriskError, Instance
from ivr.calls.legs import quietly
from ivr.calls.session import CallSession
from ivr.errors import ConfigError
from ivr.plan.model import CONSENT_PROMPT, Plan

log = logging.getLogger(__name__)

# MixMonitor's signed-linear rate on narrow-band calls (the plan's codecs are A-law and µ-law by
# default); a call on a wide-band codec (g722, opus) would be stored at half speed.
SAMPLE_RATE = 8000
BITRATE = "24k"               # Opus: good speech in stereo at about 180 kB a minute
SUFFIX = ".ogg"
# Channel variable holding the relative name: a call picked up again after a restart keeps its file.
VARIABLE = "IVR_RECORDING"
ALERT_EVERY = timedelta(hours=1)
# Asterisk's remote console reads a command in one 512-byte buffer: a longer `asterisk -rx` line is cut,
# and a cut `mixmonitor start` starts nothing and says nothing.
CLI_LINE_MAX = 511
# MixMonitor's arguments are split at commas and the CLI line at blanks and quotes.
_UNSAFE = re.compile(r"[\s,\"'\\;|&$`]")

Alert = Callable[[str, str, str], Awaitable[None]]


@dataclass(frozen=True)
class Started:
    name: str                 # relative to the recordings directory, e.g. 2026/11/25/110000-abc.ogg
    arguments: str = ""       # MixMonitor's: file,options,command (for the dialplan to start it)


@dataclass(frozen=True)
class Skipped:
    reason: str               # disk_low | failed
    detail: str = ""


def _file_safe(channel_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", channel_id)


def name_for(channel_id: str, started: datetime) -> str:
    return f"{started:%Y/%m/%d}/{started:%H%M%S}-{_file_safe(channel_id)}{SUFFIX}"


def finish_command(raw: Path, final: Path, stereo: bool, ffmpeg: str = "ffmpeg") -> str:
    """What Asterisk runs (sh -c) when the recording ends: compress, then drop the raw file. In the
    files' directory, their common stem in a shell variable: the whole CLI line must fit Asterisk's
    511 bytes (`$f` is the shell's; Asterisk substitutes only `${...}`)."""
    assert raw.parent == final.parent and raw.stem == final.stem
    channels = "2" if stereo else "1"
    return (f"cd {raw.parent} && f={raw.stem} && {ffmpeg} -nostdin -v error -y -f s16le -ar {SAMPLE_RATE} "
            f"-ac 2 -i $f{raw.suffix} -ac {channels} -c:a libopus -b:a {BITRATE} $f{final.suffix} && rm -f $f{raw.suffix}")


def mixmonitor_arguments(raw: Path, command: str) -> str:
    return f"{raw},D,{command}"


def mixmonitor_cli(channel_id: str, arguments: str) -> str:
    return f'mixmonitor start {channel_id} "{arguments}"'


class Recorder:
    def __init__(self, instance: Instance, directory: Path, min_free_bytes: int, alert: Alert,
                 now: Callable[[], datetime], ffmpeg: str = "ffmpeg"):
        if _UNSAFE.search(str(directory)):
            raise ConfigError(f"recordings_dir {directory}: Asterisk's MixMonitor cannot take a path "
                                 "with blanks, commas, quotes or shell characters")
        self.instance, self.directory, self.min_free = instance, directory, min_free_bytes
        self._alert, self._now, self.ffmpeg = alert, now, shutil.which(ffmpeg) or ffmpeg
        self._alerted: datetime | None = None

    def path(self, name: str) -> Path | None:
        """The file of a stored name, or None for a name that is not one of ours (no ../ tricks)."""
        if not re.fullmatch(r"\d{4}/\d{2}/\d{2}/[A-Za-z0-9_.-]+" + re.escape(SUFFIX), name):
            return None
        return self.directory / name

    def find(self, channel_id: str, around: datetime) -> str:
        """The name of a channel's recording started on `around`'s local day or the next (a call
        over midnight), finished or still being compressed; "" when there is none."""
        for day in (around.date(), around.date() + timedelta(days=1)):
            folder = self.directory / f"{day:%Y/%m/%d}"
            for suffix in (SUFFIX, ".raw"):
                if found := sorted(folder.glob(f"*-{_file_safe(channel_id)}{suffix}")):
                    return f"{day:%Y/%m/%d}/{found[0].stem}{SUFFIX}"
        return ""

    def free_bytes(self) -> int:
        self.directory.mkdir(parents=True, exist_ok=True)
        return shutil.disk_usage(self.directory).free

    async def prepare(self, channel_id: str, started: datetime, stereo: bool) -> Started | Skipped:
        """The file and MixMonitor's arguments for recording a channel that is the customer's (left
        side), unless the disk is nearly full. Never raises for the call."""
        free = await asyncio.to_thread(self.free_bytes)
        if free < self.min_free:
            await self._disk_alert(free)
            return Skipped("disk_low", f"{free // 2**20} MB free")
        name = name_for(channel_id, started)
        final = self.directory / name
        raw = final.with_suffix(".raw")
        try:
            await asyncio.to_thread(final.parent.mkdir, parents=True, exist_ok=True)
        except OSError as e:
            log.error("recording not started call=%s error=%s", channel_id, e)
            return Skipped("failed", str(e)[:200])
        return Started(name, mixmonitor_arguments(raw, finish_command(raw, final, stereo, self.ffmpeg)))

    async def start(self, channel_id: str, started: datetime, stereo: bool,
                    channel_name: str = "") -> Started | Skipped:
        """Start recording the customer's channel now (Asterisk's CLI). Never raises for the call.
        The CLI finds a channel by a prefix of its name, else of its uniqueid: the id "17965.5" would
        also match "17965.5-leg1" or "17965.50", so the channel's full name is given when known, and
        MixMonitor is checked to be running on it."""
        prepared = await self.prepare(channel_id, started, stereo)
        if isinstance(prepared, Skipped):
            return prepared
        name, target = prepared.name, channel_name or channel_id
        raw = (self.directory / name).with_suffix(".raw")
        line = mixmonitor_cli(target, prepared.arguments)
        if len(line.encode()) > CLI_LINE_MAX:
            log.error("recording not started call=%s: the command is %d bytes, Asterisk's CLI takes %d; "
                      "use a shorter recordings_dir", channel_id, len(line.encode()), CLI_LINE_MAX)
            return Skipped("failed", "recordings_dir too long for Asterisk's CLI")
        try:
            out = await asyncio.to_thread(self.instance.cli, line)
            running = "" if out.strip() else await asyncio.to_thread(self.instance.cli, f"mixmonitor list {target}")
        except AsteriskError as e:
            log.error("recording not started call=%s error=%s", channel_id, e)
            return Skipped("failed", str(e)[:200])
        if out.strip():                      # the CLI prints only on trouble ("No channel ...")
            log.error("recording not started call=%s asterisk=%s", channel_id, out.strip()[:200])
            return Skipped("failed", out.strip()[:200])
        if str(raw.with_suffix("")) not in running:     # MixMonitor lists the file without its extension
            log.error("recording not running call=%s channel=%s asterisk=%s", channel_id, target,
                      running.strip()[-200:])
            return Skipped("failed", f"MixMonitor is not running on {target}")
        log.info("recording started call=%s channel=%s file=%s stereo=%s", channel_id, target, name, stereo)
        return prepared

    async def _disk_alert(self, free: int) -> None:
        now = self._now()
        log.warning("recording skipped: %d MB free in %s, floor %d MB", free // 2**20, self.directory,
                    self.min_free // 2**20)
        if self._alerted is not None and now - self._alerted < ALERT_EVERY:
            return
        self._alerted = now
        try:
            await self._alert(f"recording-disk:{now:%Y%m%d%H}",
                              "Call recording stopped: the disk is nearly full",
                              f"{free // 2**20} MB free in {self.directory}, below the floor of "
                              f"{self.min_free // 2**20} MB (recording_min_free_mb). Calls go on without "
                              "recording until space is freed.")
        except Exception:
            log.exception("recording disk alert not queued")


async def record_call(call: CallSession, recorder: Recorder, plan: Plan, now: datetime) -> Started | Skipped:
    """The consent prompt when the plan asks for it, then the customer's channel recorded to the end
    of the call; the channel keeps the file's name (VARIABLE) for a service that picks it up again."""
    if plan.recording.consent:
        await call.play((CONSENT_PROMPT,))
    started = now.astimezone(ZoneInfo(plan.timezone)) if plan.timezone else now
    try:
        channel_name = (await call.ari.get_channel(call.channel_id)).name
    except AriError:                           # gone: the CLI says so below
        channel_name = ""
    result = await recorder.start(call.channel_id, started, plan.recording.stereo, channel_name)
    if isinstance(result, Started):            # a caller gone meanwhile leaves nothing to mark
        await quietly(call.ari.set_var(call.channel_id, VARIABLE, result.name), "recording mark")
    return result


def purge(directory: Path, today: date, retention_days: int) -> list[str]:
    """Delete the days older than `retention_days` before `today`; the days deleted (YYYY/MM/DD).
    0 keeps everything."""
    if retention_days <= 0 or not directory.is_dir():
        return []
    oldest = today - timedelta(days=retention_days)
    gone = []
    for day_dir in sorted(directory.glob("[0-9][0-9][0-9][0-9]/[0-9][0-9]/[0-9][0-9]")):
        rel = day_dir.relative_to(directory).as_posix()
        try:
            day = date(*(int(p) for p in rel.split("/")))
        except ValueError:
            continue
        if day < oldest:
            shutil.rmtree(day_dir)
            gone.append(rel)
    # Months, then years, left empty.
    for pattern in ("[0-9][0-9][0-9][0-9]/[0-9][0-9]", "[0-9][0-9][0-9][0-9]"):
        for parent in directory.glob(pattern):
            if parent.is_dir() and not any(parent.iterdir()):
                parent.rmdir()
    return gone



class DailyPurge:
    """The service's task that applies the plan's retention: at start, then every `every` seconds."""

    def __init__(self, directory: Path, retention_days: Callable[[], int | None], today: Callable[[], date],
                 every: float = 3600.0):
        self.directory, self._retention, self._today, self.every = directory, retention_days, today, every

    async def run(self) -> None:
        """Runs in the service's task group until cancelled."""
        while True:
            days = self._retention()
            if days is not None:
                try:
                    gone = await asyncio.to_thread(purge, self.directory, self._today(), days)
                except OSError:
                    log.exception("recording purge failed dir=%s", self.directory)
                else:
                    if gone:
                        log.info("recordings purged days=%s retention_days=%d", ",".join(gone), days)
            await asyncio.sleep(self.every)
