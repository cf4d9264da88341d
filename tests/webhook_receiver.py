"""A real webhook receiver for the tests: an aiohttp server verifying every delivery.

Every request is checked with ``standardwebhooks.Webhook(secret).verify(body, headers)``;
what it verified is kept in order, and it can be told to answer failures first.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from tests.gwharness import serve

SECRET = "whsec_" + base64.b64encode(b"lac-gateway-webhook-test-secret!").decode()


@dataclass
class Received:
    """One verified delivery: its webhook id, the parsed body and the raw request."""

    msg_id: str
    body: dict[str, Any]
    raw: bytes
    headers: dict[str, str]


@dataclass
class Receiver:
    """The receiving end: answers ``plan`` in order (0: as usual), then verifies and records."""

    secret: str = SECRET
    plan: list[int | tuple[int, dict[str, str]]] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    attempts: list[str] = field(default_factory=list)  # webhook-id of every request
    unverified: int = 0
    hold: asyncio.Event | None = None  # while set-able and unset, requests wait on it
    active: int = 0
    most_active: int = 0
    on_request: Callable[[], None] | None = None
    url: str = ""
    _runner: web.AppRunner | None = None

    async def start(self, port: int = 0) -> str:
        """Serve on 127.0.0.1 (``port``: 0 for any); returns the hook URL."""
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        if port:
            self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
            await self._runner.setup()
            await web.TCPSite(self._runner, "127.0.0.1", port).start()
            self.url = f"http://127.0.0.1:{port}/hook"
        else:
            self._runner, base = await serve(app)
            self.url = f"{base}/hook"
        return self.url

    async def stop(self) -> None:
        """Stop serving."""
        if self._runner is not None:
            await self._runner.cleanup()

    def of_type(self, event: str) -> list[Received]:
        """Verified deliveries of one event type."""
        return [r for r in self.received if r.body["type"] == event]

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        headers = dict(request.headers)
        self.attempts.append(headers.get("webhook-id", ""))
        self.active += 1
        self.most_active = max(self.most_active, self.active)
        try:
            if self.hold is not None:
                await self.hold.wait()
            answer = self.plan.pop(0) if self.plan else 0
            status, extra = answer if isinstance(answer, tuple) else (answer, {})
            if status:
                return web.Response(status=status, headers=extra)
            try:
                body = Webhook(self.secret).verify(raw, headers)
            except WebhookVerificationError:
                self.unverified += 1
                return web.Response(status=400)
            self.received.append(Received(headers["webhook-id"], body, raw, headers))
            return web.Response(status=204)
        finally:
            self.active -= 1
