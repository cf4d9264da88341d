"""The vendor SOAP v4 client: a cached Login token, activation counters and order lookups.

The token lives in the ``TokenCache`` (Redis, shared by replicas) for ``token_ttl`` minus the
refresh margin, so it is replaced before LAC's 3-hour expiry. Logins are coalesced in process:
callers that find no token wait on one lock, and the first one through logs in. When the cache
also offers a cross-replica lock (``TokenLock``, as the Redis store does), replicas coalesce too:
one logs in while the others wait for its token. On code 50 (``LAC_WRONG_TOKEN``) the token is
dropped, a fresh one obtained and the call replayed once.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import replace
from typing import Protocol, runtime_checkable

import aiohttp
from yarl import URL

from gateway.codes import Code
from gateway.lac.base import LacRejected, OrderSummary, TokenCache
from gateway.lac.http import LacHttp
from gateway.lac.soap import rejected, soap_call
from gateway.lac.soap_codec import JsonObject, JsonValue, SoapCodec, SoapResult
from gateway.lac.soap_ops import (
    ORDER_ACTIVATED,
    ORDER_ENABLED,
    ORDER_KEY,
    ORDER_PRODUCT,
    PAGE_SIZE,
    Op,
)
from gateway.metrics import Metrics
from gateway.models import ActivationCounters, ActivationSubscription
from gateway.settings import LacSettings

TRANSPORT = "vendor_soap"
COUNTERS_SUBSCRIPTIONS = "ActivationSubscriptions"  # the one field LAC names in CamelCase
NO_SUCH_ORDER = frozenset({Code.ACTIVATION_KEY_INVALID, Code.RECORD_DOESNT_EXIST})
# FindLicenseOrderByActivationKey matches partially; an exact key is expected within a few pages.
MAX_ORDER_PAGES = 10


# How often a replica waiting for another one's login looks for the new token.
LOCK_POLL_SECONDS = 0.05


@runtime_checkable
class TokenLock(Protocol):
    """A lock shared by replicas, so that one of them logs in at a time."""

    async def acquire_token_lock(self, owner: str, ttl: float) -> bool:
        """Take the lock for at most ``ttl`` seconds; False if another owner holds it."""

    async def release_token_lock(self, owner: str) -> bool:
        """Release the lock if ``owner`` still holds it."""


def _plain_value(value: JsonValue) -> JsonValue:
    # SOAP arrays arrive as {"item": [...]}; callers want the list.
    if isinstance(value, dict):
        if set(value) == {"item"}:
            return _plain_value(value["item"])
        return {k: _plain_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_value(v) for v in value]
    return value


def order_from_soap(row: JsonObject) -> OrderSummary:
    """An ``OrderSummary`` from a ``Soap_LicenseOrder``; SOAP gives no product name or quota."""
    enabled = row.get(ORDER_ENABLED)
    return OrderSummary(
        activation_key=str(row.get(ORDER_KEY) or ""),
        product=None,
        activations_used=_int(row.get(ORDER_ACTIVATED)),
        activations_allowed=None,
        enabled=enabled is not False,
        product_template_id=_int(row.get(ORDER_PRODUCT)),
    )


def _int(value: JsonValue) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(value: JsonValue) -> str | None:
    return value if isinstance(value, str) and value else None


def _subscription(row: JsonObject) -> ActivationSubscription:
    return ActivationSubscription(
        start_date=_text(row.get("start_date")),
        expiration_date=_text(row.get("expiration_date")),
        next_reset_date=_text(row.get("next_reset_date")),
        activations_left_count=_int(row.get("activations_left_count")),
        default_count=_int(row.get("default_count")),
    )


def counters_from_soap(obj: JsonObject) -> ActivationCounters:
    """An ``ActivationCounters`` from a ``Soap_ActivationCounters`` read as plain data."""
    rows = obj.get(COUNTERS_SUBSCRIPTIONS)
    subscriptions = [
        _subscription(row)
        for row in (rows if isinstance(rows, list) else [])
        if isinstance(row, dict)
    ]
    return ActivationCounters(
        activation_subscriptions=subscriptions,
        one_time_activations_left_count=_int(obj.get("one_time_activations_left_count")),
        one_time_activations_expiration_date=_text(obj.get("one_time_activations_expiration_date")),
    )


class LacVendorClient:
    """Vendor SOAP v4 calls behind one cached, shared login token."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        settings: LacSettings,
        codec: SoapCodec,
        tokens: TokenCache,
        metrics: Metrics | None = None,
        *,
        http: LacHttp | None = None,
    ) -> None:
        self._http = http or LacHttp(session, settings, transport=TRANSPORT, metrics=metrics)
        self._codec = codec
        self._tokens = tokens
        self._metrics = metrics
        self._url = URL(settings.vendor_soap_url)
        self._username = settings.username
        self._password = settings.password
        self._token_ttl = max(settings.token_ttl - settings.token_refresh_margin, 1.0)
        self._login_lock = asyncio.Lock()
        # A login takes one LAC call: the other replicas wait at most that long for it.
        self._login_wait = settings.total_timeout
        self._owner = uuid.uuid4().hex

    async def _login(self, reason: str) -> str:
        result = await soap_call(
            self._http,
            self._codec,
            self._url,
            Op.LOGIN,
            username=self._username,
            password=self._password.get_secret_value(),
        )
        if result.result_code != Code.SUCCESS or not result.token:
            # Code 0 without a token is LAC failing to make one.
            code = result.result_code or Code.GENERATE_AUTHENTICATION_TOKEN_ERROR
            raise rejected(Op.LOGIN, replace(result, result_code=code), TRANSPORT)
        if self._metrics is not None:
            self._metrics.token_refreshes.labels(reason).inc()
        await self._tokens.set_token(result.token, self._token_ttl)
        return result.token

    async def _token(self, stale: str | None = None) -> str:
        """A valid token: the cached one unless it is ``stale``, else a fresh login."""
        cached = await self._tokens.get_token()
        if cached is not None and cached != stale:
            return cached
        async with self._login_lock:
            # Whoever held the lock before may have logged in already (here or on a replica).
            cached = await self._tokens.get_token()
            if cached is not None and cached != stale:
                return cached
            reason = "expired" if stale else "missing"
            if isinstance(self._tokens, TokenLock):
                return await self._login_once_across_replicas(self._tokens, reason, stale)
            return await self._login(reason)

    async def _login_once_across_replicas(
        self, lock: TokenLock, reason: str, stale: str | None
    ) -> str:
        deadline = time.monotonic() + self._login_wait
        while time.monotonic() < deadline:
            if await lock.acquire_token_lock(self._owner, self._login_wait):
                try:
                    # The previous holder may have stored its token just before releasing.
                    cached = await self._tokens.get_token()
                    if cached is not None and cached != stale:
                        return cached
                    return await self._login(reason)
                finally:
                    await lock.release_token_lock(self._owner)
            await asyncio.sleep(LOCK_POLL_SECONDS)
            cached = await self._tokens.get_token()
            if cached is not None and cached != stale:
                return cached
        # The replica holding the lock is stuck: a second login is better than no answer.
        return await self._login(reason)

    async def _call(self, op: Op, **args: str | int) -> SoapResult:
        token = await self._token()
        result = await soap_call(self._http, self._codec, self._url, op, token=token, **args)
        if result.result_code == Code.WRONG_TOKEN:
            await self._tokens.drop_token(token)
            token = await self._token(stale=token)
            result = await soap_call(self._http, self._codec, self._url, op, token=token, **args)
        if result.result_code != Code.SUCCESS:
            raise rejected(op, result, TRANSPORT)
        return result

    async def activation_counters(self) -> ActivationCounters:
        """``GetActivationCounters``, typed; fields the gateway does not know are left out."""
        result = await self._call(Op.ACTIVATION_COUNTERS)
        counters = _plain_value(result.result_object or {})
        return counters_from_soap(counters if isinstance(counters, dict) else {})

    async def find_order(self, activation_key: str) -> OrderSummary | None:
        """The order with exactly this key (LAC searches partially), or None."""
        wanted = activation_key.strip().upper()
        for page in range(MAX_ORDER_PAGES):
            try:
                result = await self._call(
                    Op.FIND_ORDER, activation_key=activation_key, offset=page * PAGE_SIZE
                )
            except LacRejected as exc:
                # "No such key" may come as an empty list or as one of these codes.
                if exc.code in NO_SUCH_ORDER:
                    return None
                raise
            rows = result.result_array or []
            for row in rows:
                if str(row.get(ORDER_KEY) or "").strip().upper() == wanted:
                    return order_from_soap(row)
            if len(rows) < PAGE_SIZE:
                break
        return None

    async def order(self, activation_key: str) -> OrderSummary | None:
        """The order behind ``activation_key`` (the service's order source), or None."""
        return await self.find_order(activation_key)

    async def logout(self) -> None:
        """End the cached session at LAC and forget the token."""
        token = await self._tokens.get_token()
        if token is None:
            return
        await self._tokens.drop_token(token)
        result = await soap_call(self._http, self._codec, self._url, Op.LOGOUT, token=token)
        if result.result_code not in (Code.SUCCESS, Code.WRONG_TOKEN):
            raise rejected(Op.LOGOUT, result, TRANSPORT)
