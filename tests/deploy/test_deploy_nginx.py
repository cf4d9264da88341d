"""deploy/nginx/lac-gateway.conf, the compose entry point, run by Debian's nginx.

``nginx -t`` checks the file as compose mounts it (the certificate made by deploy/tools/demo_tls.py,
the upstream pointed at loopback), and a real nginx then proxies HTTPS to two real gateways:
it balances them, and the client address they see is the one nginx received the request from,
whatever a client writes in X-Forwarded-For or Forwarded.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import shutil
import socket
import ssl
import subprocess
from collections.abc import AsyncIterator, Iterator, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from cryptography import x509
from structlog.testing import capture_logs

from tests.deploy.deploy_support import DEPLOY
from tests.gwharness import Running as Gateway
from tests.gwharness import (
    gateway_settings,
    requests_counted,
    start_gateway,
    start_sandbox,
)

CONF = DEPLOY / "nginx" / "lac-gateway.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
PER_IP = 3
CLIENT_A, CLIENT_B = "127.0.0.5", "127.0.0.6"  # loopback addresses the test's clients bind


def _load_demo_tls() -> ModuleType:
    """deploy/tools/demo_tls.py as a module (deploy/ is no package)."""
    spec = importlib.util.spec_from_file_location("demo_tls", DEPLOY / "tools" / "demo_tls.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


DEMO_TLS = _load_demo_tls()

pytestmark = pytest.mark.skipif(
    not Path(NGINX).is_file(), reason="Debian's nginx is not installed (apt-get install nginx)"
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def nginx_conf(folder: Path, upstreams: list[str], port: int) -> Path:
    """The compose file's server block in a minimal nginx.conf that runs unprivileged here."""
    tls = folder / "tls"
    DEMO_TLS.write_certificate(tls, ["localhost", "127.0.0.1"])
    site = CONF.read_text(encoding="utf-8")
    servers = "".join(f"    server {address};\n" for address in upstreams)
    site = site.replace("    server gateway:8080;\n", servers)
    site = site.replace("listen 8443 ssl;", f"listen 127.0.0.1:{port} ssl;")
    site = site.replace("/etc/nginx/tls/", f"{tls}/")
    (folder / "site.conf").write_text(site, encoding="utf-8")
    temp = {name: folder / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir()
    main = f"""
        pid {folder}/nginx.pid;
        error_log {folder}/error.log warn;
        events {{ worker_connections 64; }}
        http {{
            access_log off;
            client_body_temp_path {temp["body"]};
            proxy_temp_path {temp["proxy"]};
            fastcgi_temp_path {temp["fastcgi"]};
            uwsgi_temp_path {temp["uwsgi"]};
            scgi_temp_path {temp["scgi"]};
            include {folder}/site.conf;
        }}
    """
    path = folder / "nginx.conf"
    path.write_text(main, encoding="utf-8")
    return path


def _nginx(conf: Path, *args: str) -> list[str]:
    # One process, in the foreground: nothing to switch users for, nothing left behind.
    return [
        NGINX,
        "-p",
        str(conf.parent),
        "-c",
        str(conf),
        "-g",
        "daemon off; master_process off;",
        *args,
    ]


def test_nginx_accepts_the_entry_point_configuration(tmp_path: Path) -> None:
    conf = nginx_conf(tmp_path, ["127.0.0.1:9"], _free_port())
    checked = subprocess.run(_nginx(conf, "-t"), capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
    assert "syntax is ok" in checked.stderr


def test_nginx_refuses_a_broken_configuration(tmp_path: Path) -> None:
    conf = nginx_conf(tmp_path, ["127.0.0.1:9"], _free_port())
    site = tmp_path / "site.conf"
    site.write_text(site.read_text().replace("proxy_http_version 1.1;", "proxy_http_version;"))
    checked = subprocess.run(_nginx(conf, "-t"), capture_output=True, text=True, check=False)
    assert checked.returncode != 0


def test_the_demo_certificate_is_made_once_for_the_names_asked(tmp_path: Path) -> None:
    assert DEMO_TLS.main([str(tmp_path), "gw.example.com,10.1.2.3"]) == 0
    cert = x509.load_pem_x509_certificate((tmp_path / "cert.pem").read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(n.value) for n in names] == ["gw.example.com", "10.1.2.3"]
    assert (tmp_path / "key.pem").stat().st_mode & 0o077 == 0, "the key is its owner's only"
    first = (tmp_path / "cert.pem").read_bytes()
    assert DEMO_TLS.main([str(tmp_path)]) == 0
    assert (tmp_path / "cert.pem").read_bytes() == first, "a restart keeps the certificate"
    assert DEMO_TLS.main([]) == 2


@dataclass
class Edge:
    """nginx on TLS in front of two gateway replicas."""

    url: str
    cafile: Path
    replicas: list[Gateway]


@pytest.fixture
async def edge(tmp_path: Path, redis_url: str) -> AsyncIterator[Edge]:
    """Two gateways trusting only 127.0.0.1 (nginx's source address), behind a real nginx."""
    sandbox_runner, sandbox_url = await start_sandbox()
    settings = gateway_settings(
        redis_url,
        sandbox_url,
        "soap",
        limits={"per_ip": PER_IP, "window": 600.0},
        http={"default_wait": 5.0, "trusted_proxies": ["127.0.0.1/32"]},
    )
    runners: list[web.AppRunner] = []
    try:
        async with aiohttp.ClientSession() as http:
            replicas = []
            for _ in range(2):
                runner, url, app = await start_gateway(settings)
                runners.append(runner)
                replicas.append(Gateway(url, sandbox_url, http, settings, app))
            port = _free_port()
            upstreams = [gw.gateway.removeprefix("http://") for gw in replicas]
            conf = nginx_conf(tmp_path, upstreams, port)
            with _running(conf):
                await _until_listening(port)
                yield Edge(f"https://127.0.0.1:{port}", tmp_path / "tls" / "cert.pem", replicas)
    finally:
        for runner in runners:
            await runner.cleanup()
        await sandbox_runner.cleanup()


@contextlib.contextmanager
def _running(conf: Path) -> Iterator[subprocess.Popen[bytes]]:
    """nginx as a child process for the duration of a ``with``."""
    process = subprocess.Popen(_nginx(conf), stderr=subprocess.DEVNULL)
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)


async def _until_listening(port: int) -> None:
    for _ in range(200):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.02)
            continue
        writer.close()
        await writer.wait_closed()
        return
    raise AssertionError("nginx did not start listening")


async def _get(edge: Edge, source: str, **headers: str) -> int:
    """GET /openapi.json through nginx from the loopback address ``source``, unauthenticated."""
    context = ssl.create_default_context(cafile=str(edge.cafile))
    connector = aiohttp.TCPConnector(ssl=context, local_addr=(source, 0))
    async with (
        aiohttp.ClientSession(connector=connector) as http,
        http.get(f"{edge.url}/openapi.json", headers=headers) as resp,
    ):
        await resp.read()
        return resp.status


def _clients(entries: list[MutableMapping[str, Any]]) -> list[object]:
    return [e.get("client") for e in entries if e["event"] == "http_request"]


async def test_nginx_terminates_tls_and_balances_the_replicas(edge: Edge) -> None:
    statuses = [await _get(edge, CLIENT_A) for _ in range(PER_IP)]
    assert statuses == [200] * PER_IP
    served = [sum(requests_counted(gw, "route").values()) for gw in edge.replicas]
    assert all(count >= 1 for count in served), served


async def test_the_gateways_see_the_client_address_never_a_spoofed_one(edge: Edge) -> None:
    spoofed = {"X-Forwarded-For": "198.51.100.1", "Forwarded": "for=198.51.100.2"}
    with capture_logs() as entries:
        first = [await _get(edge, CLIENT_A, **spoofed) for _ in range(PER_IP + 1)]
        other = await _get(edge, CLIENT_B, **spoofed)
    # The limit follows the client through the proxy: one address over it, another not.
    assert first == [200] * PER_IP + [429]
    assert other == 200
    assert _clients(entries) == [CLIENT_A] * (PER_IP + 1) + [CLIENT_B]
