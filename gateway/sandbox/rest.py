"""End-user REST v2 and vendor REST routes of the sandbox."""

from __future__ import annotations

from aiohttp import web


def setup_rest_routes(app: web.Application) -> None:
    """Register the REST v2 routes (end-user and vendor) on ``app``."""
    del app
