"""Redis, the sandbox, gateways and the bare baseline server as separate processes on loopback."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from gateway.localredis import free_port

ROOT = Path(__file__).resolve().parent.parent
SEED = Path(__file__).resolve().parent / "sandbox.toml"
API_KEY = "bench-fleet-key-0123456789abcdef"
AUTH = f"Bearer {API_KEY}"


class Process:
    """One child process serving HTTP on a port of 127.0.0.1, its output in a log file."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        env: dict[str, str],
        port: int,
        logs: Path,
        *,
        cwd: Path = ROOT,
    ) -> None:
        self.name = name
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log = logs / f"{name}-{port}.log"
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(  # noqa: S603 - our own interpreter and module
                argv,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    async def wait_healthy(self, path: str, within: float = 60.0) -> None:
        """Wait until ``path`` answers 200; raise with the log's tail if it never does."""
        deadline = time.monotonic() + within
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                if self.popen.poll() is not None:
                    raise RuntimeError(f"{self.name} exited: {self.tail()}")
                try:
                    async with http.get(self.url + path) as resp:
                        if resp.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)
        raise RuntimeError(f"{self.name} not healthy at {path}: {self.tail()}")

    def tail(self) -> str:
        """The end of the process's log."""
        return self.log.read_text(errors="replace")[-3000:]

    def pids(self) -> list[int]:
        """This process and its direct children (the workers of a multi-process gateway)."""
        found = [self.popen.pid]
        children = Path(f"/proc/{self.popen.pid}/task/{self.popen.pid}/children")
        if children.exists():
            found += [int(pid) for pid in children.read_text().split()]
        return found

    def rss_bytes(self) -> int:
        """Resident memory of the process and its workers, from /proc."""
        total = 0
        for pid in self.pids():
            status = Path(f"/proc/{pid}/status")
            if not status.exists():
                continue
            for line in status.read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        return total

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not exit within 20 s."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)


def _python(*args: str) -> list[str]:
    return [sys.executable, *args]


def start_sandbox(logs: Path) -> Process:
    """The LAC sandbox seeded with the benchmark orders."""
    port = free_port()
    argv = _python("-m", "gateway", "sandbox", "--port", str(port), "--seed", str(SEED))
    return Process("sandbox", argv, dict(os.environ), port, logs)


def gateway_env(redis_url: str, sandbox: str, prefix: str, **extra: str) -> dict[str, str]:
    """A production-like gateway environment: auth on, JSON access log, default job timings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LACGW_")}
    digest = hashlib.sha256(API_KEY.encode()).hexdigest()
    env.update(
        LACGW_HTTP__HOST="127.0.0.1",
        LACGW_REDIS__URL=redis_url,
        LACGW_REDIS__KEY_PREFIX=prefix,
        LACGW_LAC__SOAP_URL=f"{sandbox}/soap/type/enduser/version/2",
        LACGW_LAC__VENDOR_SOAP_URL=f"{sandbox}/soap/type/vendor/version/4",
        LACGW_LAC__REST_URL=f"{sandbox}/rest/v2",
        LACGW_LAC__USERNAME="demo",
        LACGW_LAC__PASSWORD="demo",  # noqa: S106 - the sandbox's published demo login
        LACGW_LAC__ALLOW_PLAIN_HTTP="true",
        LACGW_AUTH__API_KEYS=f'[{{"name": "bench", "sha256": "{digest}", "admin": true}}]',
        LACGW_LOG__FORMAT="json",
        # The whole load comes from one API key: the per-key limit stays on (its Redis round
        # trip is part of every request) but high enough never to refuse the benchmark.
        LACGW_LIMITS__PER_KEY="1000000000",
        **extra,
    )
    return env


def start_gateway(logs: Path, env: dict[str, str], name: str = "gateway") -> Process:
    """``python -m gateway serve`` on a free port.

    ``BENCH_GATEWAY_SRC`` names another checkout to run the gateway from (a before/after
    comparison); the sandbox, the baselines and the harness stay those of this tree.
    """
    port = free_port()
    env = {**env, "LACGW_HTTP__PORT": str(port)}
    src = Path(os.environ.get("BENCH_GATEWAY_SRC") or ROOT).resolve()
    return Process(name, _python("-m", "gateway", "serve"), env, port, logs, cwd=src)


def start_bare(logs: Path, body_file: Path) -> Process:
    """The baseline: a bare aiohttp handler returning the bytes of ``body_file``."""
    port = free_port()
    argv = _python("-m", "bench.bare", "--port", str(port), "--body", str(body_file))
    return Process("bare", argv, dict(os.environ), port, logs)
