"""The Base64 HostID path segment of end-user REST: standard, percent-encoded and URL-safe."""

from __future__ import annotations

import base64

import pytest

from lacsandbox.rest_enduser import decode_segment, encode_segment

# "?", ">" and "~" are the ASCII characters that make Base64 emit "+" or "/".
TRICKY = "CUSTOM=a?>~"
STANDARD = base64.b64encode(TRICKY.encode()).decode()
URL_SAFE = base64.urlsafe_b64encode(TRICKY.encode()).decode()


def test_tricky_hostid_needs_characters_outside_the_url_safe_alphabet() -> None:
    assert "+" in STANDARD or "/" in STANDARD
    assert STANDARD != URL_SAFE


@pytest.mark.parametrize(
    "segment",
    [STANDARD, URL_SAFE, STANDARD.rstrip("="), URL_SAFE.rstrip("="), f" {STANDARD} "],
    ids=["standard", "url-safe", "standard-unpadded", "url-safe-unpadded", "padded-with-blanks"],
)
def test_every_accepted_spelling_decodes_to_the_same_hostid(segment: str) -> None:
    assert decode_segment(segment) == TRICKY


@pytest.mark.parametrize("segment", ["", "!!!", "A", "SE9TVE5BTUU9YnVpbGQwMQ=x", "/w=="])
def test_text_that_is_not_base64_of_utf8_decodes_to_none(segment: str) -> None:
    assert decode_segment(segment) is None


def test_encoding_is_standard_base64_with_plus_and_slash_percent_encoded() -> None:
    encoded = encode_segment(TRICKY)

    assert "+" not in encoded
    assert "/" not in encoded
    assert encoded.replace("%2B", "+").replace("%2F", "/") == STANDARD
    assert encode_segment("HOSTNAME=build01") == "SE9TVE5BTUU9YnVpbGQwMQ=="
