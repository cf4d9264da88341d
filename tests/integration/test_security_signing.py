"""Signed answers: every license answer verifies against the published Ed25519 key."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import aiohttp
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gateway.api.signing import load_private_key
from tests.gwharness import Reply, Running, gateway_settings, start_gateway, start_sandbox

KEY = "SNGLE-HOST1-DEMO0-00001"
HOST = "HOSTNAME=signed-host"
SEED = bytes(range(32))


def b64url_decode(text: str) -> bytes:
    """Base64url without padding, as JWKs and the header carry it."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def parse_signature(header: str) -> dict[str, str]:
    """The ``t``, ``kid`` and ``sig`` members of the signature header."""
    return dict(part.strip().split("=", 1) for part in header.split(","))


def verify(public: Ed25519PublicKey, reply: Reply) -> dict[str, str]:
    """Check the reply's signature the way a product would; raises InvalidSignature if bad."""
    members = parse_signature(reply.headers["LAC-Gateway-Signature"])
    public.verify(b64url_decode(members["sig"]), members["t"].encode() + b"." + reply.body)
    return members


@pytest.fixture
async def signed(redis_url: str) -> AsyncIterator[Running]:
    """A gateway signing with a known seed, toward a sandbox."""
    sandbox_runner, sandbox_url = await start_sandbox()
    seed = base64.b64encode(SEED).decode()
    settings = gateway_settings(redis_url, sandbox_url, "rest", signing={"private_key": seed})
    runner, url, app = await start_gateway(settings)
    async with aiohttp.ClientSession() as http:
        try:
            yield Running(url, sandbox_url, http, settings, app)
        finally:
            await runner.cleanup()
            await sandbox_runner.cleanup()


async def published_key(gw: Running) -> tuple[Ed25519PublicKey, str]:
    """The public key and key id from the well-known route (no API key needed)."""
    reply = await gw.call("GET", "/.well-known/lac-gateway-signing-key", key=None)
    assert reply.status == 200
    (jwk,) = reply.json()["keys"]
    assert (jwk["kty"], jwk["crv"], jwk["alg"]) == ("OKP", "Ed25519", "EdDSA")
    return Ed25519PublicKey.from_public_bytes(b64url_decode(jwk["x"])), jwk["kid"]


async def test_license_answers_verify_against_the_published_key(signed: Running) -> None:
    public, kid = await published_key(signed)
    expected = Ed25519PrivateKey.from_private_bytes(SEED).public_key()
    assert public.public_bytes_raw() == expected.public_bytes_raw()

    body = {"activation_key": KEY, "hostids": [HOST]}
    from_lac = await signed.call("POST", "/v1/activations", json=body)
    assert from_lac.status == 200
    assert from_lac.json()["source"] == "lac"
    assert verify(public, from_lac)["kid"] == kid

    from_cache = await signed.call("POST", "/v1/activations", json=body)
    assert from_cache.json()["source"] == "cache"
    verify(public, from_cache)

    fetched = await signed.call("GET", f"/v1/licenses/{KEY}", params={"hostid": HOST})
    verify(public, fetched)
    status = await signed.call("GET", f"/v1/activations/{from_lac.json()['id']}")
    verify(public, status)
    batch = await signed.call("POST", "/v1/activations/batch", json={"items": [body]})
    assert batch.status == 200
    verify(public, batch)


async def test_a_changed_body_or_timestamp_fails_verification(signed: Running) -> None:
    public, _ = await published_key(signed)
    body = {"activation_key": KEY, "hostids": [HOST]}
    reply = await signed.call("POST", "/v1/activations", json=body)
    members = verify(public, reply)
    signature = b64url_decode(members["sig"])
    tampered = reply.body.replace(b'"state":"ready"', b'"state":"READY"')
    assert tampered != reply.body
    with pytest.raises(InvalidSignature):
        public.verify(signature, members["t"].encode() + b"." + tampered)
    later = str(int(members["t"]) + 1).encode()
    with pytest.raises(InvalidSignature):
        public.verify(signature, later + b"." + reply.body)


async def test_answers_without_a_license_are_not_signed(signed: Running) -> None:
    reply = await signed.call("GET", "/v1/activations/" + "0" * 64)
    assert reply.status == 404
    assert "LAC-Gateway-Signature" not in reply.headers
    health = await signed.call("GET", "/healthz", key=None)
    assert "LAC-Gateway-Signature" not in health.headers


def test_a_pem_key_and_a_base64_seed_load_the_same_key() -> None:
    private = Ed25519PrivateKey.from_private_bytes(SEED)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    from_pem = load_private_key(pem).public_key().public_bytes_raw()
    from_seed = load_private_key(base64.b64encode(SEED).decode()).public_key().public_bytes_raw()
    assert from_pem == from_seed == private.public_key().public_bytes_raw()


@pytest.mark.parametrize("bad", ["not base64 !", base64.b64encode(b"short").decode()])
def test_an_unusable_key_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match=r"signing\.private_key"):
        load_private_key(bad)
