"""structlog configuration: JSON lines when not on a terminal, readable output on one."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from typing import Any, Literal

import orjson
import structlog

LogFormat = Literal["auto", "json", "console"]


def _dumps(event: Any, **kwargs: Any) -> bytes:
    """orjson (a few times faster than json on the per-request access line), json as fallback."""
    try:
        return orjson.dumps(event, default=kwargs.get("default"))
    except TypeError:
        # orjson refuses what json accepts (non-str keys, huge ints): never lose a log line.
        return json.dumps(event, **kwargs).encode()


def configure_logging(level: str = "INFO", fmt: LogFormat = "auto") -> None:
    """Configure structlog and the standard library logging once per process."""
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer: structlog.types.Processor
    factory: Callable[..., Any]
    if use_json:
        renderer = structlog.processors.JSONRenderer(serializer=_dumps)
        factory = structlog.BytesLoggerFactory(file=sys.stderr.buffer)
    else:
        # Plain tracebacks: the rich formatter would print local variables, secrets included.
        renderer = structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
        factory = structlog.PrintLoggerFactory(file=sys.stderr)
    numeric_level = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=factory,
        cache_logger_on_first_use=True,
    )
    # Libraries (aiohttp, asyncio) log through the standard library: same stream, same level.
    logging.basicConfig(level=numeric_level, stream=sys.stderr, format="%(name)s %(message)s")
