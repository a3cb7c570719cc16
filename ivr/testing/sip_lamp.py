"""A SIP desk phone's message-waiting lamp, for tests: a minimal UA of its own (no Asterisk).

It REGISTERs a Contact from its own loopback address (digest auth, ivr.testing.sip_register),
answers every NOTIFY with 200 and keeps what it said (`Messages-Waiting`, `Voice-Message`), and
turns INVITEs away with 486 Busy Here. Unregisters on `stop()`.
"""
from __future__ import annotations

import asyncio
import re
import secrets
import time
from dataclasses import dataclass

from ivr.testing.sip_register import digest

_STATUS = re.compile(r"^SIP/2\.0 (\d{3})")


@dataclass(frozen=True)
class Notify:
    at: float
    event: str
    body: str

    @property
    def waiting(self) -> bool:
        return bool(re.search(r"^Messages-Waiting:\s*yes", self.body, re.M | re.I))

    @property
    def voice(self) -> str:
        """`Voice-Message: new/old`, e.g. "1/0"."""
        m = re.search(r"^Voice-Message:\s*(\d+/\d+)", self.body, re.M | re.I)
        return m.group(1) if m else ""


def _header(text: str, name: str) -> str:
    m = re.search(rf"^{name}:\s*(.*)$", text, re.M | re.I)
    return m.group(1).strip() if m else ""


class LampPhone(asyncio.DatagramProtocol):
    def __init__(self, address: str, pbx: str, pbx_port: int, user: str, password: str):
        self.address, self.pbx, self.pbx_port, self.user, self.password = address, pbx, pbx_port, user, password
        self.notifies: list[Notify] = []
        self.port = 0
        self._transport: asyncio.DatagramTransport | None = None
        self._replies: asyncio.Queue[str] = asyncio.Queue()
        self._call_id = f"{secrets.token_hex(8)}@{address}"
        self._tag = secrets.token_hex(4)
        self._cseq = 0

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._transport, _ = await loop.create_datagram_endpoint(lambda: self, local_addr=(self.address, 0))
        self.port = self._transport.get_extra_info("sockname")[1]

    async def stop(self) -> None:
        if self._transport is not None:
            try:
                await self.register(expires=0)
            finally:
                self._transport.close()
                self._transport = None

    # ----- REGISTER -----

    def _register_request(self, expires: int, authorization: str = "") -> bytes:
        self._cseq += 1
        lines = [f"REGISTER sip:{self.pbx}:{self.pbx_port} SIP/2.0",
                 f"Via: SIP/2.0/UDP {self.address}:{self.port};rport;branch=z9hG4bK{secrets.token_hex(8)}",
                 "Max-Forwards: 70",
                 f"From: <sip:{self.user}@{self.pbx}>;tag={self._tag}",
                 f"To: <sip:{self.user}@{self.pbx}>",
                 f"Call-ID: {self._call_id}",
                 f"CSeq: {self._cseq} REGISTER",
                 f"Contact: <sip:{self.user}@{self.address}:{self.port}>",
                 f"Expires: {expires}",
                 "User-Agent: ivr-test-lamp"]
        if authorization:
            lines.append(f"Authorization: {authorization}")
        return ("\r\n".join(lines + ["Content-Length: 0", "", ""])).encode()

    async def register(self, expires: int = 300, timeout: float = 5.0) -> int:
        """The final status of a REGISTER (200 once registered)."""
        assert self._transport is not None, "start() first"
        self._transport.sendto(self._register_request(expires), (self.pbx, self.pbx_port))
        status, text = await self._final(timeout)
        if status == 401:
            challenge = _header(text, "WWW-Authenticate")
            auth = digest(challenge, self.user, self.password, f"sip:{self.pbx}:{self.pbx_port}")
            self._transport.sendto(self._register_request(expires, auth), (self.pbx, self.pbx_port))
            status, _ = await self._final(timeout)
        return status

    async def _final(self, timeout: float) -> tuple[int, str]:
        deadline = time.monotonic() + timeout
        while True:
            text = await asyncio.wait_for(self._replies.get(), max(0.01, deadline - time.monotonic()))
            status = int(_STATUS.match(text).group(1))
            if status >= 200 and "REGISTER" in _header(text, "CSeq"):
                return status, text

    # ----- what the PBX sends -----

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        text = data.decode("utf-8", "replace")
        if text.startswith("SIP/2.0"):
            self._replies.put_nowait(text)
            return
        method = text.split(" ", 1)[0]
        if method == "NOTIFY":
            body = text.split("\r\n\r\n", 1)[1] if "\r\n\r\n" in text else ""
            self.notifies.append(Notify(time.monotonic(), _header(text, "Event"), body))
            self._answer(text, addr, "200 OK")
        elif method == "INVITE":
            self._answer(text, addr, "486 Busy Here")
        elif method in ("OPTIONS", "BYE", "CANCEL"):
            self._answer(text, addr, "200 OK")

    def _answer(self, request: str, addr: tuple[str, int], status: str) -> None:
        to = _header(request, "To")
        if ";tag=" not in to:
            to += f";tag={secrets.token_hex(4)}"
        vias = re.findall(r"^Via:.*$", request, re.M | re.I)
        lines = [f"SIP/2.0 {status}", *vias, f"From: {_header(request, 'From')}", f"To: {to}",
                 f"Call-ID: {_header(request, 'Call-ID')}", f"CSeq: {_header(request, 'CSeq')}",
                 "Content-Length: 0", "", ""]
        assert self._transport is not None
        self._transport.sendto("\r\n".join(lines).encode(), addr)

    @property
    def lamp(self) -> bool | None:
        """The lamp as the last message-summary NOTIFY left it; None before any."""
        summaries = [n for n in self.notifies if n.event.startswith("message-summary")]
        return summaries[-1].waiting if summaries else None

    async def wait_lamp(self, on: bool, timeout: float = 10.0) -> Notify:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.lamp is on:
                return self.notifies[-1]
            await asyncio.sleep(0.1)
        raise AssertionError(f"lamp not {'on' if on else 'off'} within {timeout:.0f} s: {self.notifies}")
