"""A real SIP desk phone for tests: baresip (Debian's `baresip-core`), independent of Asterisk.

It registers to the PBX as a staff extension from its own loopback address, answers by itself,
speaks a WAV (module aufile), keeps what it hears (module sndfile: one WAV per call) and takes
commands ("transfer 101", "hangup", "dial 101") over its TCP control socket (module ctrl_tcp,
netstrings of JSON).
"""
from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path

MODULES = ("account", "g711", "aufile", "sndfile", "menu", "ctrl_tcp")
CONTROL_PORT = 4444


class Softphone:
    def __init__(self, workdir: Path, address: str, extension: str, password: str, pbx: str,
                 voice: Path):
        self.dir, self.address, self.extension = workdir, address, extension
        self.password, self.pbx, self.voice = password, pbx, voice
        self.proc: subprocess.Popen | None = None

    @staticmethod
    def available() -> bool:
        return shutil.which("baresip") is not None

    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "heard").mkdir(exist_ok=True)
        modules = "\n".join(f"module {m}.so" for m in MODULES)
        (self.dir / "config").write_text(f"""\
poll_method epoll
sip_listen {self.address}:5060
net_interface {self.address}
rtp_ports 31000-31999
audio_source aufile,{self.voice}
audio_player aufile,/dev/null
audio_alert aufile,/dev/null
module_path /usr/lib/baresip/modules
{modules}
ctrl_tcp_listen {self.address}:{CONTROL_PORT}
snd_path {self.dir / "heard"}
""", encoding="utf-8")
        # answermode=auto: a desk phone picked up at once; regint: re-register well within the test.
        (self.dir / "accounts").write_text(
            f"<sip:{self.extension}@{self.pbx}>;auth_pass={self.password};answermode=auto;regint=120\n",
            encoding="utf-8")
        (self.dir / "contacts").write_text("", encoding="utf-8")
        log = open(self.dir / "baresip.log", "ab")
        self.proc = subprocess.Popen(["baresip", "-f", str(self.dir)], stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=subprocess.STDOUT)

    async def command(self, command: str, params: str = "") -> dict:
        """Run one baresip command; its JSON answer."""
        reader, writer = await asyncio.open_connection(self.address, CONTROL_PORT)
        try:
            body = json.dumps({"command": command, "params": params, "token": "t"}).encode()
            writer.write(f"{len(body)}:".encode() + body + b",")
            await writer.drain()
            length = int((await reader.readuntil(b":"))[:-1])
            answer = await reader.readexactly(length + 1)
            return json.loads(answer[:-1])
        finally:
            writer.close()

    def heard(self) -> list[Path]:
        """WAVs of what the phone heard (decoded audio), one per call, oldest first."""
        return sorted((self.dir / "heard").glob("dump-*-dec.wav"), key=lambda p: p.stat().st_mtime)

    def log(self) -> str:
        path = self.dir / "baresip.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
