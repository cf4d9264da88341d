"""Finished license answers kept per near-cache entry: a cache hit is a lookup and a write.

A fleet re-reads the same licenses all day, and the answer to a fresh cache hit depends only on
the near-cache entry and the representation asked for (``Accept``, the request target; for an
activation, its body and ``Prefer``). The first hit runs the slow path (service, model, JSON,
signature) and this middleware keeps what it produced: body, ETag, signature and headers. Later
hits are answered from those bytes by the hot path (``gateway.api.hotpath``) until the
near-cache entry goes: it is dropped with the entry, so a change on any replica (announced over
the invalidation channel) drops it everywhere. An entry whose time merely ran out is confirmed
by one Redis read (``Lapsed``). Whatever varies per request (request id, rate-limit headers,
``Server``) is added on both paths by the code that answers.

License answers carry a strong ``ETag`` over their body; ``If-None-Match`` with it answers 304.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections import OrderedDict
from dataclasses import dataclass

from aiohttp import hdrs, web
from multidict import CIMultiDict, CIMultiDictProxy, istr

from gateway import errors
from gateway.api.body import parse_model
from gateway.api.keys import NEAR_CACHE, RENDERED
from gateway.api.middleware import IDEMPOTENCY_HEADER, Handler, route_template
from gateway.api.routes import CACHE_NAME
from gateway.api.signing import SIGNATURE_HEADER, Signer
from gateway.hostids import Target, mask_key
from gateway.metrics import Metrics
from gateway.models import ActivationRequest
from gateway.nearcache import NearCache
from gateway.store.licenses import LicenseRecord

LICENSE_ROUTE = "/v1/licenses/{activation_key}"
ACTIVATIONS_ROUTE = "/v1/activations"
ETAG = "ETag"
PREFER = istr("Prefer")
IF_NONE_MATCH = hdrs.IF_NONE_MATCH
FRESH_HIT = f"{CACHE_NAME}; hit"
VARIANTS_PER_ENTRY = 4  # representations kept per license (JSON, text, ...): a bound, not a rule
# Kept from a 200 on a 304 (RFC 9110 15.4.5): what a cache needs to update its stored answer.
_NOT_MODIFIED_HEADERS = ("Cache-Status", "Vary", "Cache-Control", "Expires")
_NOT_KEPT = frozenset({"content-length", "etag", SIGNATURE_HEADER.lower()})


def etag_of(body: bytes) -> str:
    """A strong entity tag for ``body``."""
    digest = hashlib.sha256(body).digest()[:16]
    return '"' + base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii") + '"'


def matches(if_none_match: str, etag: str) -> bool:
    """Whether an ``If-None-Match`` value names ``etag`` (weak comparison, as RFC 9110 says)."""
    tags = (tag.strip() for tag in if_none_match.split(","))
    return any(tag in ("*", etag) or tag.removeprefix("W/") == etag for tag in tags)


def signed_at(signature: str) -> int:
    """The ``t`` of a signature header value (``t=<unix seconds>, kid=..., sig=...``)."""
    return int(signature.split(",", 1)[0].removeprefix("t="))


Variant = tuple[str | bytes, ...]  # what besides the license shapes an answer: method, headers


@dataclass(slots=True)
class Rendered:
    """One finished answer: what the slow path sent, minus what varies per request."""

    record: LicenseRecord  # the near-cache entry it was rendered from
    body: bytes
    # The answer's headers, its ETag (license reads) and signature included: never changed
    # once kept (each answer copies them; a new signature comes with new headers).
    headers: CIMultiDict[str]
    etag: str
    signature: str | None
    signed_at: int
    masked_key: str  # the activation key as the request spelled it, masked for the access log


class RenderedCache:
    """Finished answers by activation id and variant, at most ``max_entries`` ids."""

    def __init__(self, max_entries: int, metrics: Metrics) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[str, dict[Variant, Rendered]] = OrderedDict()
        self._ids: dict[Variant, str] = {}  # an activation's variant (its body) to its id
        # Bound once, counted in a plain number: a hit adds one, the next scrape reads it.
        self._hit = metrics.tallies.tally(metrics.cache_lookups.labels("license", "hit"))
        self.hits = 0

    def __contains__(self, aid: object) -> bool:
        return aid in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, aid: str, variant: Variant, record: LicenseRecord) -> Rendered | None:
        """The answer rendered from ``record`` (the entry the near cache holds now), if any."""
        variants = self._entries.get(aid)
        kept = variants.get(variant) if variants is not None else None
        if kept is None or kept.record is not record:
            return None
        self.hits += 1
        self._hit.count += 1  # the slow path counts its near-cache read as a hit: so does this
        return kept

    def peek(self, aid: str, variant: Variant) -> Rendered | None:
        """The answer kept for ``aid`` and ``variant``, whatever its entry (not a hit)."""
        variants = self._entries.get(aid)
        return variants.get(variant) if variants is not None else None

    def aid_of(self, variant: Variant) -> str | None:
        """The activation id an activation's variant (body included) was rendered for."""
        return self._ids.get(variant)

    def put(self, aid: str, variant: Variant, rendered: Rendered) -> None:
        """Keep ``rendered``; the oldest id goes beyond ``max_entries``."""
        variants = self._entries.setdefault(aid, {})
        if variant not in variants and len(variants) >= VARIANTS_PER_ENTRY:
            self._forget(variants)
        variants[variant] = rendered
        self._ids[variant] = aid
        self._entries.move_to_end(aid)
        while len(self._entries) > self.max_entries:
            self._forget(self._entries.popitem(last=False)[1])

    def drop(self, aid: str | None) -> None:
        """Forget ``aid``'s answers (None: every one); the near cache calls this on its drops."""
        if aid is None:
            self._entries.clear()
            self._ids.clear()
        else:
            self._forget(self._entries.pop(aid, {}))

    def _forget(self, variants: dict[Variant, Rendered]) -> None:
        for variant in variants:
            self._ids.pop(variant, None)
        variants.clear()


def attach(near: NearCache[LicenseRecord], metrics: Metrics) -> RenderedCache:
    """A rendered cache that drops what its near cache drops."""
    cache = RenderedCache(near.max_entries, metrics)
    near.on_drop.append(cache.drop)
    return cache


def _aid(request: web.Request) -> str | None:
    """The activation id of a license request; None when its key or HostIDs do not parse."""
    hostids = request.query.getall("hostid", [])
    if not hostids:
        return None
    try:
        return Target(request.match_info["activation_key"], hostids).aid
    except errors.GatewayError:
        return None  # the slow path answers it with the exact problem


def _fresh(near: NearCache[LicenseRecord], aid: str) -> LicenseRecord | None:
    record = near.get(aid)
    return record if record is not None and time.time() < record.fresh_until else None


def _caches(request: web.Request) -> tuple[RenderedCache, NearCache[LicenseRecord]] | None:
    cache, near = request.app.get(RENDERED), request.app.get(NEAR_CACHE)
    return (cache, near) if cache is not None and near is not None else None


@dataclass(frozen=True, slots=True)
class Lapsed:
    """A rendered answer whose near-cache entry's time ran out: it still holds if Redis still
    stores ``record``, the entry it was rendered from (``LICENSE_SERVICE.still_held``)."""

    aid: str
    record: LicenseRecord


def kept(
    cache: RenderedCache, near: NearCache[LicenseRecord], aid: str, variant: Variant
) -> Rendered | Lapsed | None:
    """The answer kept for ``aid`` (``cache.aid_of(variant)``) and ``variant``, while its
    near-cache entry is fresh; ``Lapsed`` once that entry's time ran out."""
    record = _fresh(near, aid)
    if record is not None:
        return cache.get(aid, variant, record)
    held = cache.peek(aid, variant)
    if held is None or near.get(aid) is not None or time.time() >= held.record.fresh_until:
        return None  # nothing kept, another entry read since, or no longer fresh: the chain's
    return Lapsed(aid, held.record)


def read_variant(request: web.BaseRequest) -> Variant:
    """What besides the license shapes a license read's answer."""
    # The whole target too: a representation chosen by a query parameter is a variant of its own.
    return ("GET", request.headers.get(hdrs.ACCEPT, ""), request.raw_path)


def activation_variant(request: web.BaseRequest, raw: bytes) -> Variant:
    """What besides the license shapes the answer to an activation with body ``raw``."""
    headers = request.headers
    return ("POST", headers.get(hdrs.ACCEPT, ""), ",".join(headers.getall(PREFER, [])), raw)


@web.middleware
async def rendered_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Keep the slow path's fresh license answers rendered; ETag and 304 on license reads.

    Answering from what is kept is the hot path's (``gateway.api.hotpath``), before the chain.
    """
    route = route_template(request)
    if route == LICENSE_ROUTE and request.method in ("GET", "HEAD"):
        return await _license_read(request, handler)
    if route == ACTIVATIONS_ROUTE and request.method == "POST":
        return await _activation(request, handler)
    return await handler(request)


async def _license_read(request: web.Request, handler: Handler) -> web.StreamResponse:
    caches = _caches(request)
    aid = _aid(request) if caches is not None else None
    if caches is None or aid is None or request.method != "GET":
        return _conditional(request, await handler(request))
    cache, near = caches
    generation = near.generation
    response = await handler(request)
    if near.generation == generation:  # nothing dropped meanwhile: the entry is what it read
        _keep(
            cache,
            aid,
            read_variant(request),
            _fresh(near, aid),
            response,
            activation_key=request.match_info["activation_key"],
            tagged=True,
        )
    return _conditional(request, response)


async def _activation(request: web.Request, handler: Handler) -> web.StreamResponse:
    """POST /v1/activations: the answer to a license held here is kept for its body's bytes."""
    caches = _caches(request)
    if caches is None or IDEMPOTENCY_HEADER in request.headers:
        return await handler(request)  # a keyed request is the idempotency middleware's
    cache, near = caches
    generation = near.generation
    response = await handler(request)
    if near.generation == generation and response.status == 200:  # a license, maybe cached
        raw = await request.read()  # the handler read and parsed it: aiohttp keeps the bytes
        _keep_activation(cache, near, activation_variant(request, raw), raw, response)
    return response


def _keep_activation(
    cache: RenderedCache,
    near: NearCache[LicenseRecord],
    variant: Variant,
    raw: bytes,
    response: web.StreamResponse,
) -> None:
    """Keep the answer to an activation body that the slow path answered from the cache."""
    req = parse_model(raw, ActivationRequest)  # it parsed in the handler: it parses here
    aid = Target(req.activation_key, req.hostids).aid
    _keep(cache, aid, variant, _fresh(near, aid), response, activation_key=req.activation_key)


def _keep(
    cache: RenderedCache,
    aid: str,
    variant: Variant,
    record: LicenseRecord | None,
    response: web.StreamResponse,
    *,
    activation_key: str,
    tagged: bool = False,
) -> None:
    """Keep a fresh cache hit's finished answer (``tagged``: with its ETag, a license read)."""
    if (
        record is None
        or response.status != 200  # only a license answer is kept
        or not isinstance(response, web.Response)
        or not isinstance(response.body, bytes)
        or response.headers.get("Cache-Status") != FRESH_HIT
    ):
        return
    body = response.body
    signature = response.headers.get(SIGNATURE_HEADER)
    headers = CIMultiDict((k, v) for k, v in response.headers.items() if k.lower() not in _NOT_KEPT)
    etag = etag_of(body)
    if tagged:  # license reads carry an ETag; activations answer as their slow path does
        headers[ETAG] = etag
    if signature is not None:
        headers[SIGNATURE_HEADER] = signature
    stamp = signed_at(signature) if signature is not None else 0
    masked = mask_key(activation_key)
    cache.put(aid, variant, Rendered(record, body, headers, etag, signature, stamp, masked))


def answer(
    request: web.BaseRequest, kept: Rendered, signer: Signer, reuse: float, *, tagged: bool
) -> web.Response:
    """The kept answer (``tagged``: with its ETag, 304 when the caller holds it), its signature
    renewed by ``signer`` once it is ``reuse`` seconds old."""
    if tagged and _matches(request, kept.etag):
        return _not_modified(kept.etag, CIMultiDictProxy(kept.headers))
    if kept.signature is not None:
        now = time.time()
        if now - kept.signed_at >= reuse:
            kept.signature = signer.sign(kept.body, now)
            kept.signed_at = signed_at(kept.signature)
            headers = kept.headers.copy()  # answers under way keep the ones they copied
            headers[SIGNATURE_HEADER] = kept.signature
            kept.headers = headers
    return web.Response(body=kept.body, headers=kept.headers)  # a copy of them


def _matches(request: web.BaseRequest, etag: str) -> bool:
    value = request.headers.get(IF_NONE_MATCH)
    return value is not None and matches(value, etag)


def _conditional(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
    """The slow path's answer with its ETag, or 304 when the caller already holds it."""
    if (
        response.status != 200  # only a license answer has an ETag
        or not isinstance(response, web.Response)
        or not isinstance(response.body, bytes)
        or response.prepared
    ):
        return response
    etag = etag_of(response.body)
    if _matches(request, etag):
        return _not_modified(etag, response.headers)
    response.headers[ETAG] = etag
    return response


def _not_modified(etag: str, headers: CIMultiDictProxy[str] | CIMultiDict[str]) -> web.Response:
    kept = {name: headers[name] for name in _NOT_MODIFIED_HEADERS if name in headers}
    return web.Response(status=304, headers={**kept, ETAG: etag})
