"""API keys without a restart: the keys file is re-read on SIGHUP and when it changes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path

import aiohttp
import pytest

from tests.e2e.procs import GatewayFactory, Process
from tests.e2e.test_workers import _wait_for_workers
from tests.gwharness import sha256

pytestmark = pytest.mark.e2e

OLD_KEY = "reload-old-key-0123456789"
NEW_KEY = "reload-new-key-9876543210"
UNKNOWN_ID = "/v1/activations/" + "0" * 32  # any authenticated route; 401 tells a refused key
CONNECTIONS = 24  # new connections per check: SO_REUSEPORT spreads them over the workers


def write_keys(path: Path, *keys: tuple[str, str]) -> None:
    """The keys file with one entry per (name, key)."""
    entries = [{"name": name, "sha256": sha256(key)} for name, key in keys]
    path.write_text(json.dumps(entries))


async def statuses(gw: Process, key: str) -> set[int]:
    """The statuses of a call with ``key``, each over a connection of its own."""
    found = set()
    for _ in range(CONNECTIONS):
        connector = aiohttp.TCPConnector(force_close=True)
        async with (
            aiohttp.ClientSession(connector=connector) as http,
            http.get(gw.url + UNKNOWN_ID, headers={"Authorization": f"Bearer {key}"}) as resp,
        ):
            found.add(resp.status)
    return found


async def until_refused(gw: Process, key: str) -> None:
    """Wait until every connection refuses ``key`` (401)."""
    for _ in range(400):
        if await statuses(gw, key) == {401}:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{key} still accepted: {gw.tail()}")


def events(gw: Process, name: str) -> list[dict[str, object]]:
    """The gateway's log lines for event ``name``."""
    lines = gw.log.read_text().splitlines()
    parsed = [json.loads(line) for line in lines if line.startswith("{")]
    return [event for event in parsed if event.get("event") == name]


async def until_logged(gw: Process, name: str, count: int) -> list[dict[str, object]]:
    """Wait until ``name`` was logged ``count`` times."""
    for _ in range(400):
        found = events(gw, name)
        if len(found) >= count:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"{name} logged fewer than {count} times: {gw.tail()}")


async def test_sighup_to_the_parent_reloads_the_keys_of_every_worker(
    gateways: GatewayFactory, tmp_path: Path
) -> None:
    keys_file = tmp_path / "keys.json"
    write_keys(keys_file, ("old", OLD_KEY))
    gw = gateways(
        LACGW_HTTP__WORKERS="2",
        LACGW_AUTH__API_KEYS_FILE=str(keys_file),
        LACGW_AUTH__RELOAD_INTERVAL="0",  # SIGHUP only: the file's mtime is not watched
    )
    await gw.wait_healthy("/readyz")
    workers = await _wait_for_workers(gw, 2)
    assert 401 not in await statuses(gw, OLD_KEY)
    write_keys(keys_file, ("new", NEW_KEY))
    os.kill(gw.popen.pid, signal.SIGHUP)
    reloads = await until_logged(gw, "api_keys_reloaded", 2)
    assert {event["pid"] for event in reloads} == set(workers)
    await until_refused(gw, OLD_KEY)
    assert 401 not in await statuses(gw, NEW_KEY)
    # Env keys (fleet, ops) and one from the file: one added, one removed.
    assert all((event["keys"], event["added"], event["removed"]) == (3, 1, 1) for event in reloads)
    log = gw.log.read_text()
    for secret in (OLD_KEY, NEW_KEY, sha256(OLD_KEY), sha256(NEW_KEY)):
        assert secret not in log
    assert gw.popen.poll() is None  # SIGHUP did not stop the parent


async def test_a_changed_keys_file_is_reloaded_and_a_broken_one_keeps_the_keys(
    gateways: GatewayFactory, tmp_path: Path
) -> None:
    keys_file = tmp_path / "keys.json"
    write_keys(keys_file, ("old", OLD_KEY))
    gw = gateways(LACGW_AUTH__API_KEYS_FILE=str(keys_file), LACGW_AUTH__RELOAD_INTERVAL="0.1")
    await gw.wait_healthy("/readyz")
    write_keys(keys_file, ("old", OLD_KEY), ("new", NEW_KEY))
    [reload] = await until_logged(gw, "api_keys_reloaded", 1)
    assert (reload["keys"], reload["added"], reload["removed"]) == (4, 1, 0)
    assert 401 not in await statuses(gw, NEW_KEY)
    keys_file.write_text('[{"name": "new", "sha256": "not-hex"')
    [failed] = await until_logged(gw, "api_keys_reload_failed", 1)
    assert failed["level"] == "error"
    assert str(keys_file) in str(failed["problem"])
    assert "\n" not in str(failed["problem"])
    assert 401 not in await statuses(gw, OLD_KEY)
    assert 401 not in await statuses(gw, NEW_KEY)
    os.kill(gw.popen.pid, signal.SIGHUP)  # a broken file on SIGHUP: an error again, no change
    await until_logged(gw, "api_keys_reload_failed", 2)
    assert 401 not in await statuses(gw, NEW_KEY)
    assert len(events(gw, "api_keys_reloaded")) == 1
