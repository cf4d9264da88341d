"""The signer: valid Ed25519 signatures, reused for an identical body only within reuse_seconds."""

from __future__ import annotations

import base64

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.api.signing import Signer

BODY = b'{"state":"ready","license":{"content":"FEATURE f"}}'


def members(header: str) -> dict[str, str]:
    return dict(part.strip().split("=", 1) for part in header.split(","))


def verify(signer: Signer, header: str, body: bytes) -> int:
    """Check ``header`` for ``body`` as a product would; the signed time."""
    found = members(header)
    sig = base64.urlsafe_b64decode(found["sig"] + "=" * (-len(found["sig"]) % 4))
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32))).public_key()
    key.verify(sig, found["t"].encode() + b"." + body)
    assert found["kid"] == signer.kid
    return int(found["t"])


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


def test_an_identical_body_reuses_its_signature_within_the_window(key: Ed25519PrivateKey) -> None:
    signer = Signer(key, reuse_seconds=10)
    first = signer.sign(BODY, now=1_000.2)
    assert signer.sign(BODY, now=1_009.9) == first
    assert verify(signer, first, BODY) == 1_000
    renewed = signer.sign(BODY, now=1_010.0)
    assert renewed != first
    assert verify(signer, renewed, BODY) == 1_010


def test_each_body_has_its_own_signature(key: Ed25519PrivateKey) -> None:
    signer = Signer(key, reuse_seconds=10)
    other = BODY.replace(b"ready", b"READY")
    one, two = signer.sign(BODY, now=1_000), signer.sign(other, now=1_000)
    assert one != two
    verify(signer, two, other)
    with pytest.raises(InvalidSignature):
        verify(signer, one, other)


def test_without_reuse_every_second_signs_afresh(key: Ed25519PrivateKey) -> None:
    signer = Signer(key, reuse_seconds=0)
    assert verify(signer, signer.sign(BODY, now=1_000), BODY) == 1_000
    assert verify(signer, signer.sign(BODY, now=1_001), BODY) == 1_001
