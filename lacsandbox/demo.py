"""``python -m gateway demo`` (``make run``): Redis, the sandbox and the gateway in one command.

Everything runs locally: a redis-server child process and, in this process, the LAC sandbox
and the gateway. Both states start fresh on every run (the sandbox keeps its licenses in
memory, so Redis keeps nothing either: a cached license never outlives the sandbox's). The demo
API key is kept in ``.run/demo-api-key``, so the banner's commands keep working across runs.
Ctrl-C stops the gateway first (in-flight requests are answered), then the sandbox, then Redis.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import os
import secrets
import shutil
import signal
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from aiohttp import web

from gateway.api.protocol import GatewayRunner
from gateway.app import create_app
from gateway.hostids import Target
from gateway.logs import configure_logging
from gateway.settings import Settings
from lacsandbox.app import SandboxConfig, create_sandbox_app
from lacsandbox.localredis import LocalRedis, free_port

RUN_DIR = Path(".run")
KEY_FILE = "demo-api-key"
# Orders of config/sandbox.toml: one deactivation allowed, and a generation taking 2 seconds.
INSTANT_KEY = "DEACT-ONCE0-DEMO0-00011"
PENDING_KEY = "DELAY-2SECS-DEMO0-00007"
DEMO_HOST = "HOSTNAME=my-laptop"
DRAIN_SECONDS = 30.0  # the longest Prefer: wait the banner shows is answered before stopping


def demo_settings(port: int, redis_url: str, sandbox_url: str, api_key: str) -> Settings:
    """Gateway settings toward the local sandbox with one admin API key."""
    return Settings(
        http={"host": "127.0.0.1", "port": port, "shutdown_timeout": DRAIN_SECONDS},
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


def demo_api_key(run_dir: Path) -> str:
    """The demo's API key, made once and kept in ``run_dir`` (readable by its owner only)."""
    path = run_dir / KEY_FILE
    if path.is_file():
        kept = path.read_text(encoding="ascii").strip()
        if kept:
            return kept
    run_dir.mkdir(parents=True, exist_ok=True)
    key = "demo-" + secrets.token_urlsafe(18)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(key + "\n")
    return key


def _curl(method: str, url: str, api_key: str, *, extra: str = "", body: str = "") -> str:
    lines = [
        f"  curl -s{extra} -X {method} '{url}' \\",
        f"    -H 'Authorization: Bearer {api_key}'",
    ]
    if body:
        lines[-1] += " -H 'Content-Type: application/json' \\"
        lines.append(f"    -d '{body}'")
    return "\n".join(lines)


def _activation(key: str) -> str:
    return '{"activation_key": "%s", "hostids": ["%s"]}' % (key, DEMO_HOST)  # noqa: UP031


def banner(port: int, sandbox_url: str, api_key: str) -> str:
    """What the demo prints once everything listens: where, the key and three commands."""
    base = f"http://127.0.0.1:{port}"
    pending_id = Target(PENDING_KEY, [DEMO_HOST]).aid
    removal = f"{base}/v1/licenses/{INSTANT_KEY}?hostid={DEMO_HOST}"
    return f"""
lac-gateway demo is running
  gateway   {base}   (API docs: {base}/docs, metrics: {base}/metrics)
  sandbox   {sandbox_url}   (a LAC stand-in; demo orders in config/sandbox.toml)
  API key   {api_key}   (kept in {RUN_DIR / KEY_FILE}; delete .run/ for a new one)
  state     fresh on every start: the sandbox and Redis both start empty

1. An activation answered at once (200, the license):
{_curl("POST", f"{base}/v1/activations", api_key, body=_activation(INSTANT_KEY))}

2. A pending one: 202 at once, then a long poll answered when the license is ready (~2 s):
{
        _curl(
            "POST",
            f"{base}/v1/activations",
            api_key,
            extra=" -i -H 'Prefer: respond-async'",
            body=_activation(PENDING_KEY),
        )
    }
{_curl("GET", f"{base}/v1/activations/{pending_id}?wait=30", api_key)}

3. A deactivation of the license of 1 (204; its order allows one per run):
{_curl("DELETE", removal, api_key, extra=" -i")}

Press Ctrl-C to stop.
"""


async def _serve(
    app: web.Application, port: int, runner_class: type[web.AppRunner] = web.AppRunner
) -> web.AppRunner:
    runner = runner_class(app, access_log=None, shutdown_timeout=DRAIN_SECONDS)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


def _say(line: str) -> None:
    print(f"demo: {line}", flush=True)


async def _until_stopped() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def _main(port: int) -> None:
    # Fresh Redis, as the sandbox is: a license cached by an earlier run would be one the new
    # sandbox never issued, and activating it again would then hold two seats.
    shutil.rmtree(RUN_DIR / "redis", ignore_errors=True)
    redis = LocalRedis(RUN_DIR / "redis", own_group=True)
    redis.start()
    gateway: web.AppRunner | None = None
    sandbox: web.AppRunner | None = None
    try:
        sandbox_port = free_port()
        sandbox_url = f"http://127.0.0.1:{sandbox_port}"
        sandbox = await _serve(create_sandbox_app(SandboxConfig()), sandbox_port)
        api_key = demo_api_key(RUN_DIR)
        settings = demo_settings(port, redis.url, sandbox_url, api_key)
        gateway = await _serve(create_app(settings), port, GatewayRunner)
        print(banner(port, sandbox_url, api_key), flush=True)
        await _until_stopped()
    finally:
        await _stop(gateway, sandbox, redis)


async def _stop(
    gateway: web.AppRunner | None, sandbox: web.AppRunner | None, redis: LocalRedis
) -> None:
    """The gateway first (it drains while LAC and Redis still answer), then the sandbox, Redis."""
    if gateway is not None:
        _say("stopping the gateway (answering requests in flight)")
        await gateway.cleanup()
        _say("gateway stopped")
    if sandbox is not None:
        await sandbox.cleanup()
        _say("sandbox stopped")
    redis.stop()
    _say("redis stopped")


@contextlib.contextmanager
def _terminal_to_self() -> Iterator[None]:
    """Make this process's own group the terminal's foreground group for the demo's run.

    Ctrl-C then signals the demo alone, not ``make`` above it (which would die of the signal
    and exit non-zero); the terminal goes back to the previous group afterwards.
    """
    try:
        tty = sys.stdin.fileno()
        previous = os.tcgetpgrp(tty)
    except (OSError, ValueError):  # not on a terminal: nothing to arrange
        previous = -1
    if previous != os.getpgrp():  # no terminal, or run in the background: leave it alone
        yield
        return
    handler = signal.signal(signal.SIGTTOU, signal.SIG_IGN)  # a background tcsetpgrp stops us
    try:
        if os.getpid() != os.getsid(0):  # a session leader already leads its group
            os.setpgid(0, 0)
        os.tcsetpgrp(tty, os.getpgrp())
        yield
    finally:
        with contextlib.suppress(OSError):
            os.tcsetpgrp(tty, previous)
        signal.signal(signal.SIGTTOU, handler)


def run_demo(port: int) -> int:
    """Run the demo until Ctrl-C (or SIGTERM); 0 once everything has stopped."""
    configure_logging("INFO", "auto")
    with _terminal_to_self(), contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(port))
    print("demo stopped", flush=True)
    return 0


# The module docstring in plain text, for --help.
DEMO_DESCRIPTION = (
    "Redis, the LAC sandbox and the gateway in one command (what make run runs), all local. "
    "Both states start fresh on every run; the demo API key is kept in .run/demo-api-key. "
    "Ctrl-C stops the gateway first (requests in flight are answered), then the sandbox, "
    "then Redis."
)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m lacsandbox.demo [--port N]``."""
    parser = argparse.ArgumentParser(prog="lacsandbox.demo", description=DEMO_DESCRIPTION)
    parser.add_argument("--port", type=int, default=8080, help="port to listen on (8080)")
    return run_demo(parser.parse_args(argv).port)


if __name__ == "__main__":
    sys.exit(main())
