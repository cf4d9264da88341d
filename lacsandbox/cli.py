"""``python -m gateway sandbox``: run the sandbox until interrupted."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from pathlib import Path

from aiohttp import web

from lacsandbox.app import SandboxConfig, create_sandbox_app
from lacsandbox.seed import SeedError


async def _serve(app: web.Application, host: str, port: int) -> None:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        addresses = runner.addresses
        bound = addresses[0][1] if addresses else port
        print(f"LAC sandbox listening on http://{host}:{bound}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    finally:
        await runner.cleanup()


def run_sandbox(
    host: str, port: int, seed: str | None, *, without_get_license: bool = False
) -> int:
    """Start the sandbox server on ``host:port`` and serve until SIGINT or SIGTERM."""
    config = SandboxConfig(
        seed=Path(seed) if seed else None, without_get_license=without_get_license
    )
    try:
        app = create_sandbox_app(config)
    except (OSError, SeedError, ValueError) as exc:
        print(f"sandbox: cannot load the seed: {exc}", file=sys.stderr)
        return 2
    asyncio.run(_serve(app, host, port))
    return 0
