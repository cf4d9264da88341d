"""The client address behind reverse proxies: forwarded headers, from trusted peers only.

Only when the TCP peer is in ``http.trusted_proxies`` are the forwarded headers read, right to
left: each proxy appends the address it received the request from, so the right-most address
that is not a trusted proxy is the client. What lies further left was written by the client
and is never read. The request continues as a clone whose ``remote`` is that address, so rate
limits, the access log and the audit trail all see the client, not the proxy.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from aiohttp import hdrs, web
from aiohttp.typedefs import Middleware
from pydantic import IPvAnyNetwork

from gateway.api.middleware import Handler

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_address(text: str | None) -> Address | None:
    """An IP address from a forwarded element (``[v6]:port``, ``v4:port``, bare), else None."""
    value = (text or "").strip().strip('"')
    if value.startswith("["):
        value = value[1 : value.find("]")] if "]" in value else ""
    elif value.count(":") == 1:
        value = value.split(":")[0]  # an IPv4 address with a port
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None  # "unknown", an obfuscated identifier (RFC 7239 "_hidden"), garbage
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def forwarded_hops(request: web.BaseRequest) -> list[str]:
    """The forwarded addresses, client first: ``X-Forwarded-For`` if sent, else ``Forwarded``.

    X-Forwarded-For first: the common proxies (nginx, ingress-nginx, Envoy, Traefik, HAProxy)
    all maintain it, while most pass a client's ``Forwarded`` through untouched.
    """
    joined = ",".join(request.headers.getall(hdrs.X_FORWARDED_FOR, ()))
    if joined:
        return joined.split(",")
    return [element.get("for", "") for element in request.forwarded]


def client_address(peer: Address, hops: Sequence[str], trusted: Sequence[IPvAnyNetwork]) -> Address:
    """The right-most address of ``hops`` (then ``peer``) that is not a trusted proxy.

    A hop that is no address stops the walk at the proxy that wrote it: nothing it relays
    further left can be told from what the client wrote.
    """
    current = peer
    for hop in reversed(hops):
        if not _is_trusted(current, trusted):
            return current
        address = parse_address(hop)
        if address is None:
            return current
        current = address
    return current


def _is_trusted(address: Address, trusted: Sequence[IPvAnyNetwork]) -> bool:
    return any(address in network for network in trusted)


def create_forwarded_middleware(trusted: Sequence[IPvAnyNetwork]) -> Middleware:
    """The outermost middleware when proxies are trusted: the request as the client sent it."""
    networks = tuple(trusted)

    @web.middleware
    async def forwarded_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        peer = parse_address(request.remote)
        if peer is None or not _is_trusted(peer, networks):
            return await handler(request)  # spoofed headers from anyone else are ignored
        client = client_address(peer, forwarded_hops(request), networks)
        if client == peer:
            return await handler(request)
        return await handler(request.clone(remote=str(client)))

    return forwarded_middleware
