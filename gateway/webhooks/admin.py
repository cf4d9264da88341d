"""What the webhook admin routes do: list deliveries by status and endpoint, retry one."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from gateway.errors import Conflict, InvalidInput, NotFound
from gateway.settings import WebhookSettings
from gateway.store.webhooks import STATUSES, WebhookStore

DELIVERY_ID = re.compile(r"([a-z0-9][a-z0-9_-]{0,39})\.([0-9]{1,20}-[0-9]{1,20})")
CURSOR = re.compile(r"[0-9]{1,22}")
INT_FIELDS = ("attempts", "tries", "last_status")
TIME_FIELDS = ("created", "next_at", "last_attempt_at", "delivered_at")


class WebhookAdmin:
    """Deliveries for operators: a paged listing and a manual retry (same webhook id)."""

    def __init__(
        self,
        store: WebhookStore,
        settings: WebhookSettings,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.endpoints = [e.name for e in settings.all_endpoints()]
        self.clock = clock

    async def deliveries(
        self, status: str, endpoint: str | None, limit: int, cursor: str | None
    ) -> tuple[list[dict[str, object]], str | None]:
        """A page of deliveries, newest first, and the cursor of the next page (None: last)."""
        if status not in STATUSES:
            raise InvalidInput.field("status", "must be pending, failed or delivered")
        names = self._endpoints(endpoint)
        before = _cursor(cursor)
        found = []
        for name in names:
            found += await self.store.listing(name, status, limit, before)
        found.sort(key=lambda item: item[0], reverse=True)
        page = found[:limit]
        more = len(found) > limit or (len(page) == limit and len(names) == 1)
        next_cursor = str(int(page[-1][0])) if page and more else None
        return [view(fields) for _, fields in page], next_cursor

    async def retry(self, did: str) -> dict[str, object]:
        """Start a delivery over now, with a fresh retry schedule and its webhook id."""
        found = DELIVERY_ID.fullmatch(did)
        if found is None or found[1] not in self.endpoints:
            raise NotFound("no webhook delivery with this id")
        result = await self.store.retry(found[1], did, self.clock())
        if result == 0:
            raise NotFound("no webhook delivery with this id")
        if result < 0:
            raise Conflict("this delivery was delivered; the receiver has it")
        return view(await self.store.delivery(did))

    def _endpoints(self, endpoint: str | None) -> list[str]:
        if endpoint is None:
            return self.endpoints
        if endpoint not in self.endpoints:
            raise InvalidInput.field("endpoint", "names no configured webhook endpoint")
        return [endpoint]


def _cursor(raw: str | None) -> float | None:
    if raw is None:
        return None
    if not CURSOR.fullmatch(raw):
        raise InvalidInput.field("cursor", "must be the next_cursor of a previous page")
    return float(raw)


def view(fields: dict[str, str]) -> dict[str, object]:
    """A delivery as the admin route shows it (times ISO 8601, numbers as numbers)."""
    out: dict[str, object] = {
        "id": fields.get("id", ""),
        "endpoint": fields.get("endpoint", ""),
        "event": fields.get("event", ""),
        "webhook_id": fields.get("msg", ""),
        "status": fields.get("status", ""),
        "last_error": fields.get("last_error") or None,
    }
    for name in INT_FIELDS:
        raw = fields.get(name, "")
        out[name] = int(raw) if raw.isascii() and raw.isdigit() else 0
    for name in TIME_FIELDS:
        raw = fields.get(name, "")
        millis = int(raw) if raw.isascii() and raw.isdigit() else 0
        out[name] = _iso(millis) if millis else None
    return out


def _iso(millis: int) -> str:
    seconds, rest = divmod(millis, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{rest:03d}Z"
