"""A minimal SIP REGISTER client over UDP for tests: one digest-authenticated REGISTER *query* (no
Contact header, so it changes no binding) from a chosen loopback address; returns the final status."""
from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
import socket


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()      # noqa: S324 - SIP digest is MD5 by definition


def _request(source: str, port: int, pbx: str, user: str, cseq: int, call_id: str, tag: str,
             authorization: str = "") -> bytes:
    lines = [f"REGISTER sip:{pbx} SIP/2.0",
             f"Via: SIP/2.0/UDP {source}:{port};rport;branch=z9hG4bK{secrets.token_hex(8)}",
             "Max-Forwards: 70",
             f"From: <sip:{user}@{pbx}>;tag={tag}",
             f"To: <sip:{user}@{pbx}>",
             f"Call-ID: {call_id}",
             f"CSeq: {cseq} REGISTER",
             "User-Agent: ivr-test-register"]
    if authorization:
        lines.append(f"Authorization: {authorization}")
    lines += ["Content-Length: 0", "", ""]
    return "\r\n".join(lines).encode()


def digest(challenge: str, user: str, password: str, uri: str) -> str:
    fields = dict(re.findall(r'(\w+)="?([^",]*)"?', challenge))
    realm, nonce = fields["realm"], fields["nonce"]
    ha1, ha2 = _md5(f"{user}:{realm}:{password}"), _md5(f"REGISTER:{uri}")
    parts = [f'username="{user}"', f'realm="{realm}"', f'nonce="{nonce}"', f'uri="{uri}"', "algorithm=MD5"]
    if "auth" in fields.get("qop", "").split(","):
        cnonce = secrets.token_hex(8)
        parts += [f'response="{_md5(f"{ha1}:{nonce}:00000001:{cnonce}:auth:{ha2}")}"', "qop=auth", "nc=00000001",
                  f'cnonce="{cnonce}"']
    else:
        parts.append(f'response="{_md5(f"{ha1}:{nonce}:{ha2}")}"')
    if "opaque" in fields:
        parts.append(f'opaque="{fields["opaque"]}"')
    return "Digest " + ", ".join(parts)


async def register(source: str, pbx: str, pbx_port: int, user: str, password: str, timeout: float = 2.0) -> int | None:
    """The final status of a REGISTER for `user` sent from `source`; None when the PBX does not answer."""
    return await asyncio.to_thread(_register, source, pbx, pbx_port, user, password, timeout)


def _register(source: str, pbx: str, pbx_port: int, user: str, password: str, timeout: float) -> int | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        sock.settimeout(timeout)
        port = sock.getsockname()[1]
        call_id, tag = f"{secrets.token_hex(8)}@{source}", secrets.token_hex(4)
        sock.sendto(_request(source, port, pbx, user, 1, call_id, tag), (pbx, pbx_port))
        try:
            status, text = _reply(sock)
            if status == 401:
                challenge = re.search(r"^WWW-Authenticate: *(.+)$", text, re.M | re.I).group(1).strip()
                auth = digest(challenge, user, password, f"sip:{pbx}")
                sock.sendto(_request(source, port, pbx, user, 2, call_id, tag, auth), (pbx, pbx_port))
                status, _ = _reply(sock)
        except TimeoutError:
            return None
        return status


def _reply(sock: socket.socket) -> tuple[int, str]:
    """The first final response (provisional 1xx ones are skipped)."""
    while True:
        text = sock.recv(65535).decode("utf-8", "replace")
        status = int(text.split(" ", 2)[1])
        if status >= 200:
            return status, text
