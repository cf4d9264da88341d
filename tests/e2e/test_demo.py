"""The demo as a person runs it in a terminal: banner, its three commands, Ctrl-C, run again."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import re
import shlex
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from gateway.hostids import Target
from lacsandbox.demo import INSTANT_KEY, PENDING_KEY
from lacsandbox.localredis import free_port
from lacsandbox.seed import load_seed
from tests.e2e.procs import ROOT
from tests.gwharness import SEED_FILE

pytestmark = pytest.mark.e2e

# A parent that does not handle SIGINT, as make: if Ctrl-C reached it, it would die of it
# (a KeyboardInterrupt traceback) instead of printing the demo's exit status.
PARENT = (
    "import subprocess, sys\n"
    "code = subprocess.call([sys.executable, '-m', 'lacsandbox.demo', '--port', sys.argv[1]])\n"
    "print('parent saw exit', code, flush=True)\n"
)
ANSI = re.compile(r"\x1b\[[0-9;]*m")
WAITS = 600  # tenths of a second any one step may take on a loaded machine


class Terminal:
    """The demo's parent on a pseudo-terminal; everything it and the demo print is kept."""

    def __init__(self, workdir: Path, port: int) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LACGW_")}
        env["PYTHONPATH"] = str(ROOT)
        pid, fd = pty.fork()
        if pid == 0:  # the child: its own session, the pty its controlling terminal
            os.chdir(workdir)
            os.execve(sys.executable, [sys.executable, "-c", PARENT, str(port)], env)  # noqa: S606
        self.pid, self.fd = pid, fd
        self.output = ""
        self.closed = asyncio.Event()
        asyncio.get_running_loop().add_reader(fd, self._read)

    def _read(self) -> None:
        try:
            data = os.read(self.fd, 65536)
        except OSError:  # EIO: every end of the terminal's slave side is closed
            data = b""
        if not data:
            asyncio.get_running_loop().remove_reader(self.fd)
            self.closed.set()
            return
        self.output += ANSI.sub("", data.decode(errors="replace").replace("\r\n", "\n"))

    async def until(self, text: str) -> None:
        """Wait until ``text`` was printed."""
        for _ in range(WAITS):
            if text in self.output:
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"never printed {text!r}: {self.output[-3000:]}")

    def press_ctrl_c(self) -> None:
        """What the terminal does on Ctrl-C: SIGINT to its foreground process group."""
        os.write(self.fd, b"\x03")

    async def finish(self) -> int:
        """Wait for the parent to exit; its exit status."""
        await asyncio.wait_for(self.closed.wait(), WAITS / 10)
        _, status = await asyncio.to_thread(os.waitpid, self.pid, 0)
        os.close(self.fd)
        return os.waitstatus_to_exitcode(status)


def banner_commands(output: str) -> list[list[str]]:
    """Every curl command of the banner, as its words."""
    text = output.split("lac-gateway demo is running", 1)[1].split("Press Ctrl-C", 1)[0]
    joined = re.sub(r"\\\n\s*", " ", text)
    return [shlex.split(line) for line in joined.splitlines() if line.strip().startswith("curl")]


async def run_curl(http: aiohttp.ClientSession, words: list[str]) -> tuple[int, Any, str]:
    """What curl does with ``words`` (-s, -i, -X, -H, -d, the URL): status, body, Location."""
    method, headers, body, url = "GET", {}, None, ""
    args = iter(words[1:])
    for word in args:
        if word == "-X":
            method = next(args)
        elif word == "-H":
            name, _, value = next(args).partition(":")
            headers[name.strip()] = value.strip()
        elif word == "-d":
            body = next(args)
        elif not word.startswith("-"):
            url = word
    async with http.request(method, url, headers=headers, data=body) as resp:
        text = await resp.text()
        return resp.status, json.loads(text) if text else None, resp.headers.get("Location", "")


async def start_demo(workdir: Path, port: int) -> tuple[Terminal, list[list[str]], str]:
    """The demo in a terminal, its banner's commands and the API key it printed."""
    terminal = Terminal(workdir, port)
    await terminal.until("Press Ctrl-C to stop.")
    found = re.search(r"API key\s+(\S+)", terminal.output)
    assert found is not None
    return terminal, banner_commands(terminal.output), found.group(1)


async def run_banner(http: aiohttp.ClientSession, commands: list[list[str]]) -> None:
    """The banner's commands answer as it says: 200, 202 then 200, a successful deactivation."""
    assert len(commands) == 4
    instant, pending, poll, deactivate = commands
    status, body, _ = await run_curl(http, instant)
    assert (status, body["state"]) == (200, "ready"), body
    status, body, location = await run_curl(http, pending)
    assert (status, body["state"]) == (202, "pending"), body
    assert location in " ".join(poll)
    status, body, _ = await run_curl(http, poll)
    assert (status, body["state"]) == (200, "ready"), body
    status, body, _ = await run_curl(http, deactivate)
    assert 200 <= status < 300, body


async def test_the_demo_banner_works_ctrl_c_stops_in_order_and_a_rerun_keeps_the_key(
    tmp_path: Path,
) -> None:
    seed = {order.activation_key: order for order in load_seed(SEED_FILE).orders}
    assert seed[INSTANT_KEY].deactivations_allowed >= 1
    assert seed[INSTANT_KEY].generation_delay == 0
    assert seed[PENDING_KEY].generation_delay > 0
    port = free_port()
    terminal, commands, key = await start_demo(tmp_path, port)
    assert "fresh on every start" in terminal.output
    async with aiohttp.ClientSession() as http:
        try:
            await run_banner(http, commands)
            in_flight = asyncio.ensure_future(drained_request(http, port, key))
            await until_pending(http, port, key)
        finally:
            terminal.press_ctrl_c()
        status, body = await in_flight
        assert (status, body["state"]) == (200, "ready")  # answered while the gateway drained
        assert await terminal.finish() == 0
        check_shutdown(terminal.output)
        assert (tmp_path / ".run" / "demo-api-key").read_text().strip() == key
        # Run again: the same key, and the same commands work again on a fresh state.
        again, commands_again, key_again = await start_demo(tmp_path, port)
        try:
            assert key_again == key
            assert commands_again == commands
            await run_banner(http, commands)
        finally:
            again.press_ctrl_c()
        assert await again.finish() == 0
        check_shutdown(again.output)


DRAIN_HOST = "HOSTNAME=drain-check"


async def drained_request(http: aiohttp.ClientSession, port: int, key: str) -> tuple[int, Any]:
    """An activation of the slow order waiting inline (``Prefer: wait=30``)."""
    headers = {"Authorization": f"Bearer {key}", "Prefer": "wait=30"}
    body = {"activation_key": PENDING_KEY, "hostids": [DRAIN_HOST]}
    url = f"http://127.0.0.1:{port}/v1/activations"
    async with http.post(url, json=body, headers=headers) as resp:
        return resp.status, await resp.json()


async def until_pending(http: aiohttp.ClientSession, port: int, key: str) -> None:
    """Wait until the gateway holds the drain request's job (so the request is in flight)."""
    url = f"http://127.0.0.1:{port}/v1/activations/{Target(PENDING_KEY, [DRAIN_HOST]).aid}"
    for _ in range(WAITS):
        async with http.get(url, headers={"Authorization": f"Bearer {key}"}) as resp:
            if resp.status == 200 and (await resp.json())["state"] == "pending":
                return
        await asyncio.sleep(0.1)
    raise AssertionError("the drain request never became pending")


def check_shutdown(output: str) -> None:
    """Gateway, then sandbox, then Redis stopped; the parent exited 0; no error was logged."""
    stops = [output.index(f"demo: {name} stopped") for name in ("gateway", "sandbox", "redis")]
    assert stops == sorted(stops)
    assert "parent saw exit 0" in output
    after = output[output.index("demo: stopping the gateway") :]
    assert "Traceback" not in output
    assert "[error" not in after
    assert "poller_failing" not in after
