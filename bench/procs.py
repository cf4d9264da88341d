"""Redis, the sandbox, gateways and the bare baseline server as separate processes on loopback."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

from lacsandbox.localproc import ChildProcess
from lacsandbox.localredis import free_port

ROOT = Path(__file__).resolve().parent.parent
SEED = Path(__file__).resolve().parent / "sandbox.toml"
API_KEY = "bench-fleet-key-0123456789abcdef"
AUTH = f"Bearer {API_KEY}"


Process = ChildProcess


def _python(*args: str) -> list[str]:
    return [sys.executable, *args]


def start_sandbox(logs: Path) -> Process:
    """The LAC sandbox seeded with the benchmark orders."""
    port = free_port()
    argv = _python("-m", "gateway", "sandbox", "--port", str(port), "--seed", str(SEED))
    return Process("sandbox", argv, dict(os.environ), port, logs, cwd=ROOT)


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


def start_gateway(
    logs: Path, env: dict[str, str], name: str = "gateway", src: Path | None = None
) -> Process:
    """``python -m gateway serve`` on a free port.

    ``src`` or else ``BENCH_GATEWAY_SRC`` names another checkout to run the gateway from (a
    before/after comparison); the sandbox, the baselines and the harness stay those of this tree.
    """
    port = free_port()
    env = {**env, "LACGW_HTTP__PORT": str(port)}
    src = (src or Path(os.environ.get("BENCH_GATEWAY_SRC") or ROOT)).resolve()
    return Process(name, _python("-m", "gateway", "serve"), env, port, logs, cwd=src)


def start_bare(logs: Path, body_file: Path) -> Process:
    """The baseline: a bare aiohttp handler returning the bytes of ``body_file``."""
    port = free_port()
    argv = _python("-m", "bench.bare", "--port", str(port), "--body", str(body_file))
    return Process("bare", argv, dict(os.environ), port, logs, cwd=ROOT)


def start_floor(logs: Path, sandbox: str, redis_url: str, transport: str) -> Process:
    """The cold-activation floor (``bench.floor``): a proxy with none of the gateway's features."""
    port = free_port()
    argv = _python("-m", "bench.floor", "--port", str(port), "--sandbox", sandbox)
    argv += ["--redis", redis_url, "--transport", transport]
    return Process(f"floor-{transport}", argv, dict(os.environ), port, logs, cwd=ROOT)
