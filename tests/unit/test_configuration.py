"""Loading settings as an operator meets them: secret files, unknown names, one line a problem."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gateway.checkconfig import render
from gateway.configuration import ConfigurationError, load_settings, load_with_origins, origin_of

SECRET = "s3cret-pw-0123"
SHA = "ab" * 32


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("LACGW_"):
            monkeypatch.delenv(name)


def problems_of(monkeypatch: pytest.MonkeyPatch, **env: str) -> list[str]:
    """The problems ``load_settings`` reports for ``env``; none of them may hold the secret."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as caught:
        load_settings()
    problems = caught.value.problems
    assert problems
    assert all("\n" not in line for line in problems)
    assert all(SECRET not in line and "input_value" not in line for line in problems)
    assert all("errors.pydantic.dev" not in line for line in problems)
    return problems


@pytest.mark.parametrize("name", ["LACGW_LAC__PASSWORD", "lac__password", "Lacgw_Lac__Password"])
def test_a_secret_file_per_variable_is_read(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str
) -> None:
    (tmp_path / name).write_text(SECRET + "\n")
    (tmp_path / "..data").mkdir()  # what a Kubernetes secret mount holds beside the files
    monkeypatch.setenv("LACGW_SECRETS_DIR", str(tmp_path))
    assert load_settings().lac.password.get_secret_value() == SECRET


def test_a_secret_file_with_a_list_and_the_environment_winning(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "LACGW_AUTH__API_KEYS").write_text(f'[{{"name": "fleet", "sha256": "{SHA}"}}]')
    (tmp_path / "LACGW_HTTP__PORT").write_text("9001")
    monkeypatch.setenv("LACGW_SECRETS_DIR", str(tmp_path))
    monkeypatch.setenv("LACGW_HTTP__PORT", "9002")
    settings = load_settings()
    assert settings.auth.api_keys[0].name == "fleet"
    assert settings.http.port == 9002


def test_a_malformed_secret_file_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "LACGW_HTTP__PORT").write_text("eighty")
    (tmp_path / "LACGW_AUTH__API_KEYS").write_text("[{not json")
    problems = problems_of(monkeypatch, LACGW_SECRETS_DIR=str(tmp_path))
    keys = tmp_path / "LACGW_AUTH__API_KEYS"
    assert problems == [
        f"secret file {keys} is not valid JSON "
        "(Expecting property name enclosed in double quotes at line 1 column 3)"
    ]
    (tmp_path / "LACGW_AUTH__API_KEYS").unlink()
    problems = problems_of(monkeypatch)
    assert len(problems) == 1
    assert problems[0].startswith(f"secret file {tmp_path / 'LACGW_HTTP__PORT'}: ")


def test_a_bad_value_names_its_variable_and_never_the_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    problems = problems_of(
        monkeypatch,
        LACGW_LAC__SOAP_URL="http://lac.example/soap",
        LACGW_LAC__PASSWORD=SECRET,
        LACGW_HTTP__PORT="99999",
    )
    assert len(problems) == 2
    assert any(p.startswith("LACGW_HTTP__PORT: ") for p in problems)
    assert any("LACGW_LAC__SOAP_URL is plain http://" in p for p in problems)


def test_a_redis_url_without_scheme_is_one_line_without_the_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    problems = problems_of(monkeypatch, LACGW_REDIS__URL=f"localhost:6379/{SECRET}")
    assert problems == ["LACGW_REDIS__URL: must start with redis://, rediss:// or unix://"]


def test_invalid_json_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    problems = problems_of(monkeypatch, LACGW_AUTH__API_KEYS="[{")
    assert len(problems) == 1
    assert problems[0].startswith("LACGW_AUTH__API_KEYS is not valid JSON (")


def test_a_bad_api_key_entry_is_placed(monkeypatch: pytest.MonkeyPatch) -> None:
    problems = problems_of(monkeypatch, LACGW_AUTH__API_KEYS='[{"name": "x", "sha256": "nothex"}]')
    assert len(problems) == 1
    assert problems[0].startswith("LACGW_AUTH__API_KEYS[0].sha256: String should match")


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [
        ("LACGW_REDIS_URL", "LACGW_REDIS__URL"),
        ("LACGW_LAC__PASSWROD", "LACGW_LAC__PASSWORD"),
        ("LACGW_HTTP__PORTS", "LACGW_HTTP__PORT"),
    ],
)
def test_an_unknown_variable_is_an_error_with_a_suggestion(
    monkeypatch: pytest.MonkeyPatch, name: str, suggestion: str
) -> None:
    problems = problems_of(monkeypatch, **{name: "redis://other:6379/0"})
    assert problems == [f"{name} is not a setting; did you mean {suggestion}?"]


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [
        ("lac__pasword", "lac__password"),
        ("LACGW_LAC__PASWORD", "LACGW_LAC__PASSWORD"),
        ("LACGW_REDIS_URL", "LACGW_REDIS__URL"),
    ],
)
def test_an_unknown_secret_file_is_an_error_with_a_suggestion_in_its_own_form(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str, suggestion: str
) -> None:
    (tmp_path / name).write_text(SECRET)
    problems = problems_of(monkeypatch, LACGW_SECRETS_DIR=str(tmp_path))
    file = tmp_path / name
    assert problems == [f"secret file {file} is not a setting; did you mean {suggestion}?"]


def test_an_unknown_toml_key_and_a_syntax_error_name_the_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text('[redis]\nurll = "redis://other:6379/0"\n')
    problems = problems_of(monkeypatch, LACGW_CONFIG=str(config))
    assert problems == [f"{config}: key redis.urll is not a setting; did you mean redis.url?"]
    config.write_text("[redis\nurl = 1\n")
    problems = problems_of(monkeypatch)
    assert len(problems) == 1
    assert problems[0].startswith(f"{config} is not valid TOML: ")


def test_a_bad_toml_value_names_the_key_and_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text("[http]\nport = -1\n")
    problems = problems_of(monkeypatch, LACGW_CONFIG=str(config))
    assert len(problems) == 1
    assert problems[0].startswith(f"{config}: key http.port: ")


def test_an_unreadable_ca_bundle_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    problems = problems_of(monkeypatch, LACGW_LAC__CA_BUNDLE="/nonexistent/ca.pem")
    assert problems == [
        "LACGW_LAC__CA_BUNDLE: CA bundle '/nonexistent/ca.pem' cannot be read "
        "(No such file or directory)"
    ]


@pytest.mark.parametrize(
    "text", ["10.0.0.0/8,172.16.0.0/12", "10.0.0.0/8", '["10.0.0.0/8", "172.16.0.0/12"]']
)
def test_trusted_proxies_load_in_the_comma_form_compose_uses_and_as_json(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, text: str
) -> None:
    # load_settings is what serve and check-config run: the form README documents must start.
    monkeypatch.setenv("LACGW_HTTP__TRUSTED_PROXIES", text)
    networks = [str(net) for net in load_settings().http.trusted_proxies]
    assert networks[0] == "10.0.0.0/8"
    monkeypatch.delenv("LACGW_HTTP__TRUSTED_PROXIES")
    (tmp_path / "LACGW_HTTP__TRUSTED_PROXIES").write_text(text + "\n")
    monkeypatch.setenv("LACGW_SECRETS_DIR", str(tmp_path))
    assert [str(net) for net in load_settings().http.trusted_proxies] == networks


def test_a_bad_trusted_proxy_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    (line,) = problems_of(monkeypatch, LACGW_HTTP__TRUSTED_PROXIES="10.0.0.0/8,nginx")
    assert line.startswith("LACGW_HTTP__TRUSTED_PROXIES")


def test_check_config_prints_the_trusted_proxies_as_written(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LACGW_HTTP__TRUSTED_PROXIES", "10.0.0.0/8,fd00::/8")
    settings, origins = load_with_origins()
    (line,) = [row for row in render(settings, origins).splitlines() if "trusted_proxies" in row]
    assert '["10.0.0.0/8", "fd00::/8"]' in line
    assert "environment LACGW_HTTP__TRUSTED_PROXIES" in line


def test_a_setting_the_toml_file_leaves_out_comes_from_its_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A table ([http]) names a section, not each of its settings: only the keys it holds
    # came from the file.
    config = tmp_path / "gateway.toml"
    config.write_text("[http]\nport = 9000\n")
    monkeypatch.setenv("LACGW_CONFIG", str(config))
    settings, origins = load_with_origins()
    assert settings.http.port == 9000
    assert origin_of(("http", "port"), origins) == f"TOML {config}: key http.port"
    assert origin_of(("http", "max_body_bytes"), origins) == "default"


def test_a_plain_http_url_is_named_where_the_operator_set_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    problems = problems_of(monkeypatch, LACGW_LAC__REST_URL="http://lac.example/rest/v2")
    assert problems == [
        "LACGW_LAC__REST_URL is plain http://; set LACGW_LAC__ALLOW_PLAIN_HTTP=true to allow it"
    ]
    monkeypatch.delenv("LACGW_LAC__REST_URL")
    config = tmp_path / "gateway.toml"
    config.write_text('[lac]\nsoap_url = "http://lac.example/soap"\n')
    problems = problems_of(monkeypatch, LACGW_CONFIG=str(config))
    assert problems == [
        f"{config}: key lac.soap_url is plain http://; "
        "set LACGW_LAC__ALLOW_PLAIN_HTTP=true to allow it"
    ]


@pytest.mark.parametrize(
    "name",
    ["LACGW_TEST_REDIS_URL", "LACGW_API_KEY", "LACGW_PUBLISH_ADDRESS", "LACGW_HTTPS_PORT"],
)
def test_the_projects_own_variables_that_are_no_settings_are_not_refused(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    # The tests' Redis (README), the example client's key, compose's own variables (a sourced
    # deploy/.env): they share the prefix but are for other programs.
    monkeypatch.setenv(name, "redis://127.0.0.1:6379/9")
    assert load_settings().http.port == 8080


def test_a_missing_settings_file_is_named_as_given_by_option_or_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # serve --config FILE sets LACGW_CONFIG: the line must fit either way the file was named.
    missing = tmp_path / "gateway.toml"
    problems = problems_of(monkeypatch, LACGW_CONFIG=str(missing))
    assert problems == [
        f"settings file {missing} (--config or LACGW_CONFIG) cannot be read "
        "(No such file or directory)"
    ]
