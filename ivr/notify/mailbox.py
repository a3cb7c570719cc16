"""A local catch-all mailbox (aiosmtpd): accepts every mail on one address and keeps it, in memory and
as .eml files when given a directory. For tests and for a demo (`make run` can show what was sent)."""
from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
import time
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session, SMTP


class _Handler:
    def __init__(self, box: Mailbox):
        self.box = box

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data = envelope.original_content or envelope.content
        raw = data if isinstance(data, bytes) else str(data).encode()
        self.box._received(raw, list(envelope.rcpt_tos))
        return "250 Message accepted"


class Mailbox:
    """`start()` / `stop()` may be repeated (a server that goes down and comes back)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, directory: Path | None = None):
        self.host, self.port, self.directory = host, port, directory
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    def start(self) -> None:
        if self.port == 0:
            with socket.socket() as s:
                s.bind((self.host, 0))
                self.port = s.getsockname()[1]
        self._controller = Controller(_Handler(self), hostname=self.host, port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def running(self) -> bool:
        return self._controller is not None

    def _received(self, raw: bytes, rcpt: list[str]) -> None:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        with self._lock:
            self.messages.append(message)  # type: ignore[arg-type]
            self.recipients.append(rcpt)
            count = len(self.messages)
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
            (self.directory / f"{int(time.time())}-{count:05d}.eml").write_bytes(raw)

    def snapshot(self) -> list[EmailMessage]:
        with self._lock:
            return list(self.messages)

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        """The first `count` mails, waiting for them to arrive."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            messages = self.snapshot()
            if len(messages) >= count:
                return messages
            await asyncio.sleep(0.1)
        raise TimeoutError(f"{len(self.snapshot())} of {count} mails arrived within {timeout:.0f} s")
