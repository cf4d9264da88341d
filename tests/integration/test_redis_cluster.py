"""The gateway on a real 3-master Redis Cluster and behind a real Sentinel (LACGW_REDIS__MODE)."""

from __future__ import annotations

import asyncio
import random
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
import redis
from redis.asyncio.cluster import RedisCluster

from gateway.api.keys import REDIS
from gateway.redisconn import connect_redis
from gateway.settings import CacheSettings, RedisSettings
from gateway.store import create_stores
from gateway.store.jobs import Job
from lacsandbox.localredis import LocalRedis, find_redis_server
from tests.gwharness import Running, gateway_settings, start_gateway, start_sandbox, until
from tests.webhook_receiver import SECRET, Receiver

SINGLE = "SNGLE-HOST1-DEMO0-00001"
DEACT_ONCE = "DEACT-ONCE0-DEMO0-00011"
BULK = "BENCH-BULKX-DEMO0-00003"
SLOTS = 16384


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _cluster_port() -> int:
    """A free port whose cluster bus port (+10000) is free too; both must stay below 65536."""
    for _ in range(200):
        port = random.randint(20000, 45000)  # noqa: S311 - a port, not a secret
        if _bindable(port) and _bindable(port + 10000):
            return port
    raise AssertionError("no free port pair for a cluster node")


def _create_cluster(nodes: list[LocalRedis]) -> None:
    """Join ``nodes`` into one cluster, a third of the slots each, and wait until it is ok."""
    cli = Path(find_redis_server()).with_name("redis-cli")
    if not cli.is_file():
        cli = Path(shutil.which("redis-cli") or cli)
    if cli.is_file():
        addresses = [f"127.0.0.1:{node.port}" for node in nodes]
        subprocess.run(
            [str(cli), "--cluster", "create", *addresses, "--cluster-yes"],
            check=True,
            capture_output=True,
            timeout=60,
        )
    else:
        clients = [redis.Redis(port=node.port) for node in nodes]
        share = SLOTS // len(nodes)
        for index, client in enumerate(clients):
            end = SLOTS if index == len(clients) - 1 else (index + 1) * share
            client.cluster("ADDSLOTS", *range(index * share, end))
            if index:
                client.cluster("MEET", "127.0.0.1", nodes[0].port)
    for node in nodes:
        with redis.Redis(port=node.port) as client:
            for _ in range(500):
                if client.cluster("INFO")["cluster_state"] == "ok":
                    break
                time.sleep(0.02)
            else:
                raise AssertionError(f"cluster node {node.port} never reached cluster_state:ok")


@pytest.fixture(scope="module")
def cluster_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A 3-master Redis Cluster from the tests' redis-server binary; the URL of one node."""
    nodes = [
        LocalRedis(
            tmp_path_factory.mktemp(f"cluster{index}"),
            _cluster_port(),
            extra_args=("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"),
        )
        for index in range(3)
    ]
    try:
        for node in nodes:
            node.start()
        _create_cluster(nodes)
        yield nodes[0].url
    finally:
        for node in nodes:
            node.stop()


@pytest.fixture(params=["soap", "rest"])
async def on_cluster(request: pytest.FixtureRequest, cluster_url: str) -> AsyncIterator[Running]:
    """The sandbox and a gateway whose Redis is the cluster."""
    sandbox_runner, sandbox_url = await start_sandbox()
    settings = gateway_settings(cluster_url, sandbox_url, request.param, redis={"mode": "cluster"})
    gw_runner, gw_url, app = await start_gateway(settings)
    async with aiohttp.ClientSession() as http:
        try:
            yield Running(gw_url, sandbox_url, http, settings, app)
        finally:
            await gw_runner.cleanup()
            await sandbox_runner.cleanup()


async def _masters_holding(client: RedisCluster, prefix: str) -> set[int]:
    """Ports of the masters that hold at least one key under ``prefix``."""
    ports = set()
    for node in client.get_primaries():
        keys = await client.keys(f"{prefix}:*", target_nodes=node)
        if keys:
            ports.add(int(node.port))
    return ports


async def test_activation_end_to_end_on_a_three_master_cluster(on_cluster: Running) -> None:
    first = await on_cluster.activate(SINGLE, ["HOSTNAME=cluster01"])
    assert first.status == 200, await first.text()
    body = await first.json()
    assert body["state"] == "ready"
    assert "FEATURE" in body["license"]["content"]

    again = await on_cluster.activate(SINGLE, ["HOSTNAME=cluster01"])
    assert again.status == 200
    assert (await again.json())["source"] == "cache"
    assert await on_cluster.creates() == 1

    ready = await on_cluster.call("GET", "/readyz")
    assert ready.status == 200, ready.body


async def test_the_activating_key_may_deactivate_on_the_cluster(on_cluster: Running) -> None:
    # Not an admin: the 204 needs the activator recorded by the cluster's completion steps.
    host = "HOSTNAME=cluster-owner"
    assert (await on_cluster.activate(DEACT_ONCE, [host])).status == 200
    path = f"/v1/licenses/{DEACT_ONCE}"
    gone = await on_cluster.call("DELETE", path, params={"hostid": host})
    assert gone.status == 204, gone.body[:300]


async def test_idempotency_key_replays_the_answer_on_the_cluster(on_cluster: Running) -> None:
    headers = {"Idempotency-Key": "cluster-idem-1"}
    first = await on_cluster.activate(BULK, ["HOSTNAME=idem01"], **headers)
    assert first.status == 200, await first.text()
    again = await on_cluster.activate(BULK, ["HOSTNAME=idem01"], **headers)
    assert again.status == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert await again.read() == await first.read()
    assert await on_cluster.creates() == 1


async def test_activations_spread_over_the_masters_and_each_is_served(on_cluster: Running) -> None:
    hosts = [f"HOSTNAME=spread{index:02d}" for index in range(12)]
    replies = await asyncio.gather(*(on_cluster.activate(BULK, [host]) for host in hosts))
    assert [reply.status for reply in replies] == [200] * len(hosts)

    client = on_cluster.app[REDIS]
    assert isinstance(client, RedisCluster)
    # Twelve activations hash to more than one slot owner: the keys really are spread.
    assert len(await _masters_holding(client, on_cluster.settings.redis.key_prefix)) >= 2
    cached = await asyncio.gather(*(on_cluster.activate(BULK, [host]) for host in hosts))
    assert {(await reply.json())["source"] for reply in cached} == {"cache"}


async def test_pending_generation_is_polled_to_completion_on_the_cluster(
    on_cluster: Running,
) -> None:
    await on_cluster.put_order(BULK, generation_delay=0.3)
    pending = await on_cluster.activate(BULK, ["HOSTNAME=clusterjob"], Prefer="respond-async")
    assert pending.status == 202, await pending.text()

    # The poller claims the job from the {jobs} slot, polls LAC and completes it; the outcome
    # published on the cluster wakes this long-poll.
    reply = await on_cluster.call("GET", f"{pending.headers['Location']}?wait=60")
    assert reply.status == 200, reply.body
    assert reply.json()["state"] == "ready"
    assert "FEATURE" in reply.json()["license"]["content"]
    assert await on_cluster.creates() == 1


async def test_jobs_are_claimed_leased_and_released_on_the_cluster(cluster_url: str) -> None:
    client = connect_redis(RedisSettings(mode="cluster", url=cluster_url))
    assert isinstance(client, RedisCluster)
    store = create_stores(client, f"c{uuid.uuid4().hex[:8]}", CacheSettings())
    try:
        now = 1000.0
        jobs = [
            Job(f"aid{index}", SINGLE, f"HOSTNAME=j{index}", now, now, now + 900)
            for index in range(3)
        ]
        assert [await store.jobs.create_job(job) for job in jobs] == [True, True, True]
        assert await store.jobs.create_job(jobs[0]) is False
        assert {job.id for job in await store.jobs.list_jobs()} == {job.id for job in jobs}

        claimed = (await store.jobs.claim_due("owner-a", now, 30, 2)).jobs
        assert len(claimed) == 2
        assert {job.owner for job in claimed} == {"owner-a"}
        rest = (await store.jobs.claim_due("owner-b", now, 30, 10)).jobs
        assert [job.id for job in rest] == sorted({j.id for j in jobs} - {j.id for j in claimed})
        assert (await store.jobs.claim_due("owner-b", now + 1, 30, 10)).jobs == []

        assert await store.jobs.release_jobs("owner-a", now + 2) == 2
        again = (await store.jobs.claim_due("owner-c", now + 2, 30, 10)).jobs
        assert {job.id for job in again} == {job.id for job in claimed}
        assert await store.jobs.finish_job(again[0].id, "owner-a") is False
        assert await store.jobs.finish_job(again[0].id, "owner-c") is True
        assert await store.jobs.count_jobs() == 2
    finally:
        await client.aclose()


@pytest.fixture(scope="module")
def sentinel_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis master watched by one real Sentinel (same binary); the Sentinel's host:port."""
    master = LocalRedis(tmp_path_factory.mktemp("master"))
    workdir = tmp_path_factory.mktemp("sentinel")
    port = _cluster_port()
    config = workdir / "sentinel.conf"
    config.write_text(
        f"port {port}\nbind 127.0.0.1\ndir {workdir}\nlogfile {workdir / 'sentinel.log'}\n"
        f"sentinel monitor gwmaster 127.0.0.1 {master.port} 1\n"
    )
    master.start()
    sentinel = subprocess.Popen(
        [find_redis_server(), str(config), "--sentinel"], stdin=subprocess.DEVNULL
    )
    try:
        with redis.Redis(port=port) as client:
            for _ in range(500):
                try:
                    if client.execute_command("SENTINEL GET-MASTER-ADDR-BY-NAME", "gwmaster"):
                        break
                except redis.ConnectionError:
                    pass
                time.sleep(0.02)
            else:
                raise AssertionError("the Sentinel never named the master")
        yield f"127.0.0.1:{port}"
    finally:
        sentinel.terminate()
        sentinel.wait(10)
        master.stop()


async def test_activation_through_a_master_found_by_sentinel(sentinel_address: str) -> None:
    sandbox_runner, sandbox_url = await start_sandbox()
    # The url's host and port lead nowhere: only the Sentinel can have found the master.
    settings = gateway_settings(
        "redis://127.0.0.1:1/0",
        sandbox_url,
        "soap",
        redis={"mode": "sentinel", "sentinels": [sentinel_address], "sentinel_service": "gwmaster"},
    )
    gw_runner, gw_url, app = await start_gateway(settings)
    async with aiohttp.ClientSession() as http:
        running = Running(gw_url, sandbox_url, http, settings, app)
        try:
            reply = await running.activate(SINGLE, ["HOSTNAME=sentinel01"])
            assert reply.status == 200, await reply.text()
            assert "FEATURE" in (await reply.json())["license"]["content"]
            assert any(key.endswith(b":license") for key in await running.redis_keys())
        finally:
            await gw_runner.cleanup()
            await sandbox_runner.cleanup()


def test_sentinel_mode_without_sentinels_is_refused() -> None:
    with pytest.raises(ValueError, match=r"redis\.sentinels is empty"):
        RedisSettings(mode="sentinel")


async def test_webhook_events_are_delivered_from_the_cluster(cluster_url: str) -> None:
    receiver = Receiver()
    url = await receiver.start()
    endpoint = {"name": "crm", "url": url, "secret": SECRET}
    hooks = {"endpoints": [endpoint], "allow_plain_http": True, "poll_tick": 0.02}
    sandbox_runner, sandbox_url = await start_sandbox()
    settings = gateway_settings(
        cluster_url, sandbox_url, "soap", redis={"mode": "cluster"}, webhooks=hooks
    )
    gw_runner, gw_url, app = await start_gateway(settings)
    try:
        async with aiohttp.ClientSession() as http:
            gw = Running(gw_url, sandbox_url, http, settings, app)
            host = "HOSTNAME=cluster-hook"
            assert (await gw.activate(DEACT_ONCE, [host])).status == 200
            gone = await gw.call("DELETE", f"/v1/licenses/{DEACT_ONCE}", params={"hostid": host})
            assert gone.status == 204, gone.body[:300]
            assert (await gw.activate("DSBLD-ORDER-DEMO0-00004", [host])).status == 403

            async def three() -> bool:
                return len(receiver.received) >= 3

            await until(three, "three events delivered from the cluster")
        types = sorted(got.body["type"] for got in receiver.received)
        assert types == ["activation.failed", "activation.issued", "license.deactivated"]
        assert receiver.unverified == 0
    finally:
        await gw_runner.cleanup()
        await sandbox_runner.cleanup()
        await receiver.stop()
