"""``python -m gateway demo`` (``make run``): Redis, the sandbox and the gateway in one command.

Everything runs locally: a redis-server child process (data under ``.run/``), the LAC sandbox
and the gateway in this process. A demo API key is generated and printed with a curl command.
Ctrl-C stops all three.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import secrets
import signal
from pathlib import Path

from aiohttp import web

from gateway.api.protocol import GatewayRunner
from gateway.app import create_app
from gateway.logs import configure_logging
from gateway.settings import Settings
from lacsandbox.app import SandboxConfig, create_sandbox_app
from lacsandbox.localredis import LocalRedis, free_port

DEMO_KEY = "SNGLE-HOST1-DEMO0-00001"


def demo_settings(port: int, redis_url: str, sandbox_url: str, api_key: str) -> Settings:
    """Gateway settings toward the local sandbox with one admin API key."""
    return Settings(
        http={"host": "127.0.0.1", "port": port},
        redis={"url": redis_url},
        lac={
            "soap_url": f"{sandbox_url}/soap/type/enduser/version/2",
            "vendor_soap_url": f"{sandbox_url}/soap/type/vendor/version/4",
            "rest_url": f"{sandbox_url}/rest/v2",
            "username": "demo",
            "password": "demo",
            "allow_plain_http": True,
        },
        jobs={"first_poll": 0.5, "max_interval": 5.0},
        auth={
            "api_keys": [
                {
                    "name": "demo",
                    "sha256": hashlib.sha256(api_key.encode()).hexdigest(),
                    "admin": True,
                }
            ]
        },
    )


def _banner(port: int, sandbox_url: str, api_key: str) -> str:
    base = f"http://127.0.0.1:{port}"
    body = '{"activation_key": "%s", "hostids": ["HOSTNAME=my-laptop"]}' % DEMO_KEY  # noqa: UP031
    return f"""
lac-gateway demo is running
  gateway   {base}   (API docs: {base}/docs, metrics: {base}/metrics)
  sandbox   {sandbox_url}   (a LAC stand-in; demo orders in config/sandbox.toml)
  API key   {api_key}

Activate a license:
  curl -s -X POST {base}/v1/activations \\
    -H 'Authorization: Bearer {api_key}' -H 'Content-Type: application/json' \\
    -d '{body}'

Press Ctrl-C to stop.
"""


async def _serve(
    app: web.Application, port: int, runner_class: type[web.AppRunner] = web.AppRunner
) -> web.AppRunner:
    runner = runner_class(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


async def _main(port: int) -> None:
    redis = LocalRedis(Path(".run") / "redis", appendonly=True)
    redis.start()
    runners: list[web.AppRunner] = []
    try:
        sandbox_port = free_port()
        sandbox_url = f"http://127.0.0.1:{sandbox_port}"
        runners.append(await _serve(create_sandbox_app(SandboxConfig()), sandbox_port))
        api_key = "demo-" + secrets.token_urlsafe(18)
        settings = demo_settings(port, redis.url, sandbox_url, api_key)
        runners.append(await _serve(create_app(settings), port, GatewayRunner))
        print(_banner(port, sandbox_url, api_key), flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    finally:
        for runner in reversed(runners):
            await runner.cleanup()
        redis.stop()


def run_demo(port: int) -> int:
    """Run the demo until Ctrl-C."""
    configure_logging("INFO", "auto")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(port))
    print("demo stopped", flush=True)
    return 0
