"""Fixtures for multi-process tests: a sandbox process and a factory of gateway processes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.e2e.procs import (
    GatewayFactory,
    Process,
    gateway_env,
    new_prefix,
    start_gateway,
    start_sandbox,
)


@pytest.fixture
async def sandbox_process(tmp_path: Path) -> AsyncIterator[Process]:
    """A sandbox running as its own process."""
    proc = start_sandbox(tmp_path)
    try:
        await proc.wait_healthy("/")
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def gateways(tmp_path: Path, redis_url: str, sandbox_process: Process) -> Iterator[GatewayFactory]:
    """Starts gateway processes sharing one Redis prefix; stops them all afterwards."""
    prefix = new_prefix()
    started: list[Process] = []

    def start(transport: str = "soap", **extra: str) -> Process:
        env = gateway_env(redis_url, sandbox_process.url, prefix, LACGW_LAC__TRANSPORT=transport)
        env.update(extra)
        proc = start_gateway(tmp_path, env)
        started.append(proc)
        return proc

    try:
        yield start
    finally:
        for proc in started:
            proc.kill()
