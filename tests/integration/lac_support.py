"""Helpers for the LAC adapter tests: the sandbox control API and the sandbox's vendor login."""

from __future__ import annotations

from typing import Any

import aiohttp
from pydantic import SecretStr

from gateway.settings import LacSettings

VENDOR_USER = "lac-vendor"
VENDOR_PASSWORD = "s3cret-Pa55"


class SandboxControl:
    """The sandbox's ``/_sandbox/`` control API, as tests use it."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session = session
        self.base = base

    async def _json(self, method: str, path: str, body: object | None = None) -> Any:
        async with self.session.request(method, f"{self.base}/_sandbox{path}", json=body) as r:
            assert r.status < 300, await r.text()
            return await r.json()

    async def put_order(self, key: str, **spec: object) -> dict[str, Any]:
        """Create or change an order."""
        result: dict[str, Any] = await self._json("PUT", f"/orders/{key}", spec)
        return result

    async def order(self, key: str) -> dict[str, Any]:
        """An order as the sandbox sees it, licenses included."""
        result: dict[str, Any] = await self._json("GET", f"/orders/{key}")
        return result

    async def fault(self, kind: str, **fields: object) -> None:
        """Inject one fault."""
        await self._json("POST", "/faults", {"kind": kind, **fields})

    async def clear_faults(self) -> None:
        """Remove every injected fault."""
        await self._json("DELETE", "/faults")

    async def counters(self) -> dict[str, dict[str, int]]:
        """Calls received, ``{transport: {operation: count}}``."""
        result: dict[str, dict[str, int]] = await self._json("GET", "/counters")
        return result

    async def count(self, transport: str, operation: str) -> int:
        """Calls of one operation received over one transport."""
        return (await self.counters()).get(transport, {}).get(operation, 0)

    async def reset_counters(self) -> None:
        """Zero every counter."""
        await self._json("DELETE", "/counters")

    async def expire_tokens(self) -> None:
        """Every vendor token stops working now."""
        await self._json("POST", "/tokens/expire")

    async def advance(self, seconds: float) -> None:
        """Move the sandbox clock forward."""
        await self._json("POST", "/clock", {"advance": seconds})


def lac_settings(sandbox_url: str, **overrides: Any) -> LacSettings:
    """Settings pointing every LAC URL at the sandbox, with short timeouts for tests."""
    values: dict[str, Any] = {
        "soap_url": f"{sandbox_url}/soap/type/enduser/version/2",
        "vendor_soap_url": f"{sandbox_url}/soap/type/vendor/version/4",
        "rest_url": f"{sandbox_url}/rest/v2",
        "username": VENDOR_USER,
        "password": SecretStr(VENDOR_PASSWORD),
        "allow_plain_http": True,
        "connect_timeout": 2.0,
        "read_timeout": 2.0,
        "total_timeout": 5.0,
    }
    values.update(overrides)
    return LacSettings(**values)
