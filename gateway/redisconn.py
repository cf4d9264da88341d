"""Connections to the gateway's Redis: the three deployment modes, and pub/sub that lasts.

``connect_redis`` builds the one client of a process for a standalone server, a master named
by Sentinels, or a Cluster. ``subscribe_forever`` keeps a subscription up across Redis
restarts and failovers for the listeners that need one (outcomes, near-cache drops): it says
when messages can be relied on again and when they could have been missed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

import structlog
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.connection import SSLConnection, parse_url
from redis.asyncio.sentinel import Sentinel, SentinelManagedSSLConnection

from gateway.settings import RedisSettings

log = structlog.get_logger("gateway.redis")

RECONNECT_DELAY = 1.0  # seconds between attempts to subscribe again
_CONFIRMATIONS = frozenset({"subscribe", "psubscribe"})
_MESSAGES = frozenset({"message", "pmessage"})


def _host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host, int(port)


def connect_redis(cfg: RedisSettings) -> Redis | RedisCluster:
    """A client for ``cfg.mode``: one server, the master named by Sentinels, or a Cluster."""
    url = cfg.url.get_secret_value()
    timeouts: dict[str, Any] = {
        "socket_timeout": cfg.socket_timeout,
        "socket_connect_timeout": cfg.connect_timeout,
    }
    if cfg.mode == "cluster":
        # Every node gets its own pool of max_connections; the url's node and cluster_nodes
        # are only where discovery starts.
        seeds = [ClusterNode(*_host_port(node)) for node in cfg.cluster_nodes]
        return RedisCluster.from_url(
            url,
            startup_nodes=seeds or None,
            max_connections=cfg.max_connections,
            health_check_interval=30,
            **timeouts,
        )
    if cfg.mode == "sentinel":
        # The url's host and port are not used: the Sentinels say where the master is now.
        master: dict[str, Any] = {
            key: value
            for key, value in parse_url(url).items()
            if key in ("db", "username", "password")
        }
        if parse_url(url).get("connection_class") is SSLConnection:
            master["connection_class"] = SentinelManagedSSLConnection
        secret = cfg.sentinel_password
        sentinel = Sentinel(  # type: ignore[no-untyped-call]  # untyped in redis-py
            [_host_port(address) for address in cfg.sentinels],
            sentinel_kwargs={**timeouts, "password": secret.get_secret_value() if secret else None},
            **timeouts,
        )
        client: Redis = sentinel.master_for(
            cfg.sentinel_service,
            max_connections=cfg.max_connections,
            health_check_interval=30,
            **master,
        )
        return client
    # A blocking pool: a burst of requests waits briefly for a connection instead of failing.
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=cfg.max_connections,
        timeout=cfg.pool_timeout,
        health_check_interval=30,
        **timeouts,
    )
    return Redis(connection_pool=pool)


class _Health:
    """Logs a listener's failing once and its recovery once."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.failing = False

    def failed(self, exc: Exception) -> None:
        if not self.failing:
            log.warning(f"{self.name}_failing", error=type(exc).__name__)
            self.failing = True

    def recovered(self) -> None:
        if self.failing:
            log.info(f"{self.name}_recovered")
            self.failing = False


async def subscribe_forever(
    redis: Redis | RedisCluster,
    name: str,
    *,
    on_message: Callable[[str, bytes], None],
    on_subscribed: Callable[[], None],
    on_lost: Callable[[], None],
    channels: Sequence[str] = (),
    patterns: Sequence[str] = (),
) -> None:
    """Deliver messages of ``channels`` and ``patterns`` until cancelled, reconnecting.

    ``on_subscribed`` runs once the subscription is confirmed (messages published from then
    on arrive; earlier ones may have been missed), ``on_lost`` whenever it is gone. Failing
    and recovering are logged once each as ``<name>_failing`` / ``<name>_recovered``.
    """
    health = _Health(name)

    def confirmed() -> None:
        on_subscribed()
        health.recovered()

    while True:
        pubsub = redis.pubsub()
        try:
            if channels:
                await pubsub.subscribe(*channels)
            if patterns:
                await pubsub.psubscribe(*patterns)
            async for message in pubsub.listen():
                _dispatch(message, on_message, confirmed)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - Redis away: subscribe again after a pause
            on_lost()
            health.failed(exc)
            await asyncio.sleep(RECONNECT_DELAY)
        finally:
            on_lost()
            await pubsub.aclose()  # type: ignore[no-untyped-call]  # untyped in redis-py


def _dispatch(
    message: dict[str, Any],
    on_message: Callable[[str, bytes], None],
    confirmed: Callable[[], None],
) -> None:
    kind = message.get("type")
    if kind in _MESSAGES:
        on_message(_text(message["channel"]), _bytes(message["data"]))
    elif kind in _CONFIRMATIONS:
        confirmed()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()
