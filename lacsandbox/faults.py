"""Fault injection: latency, forced return codes, HTTP 5xx, dropped connections, bad bodies.

A fault applies to a (transport or ``*``, operation or ``*``) pair, to every matching call or
to a fraction of them (``ratio``), for ever or for the next ``calls`` calls. Every transport
starts each request with ``await intercept(request, transport, operation)``: it counts the call,
sleeps for any latency, and itself answers HTTP 5xx, drops the connection or expires the vendor
tokens. What only the transport can render (a forced LAC code, a malformed body, a SOAP Fault)
comes back as an ``Injection`` for the handler to act on; ``None`` means "answer normally".
"""

from __future__ import annotations

import asyncio
import itertools
import math
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from aiohttp import web

from lacsandbox.keys import SANDBOX

ANY = "*"
# SOAP 1.1 fault codes (section 4.4.1): Client or Server, optionally refined with dotted subcodes.
FAULTCODE = re.compile(r"(Client|Server)(\.[A-Za-z][A-Za-z0-9]*)*")


class FaultKind(StrEnum):
    """What a fault does to a matching call."""

    LATENCY = "latency"
    CODE = "code"
    HTTP_ERROR = "http_error"
    DROP = "drop"
    MALFORMED = "malformed"
    TOKEN_EXPIRY = "token_expiry"  # noqa: S105 - a fault name, not a secret
    SOAP_FAULT = "soap_fault"


class FaultError(ValueError):
    """A fault description that cannot be applied."""


@dataclass(slots=True)
class Fault:
    """One injected fault and how often it still applies."""

    kind: FaultKind
    transport: str = ANY
    operation: str = ANY
    code: int | None = None
    status: int = 500
    retry_after: int | None = None
    latency: float = 0.0
    calls: int | None = None
    ratio: float = 1.0
    faultcode: str = "Server"
    echo: bool = False
    id: int = 0

    def matches(self, transport: str, operation: str) -> bool:
        """Whether the fault targets this call."""
        return self.transport in (ANY, transport) and self.operation in (ANY, operation)

    def as_dict(self) -> dict[str, object]:
        """JSON form, as the control API shows it."""
        return {
            "id": self.id,
            "kind": self.kind.value,
            "transport": self.transport,
            "operation": self.operation,
            "code": self.code,
            "status": self.status,
            "retry_after": self.retry_after,
            "latency": self.latency,
            "calls": self.calls,
            "ratio": self.ratio,
            "faultcode": self.faultcode,
            "echo": self.echo,
        }


@dataclass(frozen=True, slots=True)
class Injection:
    """What the faults decided for one call; ``kind`` is the terminal fault, if any."""

    delay: float = 0.0
    kind: FaultKind | None = None
    code: int | None = None
    status: int | None = None
    retry_after: int | None = None
    faultcode: str = "Server"
    echo: bool = False


def _number(raw: Mapping[str, object], name: str, default: float) -> float:
    value = raw.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise FaultError(f"{name} must be a finite number")
    return float(value)


def _http_fault(fault: Fault, raw: Mapping[str, object]) -> None:
    fault.status = int(_number(raw, "status", 500))
    if fault.status not in _HTTP_ERRORS:
        raise FaultError(f"status must be one of {sorted(_HTTP_ERRORS)}")
    if raw.get("retry_after") is not None:
        fault.retry_after = int(_number(raw, "retry_after", 0))
        if not 0 <= fault.retry_after <= 86400:
            raise FaultError("retry_after must be between 0 and 86400 seconds")


def fault_from_mapping(raw: Mapping[str, object]) -> Fault:
    """Build a fault from its JSON / TOML description; raises ``FaultError``."""
    try:
        kind = FaultKind(str(raw.get("kind", "")))
    except ValueError as exc:
        raise FaultError(f"kind must be one of {[k.value for k in FaultKind]}") from exc
    transport, operation = str(raw.get("transport", ANY)), str(raw.get("operation", ANY))
    calls_raw = raw.get("calls")
    calls = None if calls_raw is None else int(_number(raw, "calls", 0))
    ratio = _number(raw, "ratio", 1.0)
    if not 0.0 < ratio <= 1.0 or (calls is not None and calls < 1):
        raise FaultError("ratio must be in (0, 1] and calls at least 1")
    fault = Fault(kind, transport, operation, calls=calls, ratio=ratio)
    if kind is FaultKind.CODE:
        fault.code = int(_number(raw, "code", -1))
        if fault.code < 0:
            raise FaultError("a code fault needs a non-negative code")
    elif kind is FaultKind.HTTP_ERROR:
        _http_fault(fault, raw)
    elif kind is FaultKind.LATENCY:
        fault.latency = _number(raw, "latency", 0.0)
        if not 0.0 <= fault.latency <= 600.0:
            raise FaultError("latency must be between 0 and 600 seconds")
    elif kind is FaultKind.SOAP_FAULT:
        _soap_fault(fault, raw)
    return fault


def _soap_fault(fault: Fault, raw: Mapping[str, object]) -> None:
    faultcode, echo = raw.get("faultcode", "Server"), raw.get("echo", False)
    if not isinstance(faultcode, str) or not FAULTCODE.fullmatch(faultcode.rpartition(":")[2]):
        raise FaultError("faultcode must be Client or Server, optionally with .subcodes")
    if not isinstance(echo, bool):
        raise FaultError("echo must be true or false")
    fault.faultcode, fault.echo = faultcode, echo


class Faults:
    """The active faults, in the order they were added."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)
        # Not for security: decides which fraction of calls a ratio fault hits.
        self._rng = rng or random.Random()  # noqa: S311

    def add(self, fault: Fault) -> Fault:
        """Activate a fault; returns it with its id set."""
        fault.id = next(self._ids)
        self._faults.append(fault)
        return fault

    def remove(self, fault_id: int) -> bool:
        """Deactivate one fault; False if there is no such fault."""
        before = len(self._faults)
        self._faults = [f for f in self._faults if f.id != fault_id]
        return len(self._faults) != before

    def clear(self) -> None:
        """Deactivate every fault."""
        self._faults.clear()

    def active(self) -> list[Fault]:
        """The active faults."""
        return list(self._faults)

    def pick(self, transport: str, operation: str) -> Injection | None:
        """Decide what happens to one call, using up the faults that fire."""
        if not self._faults:
            return None
        delay, terminal = 0.0, None
        for fault in self._faults:
            if not fault.matches(transport, operation):
                continue
            if fault.kind is not FaultKind.LATENCY and terminal is not None:
                continue
            if fault.ratio < 1.0 and self._rng.random() >= fault.ratio:
                continue
            if fault.calls is not None:
                fault.calls -= 1
            if fault.kind is FaultKind.LATENCY:
                delay += fault.latency
            else:
                terminal = fault
        self._faults = [f for f in self._faults if f.calls is None or f.calls > 0]
        if terminal is None:
            return Injection(delay) if delay else None
        return Injection(
            delay,
            terminal.kind,
            terminal.code,
            terminal.status,
            retry_after=terminal.retry_after,
            faultcode=terminal.faultcode,
            echo=terminal.echo,
        )


async def intercept(request: web.Request, transport: str, operation: str) -> Injection | None:
    """Count the call and apply its faults; see the module docstring.

    Raises ``web.HTTPException`` for an HTTP error fault, and also for a drop fault after
    closing the connection (aiohttp then has nowhere to send it).
    """
    sandbox = request.app[SANDBOX]
    sandbox.counters.hit(transport, operation, request.headers.get("traceparent"))
    injection = sandbox.faults.pick(transport, operation)
    if injection is None:
        return None
    if injection.delay:
        await asyncio.sleep(injection.delay)
    if injection.kind is FaultKind.HTTP_ERROR:
        raise _http_error(injection.status or 500, injection.retry_after)
    if injection.kind is FaultKind.DROP:
        connection = request.transport
        if connection is not None:
            connection.abort()
        # aiohttp fails to write this on the closed transport and drops it quietly, whereas a
        # plain exception would be logged as a handler error.
        raise web.HTTPInternalServerError(text="connection dropped by an injected fault")
    if injection.kind is FaultKind.TOKEN_EXPIRY:
        sandbox.state.expire_tokens()
        return None
    return injection if injection.kind is not None else None


_HTTP_ERRORS: dict[int, type[web.HTTPException]] = {
    429: web.HTTPTooManyRequests,
    500: web.HTTPInternalServerError,
    502: web.HTTPBadGateway,
    503: web.HTTPServiceUnavailable,
    504: web.HTTPGatewayTimeout,
}


def _http_error(status: int, retry_after: int | None = None) -> web.HTTPException:
    # LAC documents neither 429 nor Retry-After; a front proxy or a maintenance page may send
    # them, so the sandbox can, to check that the gateway waits as told.
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    error = _HTTP_ERRORS.get(status, web.HTTPInternalServerError)
    return error(text=f"injected HTTP {status}", headers=headers)
