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


def test_a_remembered_key_is_forgotten_when_the_keys_are_replaced() -> None:
    ring = KeyRing([ApiKey(name="fleet", sha256=sha("k1"))])
    first = ring.identify("k1")
    assert first is not None
    assert ring.identify("k1") is first  # remembered: the same caller without hashing again
    ring.replace([ApiKey(name="other", sha256=sha("k2"))])
    assert ring.identify("k1") is None  # a withdrawn key stops working at once
    second = ring.identify("k2")
    assert second is not None
    assert second.name == "other"


def test_refused_keys_are_not_remembered() -> None:
    ring = KeyRing([ApiKey(name="fleet", sha256=sha("k1"))])
    for n in range(5000):  # guesses fill no memory
        assert ring.identify(f"guess-{n}") is None
    assert len(ring._known) == 0


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


def test_a_key_without_scopes_may_activate_and_read_only() -> None:
    caller = KeyRing([ApiKey(name="fleet", sha256=sha("k1"))]).identify("k1")
    assert caller is not None
    assert caller.scopes == frozenset({"activate", "read"})
    assert not caller.admin
    assert not caller.may_deactivate_any


def test_a_legacy_admin_entry_holds_every_scope() -> None:
    caller = KeyRing([ApiKey(name="ops", sha256=sha("k1"), admin=True)]).identify("k1")
    assert caller is not None
    assert caller.admin
    assert caller.may_deactivate_any
    assert all(caller.allows(scope) for scope in ("activate", "read", "deactivate", "admin"))


def test_the_admin_scope_is_an_admin_and_deactivate_any_implies_deactivate() -> None:
    ring = KeyRing(
        [
            ApiKey(name="ops", sha256=sha("k1"), scopes=["admin"]),
            ApiKey(name="office", sha256=sha("k2"), scopes=["deactivate_any"]),
        ]
    )
    ops, office = ring.identify("k1"), ring.identify("k2")
    assert ops is not None
    assert ops.admin
    assert ops.allows("deactivate")
    assert office is not None
    assert office.allows("deactivate")
    assert office.may_deactivate_any
    assert not office.allows("read")
    assert not office.admin


def test_explicit_scopes_replace_the_default() -> None:
    caller = KeyRing([ApiKey(name="r", sha256=sha("k1"), scopes=["read"])]).identify("k1")
    assert caller is not None
    assert caller.allows("read")
    assert not caller.allows("activate")


@pytest.mark.parametrize("scopes", [["activate", "delete"], ["ADMIN"], "read"])
def test_an_unknown_scope_in_the_keys_file_is_refused(tmp_path: Path, scopes: object) -> None:
    path = tmp_path / "keys.json"
    path.write_text(json.dumps([{"name": "x", "sha256": sha("k1"), "scopes": scopes}]))
    with pytest.raises(ValueError, match="scopes"):
        load_keys_file(path)


def test_a_keys_file_that_is_not_json_says_so_without_an_empty_place(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_text('[{"name": "x"')
    with pytest.raises(ValueError, match="holds no valid key list") as caught:
        load_keys_file(path)
    assert "(: " not in str(caught.value)
    assert "(Invalid JSON: " in str(caught.value)
