"""Ed25519 signatures on every answer that carries a license, and the public key to check them.

Header ``LAC-Gateway-Signature: t=<unix seconds>, kid=<key id>, sig=<base64url>``; the signed
bytes are ``b"<t>." + body``, so a product can check both what it received and when it was
signed, whether the license came from LAC or from the cache. The public key is published as a
JWK (RFC 8037) at ``/.well-known/lac-gateway-signing-key``.

A signature costs tens of microseconds, more than the rest of a cache hit; the same body is
answered with the same signature for ``signing.reuse_seconds`` (its ``t`` stays honest: when it
was made), after which it is signed afresh.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import time
from collections import OrderedDict

import structlog
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.api.keys import SIGNER
from gateway.api.middleware import Handler, route_template
from gateway.settings import SigningSettings

SIGNATURE_HEADER = "LAC-Gateway-Signature"
WELL_KNOWN_PATH = "/.well-known/lac-gateway-signing-key"
SEED_BYTES = 32
REUSED_SIGNATURES = 4096  # bodies whose signature is kept for reuse
# The routes whose 200 answers carry a license (or, for the batch, licenses).
SIGNED_ROUTES = frozenset(
    {
        "/v1/activations",
        "/v1/activations/batch",
        "/v1/activations/{id}",
        "/v1/licenses/{activation_key}",
    }
)

log = structlog.get_logger("gateway.api")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def load_private_key(text: str) -> Ed25519PrivateKey:
    """An Ed25519 private key from PEM (PKCS#8) or the base64 of its 32-byte seed."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(text.encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("signing.private_key is a PEM key, but not an Ed25519 one")
        return key
    try:
        seed = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("signing.private_key is neither PEM nor base64") from exc
    if len(seed) != SEED_BYTES:
        raise ValueError("signing.private_key must be the base64 of a 32-byte Ed25519 seed")
    return Ed25519PrivateKey.from_private_bytes(seed)


class Signer:
    """Signs response bodies with one Ed25519 key."""

    def __init__(self, key: Ed25519PrivateKey, reuse_seconds: float = 0.0) -> None:
        self._key = key
        self._reuse = reuse_seconds
        self._recent: OrderedDict[bytes, tuple[int, str]] = OrderedDict()
        self.public_raw = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.kid = hashlib.sha256(self.public_raw).hexdigest()[:16]

    @classmethod
    def from_settings(cls, settings: SigningSettings) -> Signer:
        """The configured key, or a new one for this process when none is configured."""
        if settings.private_key is None:
            log.warning(
                "signing_key_generated",
                hint="set LACGW_SIGNING__PRIVATE_KEY (lac-gateway signing-key makes one), "
                "the same on every replica",
            )
            return cls(Ed25519PrivateKey.generate(), settings.reuse_seconds)
        key = load_private_key(settings.private_key.get_secret_value())
        return cls(key, settings.reuse_seconds)

    def sign(self, body: bytes, now: float | None = None) -> str:
        """The signature header value for ``body``: made at ``now``, or reused if recent."""
        stamp = int(time.time() if now is None else now)
        digest = hashlib.sha256(body).digest() if self._reuse > 0 else b""
        recent = self._recent.get(digest)
        if recent is not None and 0 <= stamp - recent[0] < self._reuse:
            self._recent.move_to_end(digest)
            return recent[1]
        signature = self._key.sign(f"{stamp}.".encode() + body)
        header = f"t={stamp}, kid={self.kid}, sig={_b64url(signature)}"
        if self._reuse > 0:
            self._recent[digest] = (stamp, header)  # by digest: licenses can be large
            self._recent.move_to_end(digest)
            if len(self._recent) > REUSED_SIGNATURES:
                self._recent.popitem(last=False)
        return header

    def jwk(self) -> dict[str, str]:
        """The public key as a JSON Web Key."""
        return {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": _b64url(self.public_raw),
            "kid": self.kid,
            "alg": "EdDSA",
            "use": "sig",
        }


@web.middleware
async def signing_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Add the signature header to 200 answers of the routes that carry licenses."""
    response = await handler(request)
    if (
        response.status == 200
        and isinstance(response, web.Response)
        and isinstance(response.body, bytes)
        and route_template(request) in SIGNED_ROUTES
    ):
        response.headers[SIGNATURE_HEADER] = request.app[SIGNER].sign(response.body)
    return response


async def signing_key_handler(request: web.Request) -> web.StreamResponse:
    """GET /.well-known/lac-gateway-signing-key: the public key as a JWK."""
    return web.json_response({"keys": [request.app[SIGNER].jwk()]})
