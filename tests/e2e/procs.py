"""Gateway and sandbox as real processes (``python -m gateway ...``) for multi-process tests."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

from lacsandbox.localproc import ChildProcess
from lacsandbox.localredis import free_port
from tests.gwharness import ADMIN_KEY, FLEET_KEY, SEED_FILE, sha256

ROOT = Path(__file__).resolve().parents[2]


Process = ChildProcess


def _module(*args: str) -> list[str]:
    return [sys.executable, "-m", "gateway", *args]


def start_sandbox(workdir: Path) -> Process:
    """The sandbox process, seeded from config/sandbox.toml."""
    port = free_port()
    args = [
        sys.executable,
        "-m",
        "gateway",
        "sandbox",
        "--port",
        str(port),
        "--seed",
        str(SEED_FILE),
    ]
    return Process("sandbox", args, dict(os.environ), port, workdir, cwd=ROOT)


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
        # Fast timings: a create a crash or a fault cut off is sent again within seconds.
        LACGW_JOBS__RECONCILE_WINDOW="3",
        LACGW_AUTH__API_KEYS=keys,
        LACGW_LOG__FORMAT="json",
    )
    env.update(extra)
    return env


def start_gateway(workdir: Path, env: dict[str, str]) -> Process:
    """One gateway process (``python -m gateway serve``)."""
    port = free_port()
    env = {**env, "LACGW_HTTP__PORT": str(port)}
    return Process(
        "gateway", [sys.executable, "-m", "gateway", "serve"], env, port, workdir, cwd=ROOT
    )


def new_prefix() -> str:
    """A Redis key prefix private to one test."""
    return f"e{uuid.uuid4().hex[:10]}"


GatewayFactory = Callable[..., Process]
"""Starts one more gateway process: ``start(transport="soap", **env)``."""
