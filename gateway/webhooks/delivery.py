"""One webhook delivery attempt: signed as Standard Webhooks says, sent, its answer classified.

Headers ``webhook-id`` (the same on every attempt), ``webhook-timestamp`` (this attempt's
time) and ``webhook-signature`` (``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``,
signed by the ``standardwebhooks`` package). Redirects are not followed: a receiver's URL is
configuration, and following a ``Location`` would let an answer choose where the gateway sends.
"""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

import aiohttp
from standardwebhooks import Webhook

from gateway.settings import WebhookEndpoint
from gateway.store.webhooks import Claimed

RETRIED_4XX = frozenset({408, 409, 429})  # 4xx that still deserve a retry
MAX_RETRY_AFTER = 24 * 3600.0  # a receiver cannot push a retry further than this
USER_AGENT = "lac-gateway-webhooks"


class Outcome(StrEnum):
    """How an attempt ended."""

    DELIVERED = "delivered"  # 2xx
    RETRY = "retry"  # timeout, connection error, 3xx, 5xx, 408, 409, 429
    REJECTED = "rejected"  # any other 4xx: final


@dataclass(frozen=True, slots=True)
class Attempt:
    """The result of one attempt: outcome, HTTP status (0: none), error kind, Retry-After."""

    outcome: Outcome
    status: int = 0
    error: str = ""
    retry_after: float | None = None


class Sender:
    """Sends deliveries to one endpoint, signed with its secret."""

    def __init__(self, endpoint: WebhookEndpoint, session: aiohttp.ClientSession, timeout: float):
        self.endpoint = endpoint
        self.session = session
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.signer = Webhook(endpoint.signing_secret())

    def headers(self, delivery: Claimed, at: datetime) -> dict[str, str]:
        """The signed headers of one attempt at time ``at``."""
        body = delivery.body.decode()
        return {
            "webhook-id": delivery.msg,
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": self.signer.sign(delivery.msg, at, body),
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
        }

    async def send(self, delivery: Claimed) -> Attempt:
        """One attempt; never raises for the receiver's failures."""
        headers = self.headers(delivery, datetime.now(UTC))
        try:
            async with self.session.post(
                self.endpoint.url,
                data=delivery.body,
                headers=headers,
                allow_redirects=False,
                timeout=self.timeout,
            ) as resp:
                await resp.read()
                return classify(resp.status, resp.headers.get("Retry-After"))
        except TimeoutError:
            return Attempt(Outcome.RETRY, error="timeout")
        except aiohttp.ClientError as exc:
            return Attempt(Outcome.RETRY, error=type(exc).__name__)


def classify(status: int, retry_after: str | None) -> Attempt:
    """The outcome of an HTTP answer."""
    if 200 <= status < 300:
        return Attempt(Outcome.DELIVERED, status)
    if 400 <= status < 500 and status not in RETRIED_4XX:
        return Attempt(Outcome.REJECTED, status, error="http")
    return Attempt(Outcome.RETRY, status, error="http", retry_after=parse_retry_after(retry_after))


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` (delta seconds or an HTTP date), capped; None if unusable."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    delta = when.timestamp() - (time.time() if now is None else now)
    return min(max(delta, 0.0), MAX_RETRY_AFTER)
