"""Settings: environment with nested names, the TOML file, and clear refusals."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from gateway.settings import Settings

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "gateway.example.toml"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("LACGW_"):
            monkeypatch.delenv(name)


def test_nested_environment_names_reach_their_section(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LACGW_HTTP__PORT", "9099")
    monkeypatch.setenv("LACGW_LAC__TRANSPORT", "rest")
    monkeypatch.setenv("LACGW_LAC__PASSWORD", "s3cret")
    keys = '[{"name": "fleet-eu", "sha256": "' + "AB" * 32 + '", "admin": false}]'
    monkeypatch.setenv("LACGW_AUTH__API_KEYS", keys)
    settings = Settings()
    assert settings.http.port == 9099
    assert settings.lac.transport == "rest"
    assert settings.lac.password.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(settings)
    assert settings.auth.api_keys[0].sha256 == "ab" * 32


def test_toml_file_is_read_and_environment_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LACGW_CONFIG", str(EXAMPLE))
    monkeypatch.setenv("LACGW_HTTP__PORT", "7001")
    settings = Settings()
    assert settings.lac.username == "vendor-user"
    assert settings.auth.api_keys[0].name == "fleet-eu"
    assert settings.http.port == 7001


def test_defaults_point_at_lac_over_https() -> None:
    settings = Settings()
    assert settings.lac.soap_url.startswith("https://license.x-formation.com/")
    assert settings.lac.verify_tls
    assert settings.http.port == 8080


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LACGW_LAC__TRANSPORT", "carrier-pigeon"),
        ("LACGW_HTTP__PORT", "99999"),
        ("LACGW_LAC__SOAP_URL", "http://license.example.com/soap"),
        ("LACGW_AUTH__API_KEYS", '[{"name": "x", "sha256": "not-hex"}]'),
        (
            "LACGW_AUTH__API_KEYS",
            '[{"name": "x", "sha256": "' + "ab" * 32 + '", "scopes": ["rw"]}]',
        ),
    ],
)
def test_bad_configuration_is_refused(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        Settings()


def test_missing_config_file_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LACGW_CONFIG", "/nonexistent/gateway.toml")
    with pytest.raises(ValueError, match="nonexistent"):
        Settings()
