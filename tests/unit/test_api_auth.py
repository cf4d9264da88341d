"""API keys: matched by SHA-256, loaded from settings and from the keys file."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from gateway.api.auth import KeyRing, bearer_token, load_keys_file
from gateway.settings import ApiKey, AuthSettings


def sha(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def test_a_configured_key_identifies_its_caller() -> None:
    ring = KeyRing(
        [ApiKey(name="fleet", sha256=sha("k1")), ApiKey(name="ops", sha256=sha("k2"), admin=True)]
    )
    fleet, ops = ring.identify("k1"), ring.identify("k2")
    assert fleet is not None
    assert (fleet.name, fleet.admin) == ("fleet", False)
    assert ops is not None
    assert (ops.name, ops.admin) == ("ops", True)


def test_an_unknown_key_or_the_hash_itself_is_not_accepted() -> None:
    ring = KeyRing([ApiKey(name="fleet", sha256=sha("k1"))])
    assert ring.identify("k2") is None
    assert ring.identify(sha("k1")) is None


def test_upper_case_hashes_in_settings_still_match() -> None:
    ring = KeyRing([ApiKey(name="fleet", sha256=sha("k1").upper())])
    assert ring.identify("k1") is not None


def test_keys_file_adds_to_the_settings_keys(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_text(json.dumps([{"name": "batch", "sha256": sha("k3"), "admin": True}]))
    ring = KeyRing.from_settings(
        AuthSettings(api_keys=[ApiKey(name="fleet", sha256=sha("k1"))], api_keys_file=path)
    )
    assert len(ring) == 2
    batch = ring.identify("k3")
    assert batch is not None
    assert batch.admin


def test_an_unreadable_keys_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot be read"):
        load_keys_file(tmp_path / "missing.json")


def test_a_keys_file_with_a_bad_hash_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_text(json.dumps([{"name": "x", "sha256": "not-hex"}]))
    with pytest.raises(ValueError, match="sha256"):
        load_keys_file(path)


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc", "abc"),
        ("bearer   abc ", "abc"),
        ("Basic abc", None),
        ("Bearer", None),
        ("Bearer  ", None),
        ("", None),
        (None, None),
    ],
)
def test_bearer_token_is_read_from_the_authorization_header(
    header: str | None, token: str | None
) -> None:
    assert bearer_token(header) == token
