"""Signed session cookies and CSRF tokens for the console (no server-side session store needed).

The cookie holds the user id, a CSRF token and an expiry, signed with HMAC-SHA256 by a secret kept
in var/console-secret. Forms carry the CSRF token; a POST without the session's token is refused.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

COOKIE = "ivr_session"
LIFETIME = 12 * 3600


@dataclass(frozen=True)
class Session:
    user_id: int
    csrf: str
    expires: float


def load_secret(path: Path) -> bytes:
    """The signing key, made once with 0600 permissions."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return bytes.fromhex(path.read_text().strip())


class Sessions:
    def __init__(self, secret: bytes, secure: bool = False):
        self._secret, self._secure = secret, secure

    def _sign(self, payload: bytes) -> str:
        return hmac.new(self._secret, payload, hashlib.sha256).hexdigest()

    def issue(self, response: web.StreamResponse, user_id: int) -> Session:
        session = Session(user_id, secrets.token_urlsafe(24), time.time() + LIFETIME)
        payload = base64.urlsafe_b64encode(json.dumps(
            {"u": session.user_id, "c": session.csrf, "e": session.expires}).encode())
        response.set_cookie(COOKIE, f"{payload.decode()}.{self._sign(payload)}", max_age=LIFETIME,
                            httponly=True, samesite="Lax", secure=self._secure, path="/")
        return session

    def read(self, request: web.Request) -> Session | None:
        raw = request.cookies.get(COOKIE, "")
        payload, _, signature = raw.rpartition(".")
        if not payload or not hmac.compare_digest(self._sign(payload.encode()), signature):
            return None
        try:
            data = json.loads(base64.urlsafe_b64decode(payload))
            session = Session(int(data["u"]), str(data["c"]), float(data["e"]))
        except (ValueError, KeyError, TypeError):
            return None
        return session if session.expires > time.time() else None

    @staticmethod
    def clear(response: web.StreamResponse) -> None:
        response.del_cookie(COOKIE, path="/")
