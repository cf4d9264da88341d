"""The baseline server: one aiohttp handler answering every GET with the same JSON bytes."""

from __future__ import annotations

import argparse
from pathlib import Path

from aiohttp import web

from gateway.serve import new_event_loop


def create_bare_app(body: bytes) -> web.Application:
    """An app whose only work per request is routing and writing ``body``."""

    async def handler(_request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    async def health(_request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/healthz", health)
    app.router.add_get("/v1/licenses/{activation_key}", handler)
    return app


def main() -> None:
    """``python -m bench.bare --port N --body FILE``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--body", type=Path, required=True)
    parser.add_argument(
        "--loop", choices=("uvloop", "asyncio"), default="uvloop", help="as http.event_loop"
    )
    args = parser.parse_args()
    app = create_bare_app(args.body.read_bytes())
    loop = new_event_loop(args.loop)  # the same kind of loop as the gateway it is compared with
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None, loop=loop)


if __name__ == "__main__":
    main()
