"""The command line as an operator runs it: --version, help, keygen, signing-key, serve options."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

from gateway.api.signing import load_private_key
from gateway.cli_tools import package_version
from gateway.settings import ApiKey
from lacsandbox.localredis import free_port
from tests.e2e.procs import ROOT, Process, gateway_env, new_prefix

CLI = [sys.executable, "-m", "gateway"]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m gateway ARGS`` as a process, output captured."""
    return subprocess.run(
        [*CLI, *args], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False
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
