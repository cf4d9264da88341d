"""What a user might put in front instead: Debian's nginx with ``proxy_cache`` before the sandbox.

The baseline of the cache-hit table's nginx row: nginx as one unprivileged process (no master,
no daemon, its config, cache and logs in a temporary folder) caching the sandbox's end-user REST
license route, with an access log written to a file as the gateway's is.
"""

from __future__ import annotations

import base64
import shutil
from pathlib import Path
from urllib.parse import quote

from bench.procs import Process
from lacsandbox.localredis import free_port

NGINX = "/usr/sbin/nginx"
REST_LICENSES = "/rest/v2/licenses"

_CONFIG = """\
daemon off;
master_process off;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    access_log {root}/access.log combined buffer=64k flush=1s;
    proxy_cache_path {root}/cache levels=1:2 keys_zone=licenses:10m max_size=256m;
    upstream sandbox {{ server {upstream}; keepalive 16; }}
    server {{
        listen 127.0.0.1:{port};
        location = /healthz {{ return 200 "ok"; }}
        location {prefix}/ {{
            proxy_pass http://sandbox;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_cache licenses;
            proxy_cache_valid 200 10m;
            # The sandbox's own caching headers must not keep nginx from caching.
            proxy_ignore_headers Cache-Control Expires Set-Cookie Vary;
            add_header Cache-Status "nginx; $upstream_cache_status";
        }}
    }}
}}
"""


def available() -> bool:
    """Whether Debian's nginx is installed."""
    return Path(NGINX).exists() or shutil.which("nginx") is not None


def license_path(activation_key: str, hostid: str) -> str:
    """The sandbox's REST license path for one (key, HostID) pair."""
    segment = quote(base64.b64encode(hostid.encode()).decode(), safe="=")
    return f"{REST_LICENSES}/{activation_key}/{segment}"


def start_nginx(logs: Path, root: Path, sandbox_url: str) -> Process:
    """nginx caching ``sandbox_url``'s REST licenses, on a free port."""
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    port = free_port()
    upstream = sandbox_url.removeprefix("http://")
    conf = root / "nginx.conf"
    conf.write_text(_CONFIG.format(root=root, port=port, upstream=upstream, prefix=REST_LICENSES))
    binary = NGINX if Path(NGINX).exists() else shutil.which("nginx") or NGINX
    argv = [binary, "-p", str(root), "-c", str(conf), "-e", str(root / "error.log")]
    return Process("nginx", argv, {}, port, logs)
