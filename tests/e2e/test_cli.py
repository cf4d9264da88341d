"""The command line as an operator runs it: --version, help, keygen, signing-key, serve options."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.api.signing import load_private_key
from gateway.cli_tools import package_version
from gateway.configuration import KNOWN
from gateway.secretfiles import is_model
from gateway.settings import ApiKey
from lacsandbox.localredis import free_port
from tests.e2e.procs import ROOT, Process, gateway_env, new_prefix

pytestmark = pytest.mark.e2e

CLI = [sys.executable, "-m", "gateway"]


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m gateway ARGS`` as a process, output captured (``env``: the whole environment)."""
    return subprocess.run(
        [*CLI, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False
    )


def test_version_prints_the_package_version() -> None:
    done = run_cli("--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"lac-gateway {package_version()}"
    assert package_version() != "unknown"


def test_help_is_plain_text_and_serve_lists_its_options() -> None:
    top = run_cli("--help")
    assert top.returncode == 0
    assert "``" not in top.stdout  # no reST markup
    for command in ("serve", "keygen", "signing-key", "sandbox", "demo"):
        assert command in top.stdout
    serve = run_cli("serve", "--help")
    assert serve.returncode == 0
    for option in ("--config", "--host", "--port", "--workers"):
        assert option in serve.stdout


@pytest.mark.parametrize(
    "argv",
    [
        [*CLI, "sandbox", "--help"],
        [*CLI, "demo", "--help"],
        [sys.executable, "-m", "lacsandbox", "--help"],
        [sys.executable, "-m", "lacsandbox.demo", "--help"],
    ],
    ids=["gateway-sandbox", "gateway-demo", "lacsandbox", "lacsandbox-demo"],
)
def test_the_development_commands_have_plain_help_saying_what_they_do(argv: list[str]) -> None:
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "``" not in done.stdout  # no reST markup
    assert "port to listen on" in done.stdout
    assert len(done.stdout.split("options:")[0].splitlines()) > 2  # a description, not usage only


def _keygen(*args: str) -> tuple[str, ApiKey]:
    done = run_cli("keygen", *args)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    key = lines[0].rsplit(" ", 1)[1]
    entry = ApiKey.model_validate(json.loads(lines[-1]))
    return key, entry


def test_keygen_prints_a_key_whose_entry_the_gateway_accepts() -> None:
    key, entry = _keygen("--name", "installer-eu", "--scope", "activate", "--scope", "deactivate")
    assert len(key) >= 43
    assert entry.sha256 == hashlib.sha256(key.encode()).hexdigest()
    assert entry.name == "installer-eu"
    assert entry.granted() == {"activate", "deactivate"}
    other, _ = _keygen()
    assert other != key


def test_keygen_admin_and_default_scopes() -> None:
    _, admin = _keygen("--admin", "--name", "ops")
    assert "admin" in admin.granted()
    _, default = _keygen()
    assert default.scopes is None
    assert default.granted() == {"activate", "read"}


def test_keygen_refuses_an_unknown_scope() -> None:
    done = run_cli("keygen", "--scope", "everything")
    assert done.returncode == 2
    assert "invalid choice" in done.stderr


@pytest.mark.parametrize("name", ["", "x" * 65])
def test_keygen_refuses_a_name_the_gateway_would_refuse(name: str) -> None:
    done = run_cli("keygen", "--name", name)
    assert done.returncode == 2, done.stdout
    assert done.stdout == ""
    assert "--name" in done.stderr
    assert "1 to 64 characters" in done.stderr


def test_signing_key_prints_a_key_the_gateway_loads() -> None:
    done = run_cli("signing-key")
    assert done.returncode == 0, done.stderr
    name, _, value = done.stdout.strip().partition("=")
    assert name == "LACGW_SIGNING__PRIVATE_KEY"
    load_private_key(value)  # raises if the gateway could not use it
    assert run_cli("signing-key").stdout != done.stdout


def test_serve_rejects_a_port_that_is_no_port() -> None:
    done = run_cli("serve", "--port", "99999")
    assert done.returncode == 2
    assert "not a port" in done.stderr


async def test_serve_listens_where_its_options_say(
    tmp_path: Path, redis_url: str, sandbox_process: Process
) -> None:
    # The environment says one port, the option another: the option wins.
    env = gateway_env(redis_url, sandbox_process.url, new_prefix(), LACGW_HTTP__PORT="1")
    port = free_port()
    argv = [*CLI, "serve", "--host", "127.0.0.1", "--port", str(port)]
    gateway = Process("gateway", argv, env, port, tmp_path, cwd=ROOT)
    try:
        await gateway.wait_healthy("/healthz")
    finally:
        gateway.stop()


def serve_refused(env: dict[str, str], *args: str) -> list[str]:
    """Start ``serve`` with ``env``; it must exit 2 at once with one line per problem."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LACGW_")}
    done = run_cli("serve", *args, env=clean | env)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    # Log lines of a gateway that got as far as starting are JSON; the refusal is plain text.
    lines = [line for line in done.stderr.strip().splitlines() if not line.startswith("{")]
    assert all(line.startswith("lac-gateway: ") for line in lines), lines
    return lines


def test_serve_refuses_bad_configuration_in_one_line_each_without_secrets() -> None:
    lines = serve_refused(
        {
            "LACGW_LAC__SOAP_URL": "http://lac.example/soap",
            "LACGW_LAC__PASSWORD": "s3cret-pw",
            "LACGW_REDIS_URL": "redis://other:6379/0",
        }
    )
    assert len(lines) == 1  # unknown names are reported before values are checked
    assert "LACGW_REDIS_URL is not a setting; did you mean LACGW_REDIS__URL?" in lines[0]
    lines = serve_refused(
        {"LACGW_LAC__SOAP_URL": "http://lac.example/soap", "LACGW_LAC__PASSWORD": "s3cret-pw"}
    )
    assert len(lines) == 1
    assert "LACGW_LAC__SOAP_URL is plain http://" in lines[0]
    assert "s3cret-pw" not in "\n".join(lines)


def test_serve_refuses_a_missing_keys_file_and_a_bad_redis_url() -> None:
    lines = serve_refused({"LACGW_AUTH__API_KEYS_FILE": "/nonexistent.json"})
    assert lines == [
        "lac-gateway: LACGW_AUTH__API_KEYS_FILE: '/nonexistent.json' cannot be read: "
        "No such file or directory"
    ]
    lines = serve_refused({"LACGW_REDIS__URL": "localhost:6379"})
    assert lines == [
        "lac-gateway: LACGW_REDIS__URL: must start with redis://, rediss:// or unix://"
    ]


async def test_serve_says_where_it_listens_and_refuses_a_port_in_use(
    tmp_path: Path, redis_url: str, sandbox_process: Process
) -> None:
    env = gateway_env(redis_url, sandbox_process.url, new_prefix(), LACGW_AUTH__API_KEYS="[]")
    port = free_port()
    argv = [*CLI, "serve", "--host", "127.0.0.1", "--port", str(port)]
    gateway = Process("gateway", argv, env, port, tmp_path, cwd=ROOT)
    try:
        await gateway.wait_healthy("/healthz")
        started = [json.loads(line) for line in gateway.log.read_text().splitlines()]
        listening = next(e for e in started if e["event"] == "gateway_listening")
        assert listening["listen"] == f"127.0.0.1:{port}"
        assert listening["transport"] == "soap"
        assert listening["api_keys"] == 0
        assert listening["signing_key"] == "generated"
        warning = next(e for e in started if e["event"] == "no_api_keys")
        assert "LACGW_AUTH__API_KEYS" in warning["hint"]
        lines = serve_refused(env, "--host", "127.0.0.1", "--port", str(port))
        assert lines == [
            f"lac-gateway: cannot listen on 127.0.0.1:{port} (LACGW_HTTP__HOST/PORT): "
            "Address already in use"
        ]
    finally:
        gateway.stop()


async def test_serve_with_json_logs_writes_only_json_lines_from_the_start(
    tmp_path: Path, redis_url: str, sandbox_process: Process
) -> None:
    # The fleet key has no scopes: its start-up warning is logged while the settings are
    # checked, and must come out in the configured format, once, like every other line.
    env = gateway_env(redis_url, sandbox_process.url, new_prefix())
    port = free_port()
    argv = [*CLI, "serve", "--port", str(port)]
    gateway = Process("gateway", argv, env, port, tmp_path, cwd=ROOT)
    try:
        await gateway.wait_healthy("/healthz")
        lines = gateway.log.read_text().splitlines()
        events = [json.loads(line)["event"] for line in lines]
        assert events.count("api_keys_default_scopes") == 1
    finally:
        gateway.stop()


def _leaf_settings() -> list[str]:
    """Every setting's dotted name that holds a value (sections left out)."""
    return [".".join(path) for path, field in KNOWN.items() if not is_model(field.annotation)]


def _check_config_line(stdout: str, dotted: str) -> str:
    return next(line for line in stdout.splitlines() if line.split(" ", 1)[0] == dotted)


def test_check_config_prints_every_setting_masked_with_where_it_came_from(
    tmp_path: Path,
) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "lac__username").write_text("vendor-user\n")
    config = tmp_path / "gateway.toml"
    config.write_text("[http]\nport = 9123\n")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LACGW_")}
    env = clean | {
        "LACGW_SECRETS_DIR": str(secrets),
        "LACGW_LAC__PASSWORD": "s3cret-pw",
        "LACGW_REDIS__URL": "redis://:redis-pw@cache.internal:6379/0",
    }
    done = run_cli("check-config", "--config", str(config), env=env)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "s3cret-pw" not in out
    assert "redis-pw" not in out
    for dotted in _leaf_settings():
        _check_config_line(out, dotted)  # every setting is listed
    assert "TOML" in _check_config_line(out, "http.port")
    assert str(config) in _check_config_line(out, "http.port")
    assert "9123" in _check_config_line(out, "http.port")
    assert "environment LACGW_LAC__PASSWORD" in _check_config_line(out, "lac.password")
    assert f"secret file {secrets / 'lac__username'}" in _check_config_line(out, "lac.username")
    assert "vendor-user" in _check_config_line(out, "lac.username")  # not a secret
    assert "cache.internal:6379" in _check_config_line(out, "redis.url")
    assert _check_config_line(out, "jobs.lease").endswith("default")
    # A mask of a fixed width: the output is the same whatever the password's length.
    longer = run_cli(
        "check-config",
        "--config",
        str(config),
        env=env | {"LACGW_LAC__PASSWORD": "a-much-longer-password-than-before"},
    )
    assert longer.stdout == out


def test_check_config_refuses_bad_configuration_as_serve_does() -> None:
    env = {"LACGW_REDIS_URL": "redis://other:6379/0", "LACGW_LAC__PASSWORD": "s3cret-pw"}
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LACGW_")}
    done = run_cli("check-config", env=clean | env)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip().splitlines() == serve_refused(env)
    keys = run_cli("check-config", env=clean | {"LACGW_AUTH__API_KEYS_FILE": "/nonexistent.json"})
    assert keys.returncode == 2
    assert keys.stderr.strip().splitlines() == serve_refused(
        {"LACGW_AUTH__API_KEYS_FILE": "/nonexistent.json"}
    )
    signing = run_cli("check-config", env=clean | {"LACGW_SIGNING__PRIVATE_KEY": "not-a-key!"})
    assert signing.returncode == 2
    assert signing.stderr.strip() == (
        "lac-gateway: LACGW_SIGNING__PRIVATE_KEY: signing.private_key is neither PEM nor base64"
    )
