"""``python -m gateway serve``: load settings, configure logging, run the gateway."""

from __future__ import annotations

import sys

from aiohttp import web
from pydantic import ValidationError

from gateway.app import create_app
from gateway.logs import configure_logging
from gateway.settings import Settings


def load_settings() -> Settings:
    """Settings from the environment and LACGW_CONFIG; exits with a readable message if invalid."""
    try:
        return Settings()
    except (ValidationError, ValueError) as exc:
        print(f"lac-gateway: invalid configuration:\n{exc}", file=sys.stderr)
        raise SystemExit(2) from None


def run_gateway(settings: Settings) -> int:
    """Serve until SIGINT/SIGTERM, then drain within ``http.shutdown_timeout``."""
    configure_logging(settings.log.level, settings.log.format)
    web.run_app(
        create_app(settings),
        host=settings.http.host,
        port=settings.http.port,
        shutdown_timeout=settings.http.shutdown_timeout,
        access_log=None,  # the API's middleware writes one structured line per request
        print=None,
    )
    return 0
