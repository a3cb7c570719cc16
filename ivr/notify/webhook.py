"""Webhook delivery: a JSON POST signed with HMAC-SHA256 over the exact body, with the outbox key as
idempotency key. Receivers check `X-IVR-Signature: sha256=<hex>` with their shared secret."""
from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import aiohttp

from ivr.notify.config import Webhook
from ivr.notify.outbox import DeliveryFailed, OutboxMessage

SIGNATURE_HEADER = "X-IVR-Signature"
KEY_HEADER = "Idempotency-Key"
EVENT_HEADER = "X-IVR-Event"


def body_bytes(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, body), signature)


class WebhookDelivery:
    def __init__(self, webhooks: tuple[Webhook, ...], timeout: float = 10.0):
        # The secret is looked up at delivery time, so it is never stored in the outbox.
        self.secrets = {w.url: w.secret for w in webhooks}
        self.timeout = timeout

    async def __call__(self, batch: list[OutboxMessage]) -> None:
        for message in batch:
            await self.post(message)

    async def post(self, message: OutboxMessage) -> None:
        secret = self.secrets.get(message.target)
        if secret is None:
            raise DeliveryFailed(f"webhook {message.target} is no longer configured")
        body = body_bytes(message.payload)
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(secret, body),
                   KEY_HEADER: message.key, EVENT_HEADER: str(message.payload.get("event", ""))}
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout)) as http:
                async with http.post(message.target, data=body, headers=headers) as response:
                    if response.status >= 300:
                        raise DeliveryFailed(f"webhook {message.target}: HTTP {response.status}")
        except aiohttp.ClientError as e:
            raise DeliveryFailed(f"webhook {message.target}: {type(e).__name__}: {e}") from None
