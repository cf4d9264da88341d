"""Gateway and sandbox as real processes (``python -m gateway ...``) for multi-process tests."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import aiohttp
from gwharness import ADMIN_KEY, FLEET_KEY, SEED_FILE, sha256

from gateway.localredis import free_port

ROOT = Path(__file__).resolve().parents[2]


class Process:
    """One ``python -m gateway`` child on a free port of 127.0.0.1."""

    def __init__(self, args: list[str], env: dict[str, str], port: int, log: Path) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        with log.open("ab") as out:
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "gateway", *args],
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    async def wait_healthy(self, path: str, within: float = 30.0) -> None:
        """Wait until ``path`` answers 200."""
        deadline = time.monotonic() + within
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                if self.popen.poll() is not None:
                    raise RuntimeError(f"{self.url} exited: {self.log.read_text()[-3000:]}")
                try:
                    async with http.get(self.url + path) as resp:
                        if resp.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)
        raise RuntimeError(f"{self.url}{path} not healthy: {self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait(10)

    def stop(self) -> int:
        """SIGTERM and wait; returns the exit code."""
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(30)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)
        return self.popen.returncode


def start_sandbox(workdir: Path) -> Process:
    """The sandbox process, seeded from config/sandbox.toml."""
    port = free_port()
    args = ["sandbox", "--port", str(port), "--seed", str(SEED_FILE)]
    return Process(args, dict(os.environ), port, workdir / f"sandbox-{port}.log")


def gateway_env(redis_url: str, sandbox: str, prefix: str, **extra: str) -> dict[str, str]:
    """The environment of a gateway process toward ``sandbox`` with fast job timings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LACGW_")}
    keys = (
        f'[{{"name": "fleet", "sha256": "{sha256(FLEET_KEY)}"}},'
        f' {{"name": "ops", "sha256": "{sha256(ADMIN_KEY)}", "admin": true}}]'
    )
    env.update(
        LACGW_HTTP__HOST="127.0.0.1",
        LACGW_REDIS__URL=redis_url,
        LACGW_REDIS__KEY_PREFIX=prefix,
        LACGW_LAC__SOAP_URL=f"{sandbox}/soap/type/enduser/version/2",
        LACGW_LAC__VENDOR_SOAP_URL=f"{sandbox}/soap/type/vendor/version/4",
        LACGW_LAC__REST_URL=f"{sandbox}/rest/v2",
        LACGW_LAC__USERNAME="demo",
        LACGW_LAC__PASSWORD="demo",
        LACGW_LAC__ALLOW_PLAIN_HTTP="true",
        LACGW_JOBS__FIRST_POLL="0.1",
        LACGW_JOBS__MAX_INTERVAL="0.3",
        LACGW_JOBS__POLL_TICK="0.05",
        LACGW_JOBS__LEASE="2",
        LACGW_AUTH__API_KEYS=keys,
        LACGW_LOG__FORMAT="json",
        **extra,
    )
    return env


def start_gateway(workdir: Path, env: dict[str, str]) -> Process:
    """One gateway process (``python -m gateway serve``)."""
    port = free_port()
    env = {**env, "LACGW_HTTP__PORT": str(port)}
    return Process(["serve"], env, port, workdir / f"gateway-{port}.log")


def new_prefix() -> str:
    """A Redis key prefix private to one test."""
    return f"e{uuid.uuid4().hex[:10]}"


GatewayFactory = Callable[..., Process]
"""Starts one more gateway process: ``start(transport="soap", **env)``."""
