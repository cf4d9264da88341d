"""``LACGW_HTTP__WORKERS``: several worker processes serve one port, and stop together."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import aiohttp
import pytest

from tests.e2e.procs import GatewayFactory, Process
from tests.gwharness import FLEET_KEY

pytestmark = pytest.mark.e2e  # separate processes: `make test-fast` skips them

AUTH = {"Authorization": f"Bearer {FLEET_KEY}"}
LISTEN = "0A"  # TCP state of a listening socket in /proc/net/tcp


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(child) for child in path.read_text().split()] if path.exists() else []


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == LISTEN:
            inodes.add(fields[9])
    return inodes


def _alive(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat")
    try:
        state = stat.read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"  # a zombie has exited, only its parent has not collected it yet


def _sockets_of(pid: int) -> set[str]:
    found = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        target = os.readlink(fd) if fd.is_symlink() else ""
        if target.startswith("socket:["):
            found.add(target[len("socket:[") : -1])
    return found


async def _wait_for_workers(proc: Process, count: int) -> list[int]:
    for _ in range(600):
        workers = _children(proc.popen.pid)
        if len(workers) == count and all(
            _sockets_of(w) & _listening_inodes(proc.port) for w in workers
        ):
            return workers
        await asyncio.sleep(0.05)
    raise AssertionError(f"expected {count} listening workers: {proc.log.read_text()[-2000:]}")


async def _activate(gw: Process, host: str) -> int:
    body = {"activation_key": "BENCH-BULKX-DEMO0-00003", "hostids": [f"HOSTNAME={host}"]}
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{gw.url}/v1/activations", json=body, headers=AUTH) as resp,
    ):
        return resp.status


async def test_two_workers_listen_on_one_port_and_serve_when_one_dies(
    gateways: GatewayFactory,
) -> None:
    gw = gateways(LACGW_HTTP__WORKERS="2")
    await gw.wait_healthy("/readyz")
    workers = await _wait_for_workers(gw, 2)
    # Each worker has its own listening socket on the one port (SO_REUSEPORT).
    own = [_sockets_of(w) & _listening_inodes(gw.port) for w in workers]
    assert all(len(sockets) == 1 for sockets in own)
    assert own[0] != own[1]
    assert await _activate(gw, "workers-a") == 200
    os.kill(workers[0], signal.SIGKILL)  # its socket leaves the group; the other serves alone
    for _ in range(200):
        if len(_listening_inodes(gw.port)) == 1:
            break
        await asyncio.sleep(0.05)
    assert _listening_inodes(gw.port) == own[1]
    assert await _activate(gw, "workers-b") == 200


async def test_sigterm_stops_every_worker_and_the_parent_exits_zero(
    gateways: GatewayFactory,
) -> None:
    gw = gateways(LACGW_HTTP__WORKERS="2")
    await gw.wait_healthy("/readyz")
    workers = await _wait_for_workers(gw, 2)
    assert gw.stop() == 0
    assert not any(_alive(w) for w in workers)
    assert not _listening_inodes(gw.port)


async def test_workers_leave_when_their_parent_is_killed(gateways: GatewayFactory) -> None:
    gw = gateways(LACGW_HTTP__WORKERS="2")
    await gw.wait_healthy("/readyz")
    workers = await _wait_for_workers(gw, 2)
    gw.popen.kill()  # SIGKILL: the parent cannot forward anything
    gw.popen.wait(10)
    for _ in range(400):
        if not any(_alive(w) for w in workers):
            break
        await asyncio.sleep(0.05)
    assert not any(_alive(w) for w in workers)
    assert not _listening_inodes(gw.port)
