"""structlog configuration: JSON lines when not on a terminal, readable output on one.

JSON lines are written out together: a line at INFO or DEBUG (the access log above all) waits
at most ``FLUSH_SECONDS`` for others to join it in one write (``FLUSH_LINES`` of them go out at
once: a longer batch would hold up the requests behind it), a warning or error takes every
waiting line out at once, and ``flush_logs`` (called at exit and before a fork) leaves nothing
behind. A write per line cost more than building the line. The access line is even built when
it is written (``info_line``): per request, only its values are kept.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass
from typing import Any, BinaryIO, Literal

import orjson
import structlog
from opentelemetry import trace

LogFormat = Literal["auto", "json", "console"]
FLUSH_SECONDS = 0.05
FLUSH_LINES = 64


REDACTED = "[redacted]"
MIN_REDACTED_CHARS = 3  # shorter pieces would blank out ordinary words, and hide nothing


def _pieces(value: str) -> set[str]:
    # A HostID list may be quoted whole, item by item, or by value alone.
    pieces = {value}
    for item in value.split(","):
        pieces.update((item, item.partition("=")[2]))
    return {p.strip() for p in pieces if len(p.strip()) >= MIN_REDACTED_CHARS}


def redact(text: str, values: Iterable[str]) -> str:
    """``text`` with each of ``values`` (keys, HostIDs, passwords, tokens) replaced.

    For text a peer sent back (a SOAP fault string) that may quote what the gateway sent.
    """
    pieces: set[str] = set()
    for value in values:
        pieces |= _pieces(value)
    for piece in sorted(pieces, key=len, reverse=True):  # a longer piece may contain a shorter
        text = text.replace(piece, REDACTED)
    return text


Later = tuple[Callable[..., bytes], tuple[Any, ...]]
"""A line rendered when it is written: ``render(*args)``."""


class LineSink:
    """Log lines on their way to one file, written in batches."""

    def __init__(self, file: BinaryIO) -> None:
        self._file = file
        self._pending: list[bytes | Later] = []
        self._flush_on: asyncio.AbstractEventLoop | None = None  # the loop a flush waits on

    def add(self, line: bytes | Later, *, urgent: bool) -> None:
        """Queue ``line``; write it now if ``urgent``, ``FLUSH_LINES`` wait or no event loop runs
        here."""
        pending = self._pending
        pending.append(line)
        if urgent or len(pending) >= FLUSH_LINES:
            self.flush()
            return
        scheduled = self._flush_on
        if scheduled is not None and scheduled.is_running():
            return  # the flush already waiting takes this line too
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop in this thread: nobody would come back for the line
            self.flush()
            return
        if self._flush_on is not loop:  # none scheduled, or on a loop that has gone
            self._flush_on = loop
            loop.call_later(FLUSH_SECONDS, self.flush)

    def flush(self) -> None:
        """Write every waiting line."""
        self._flush_on = None
        pending, self._pending = self._pending, []
        if pending:
            data = b"".join(
                line if isinstance(line, bytes) else line[0](*line[1]) for line in pending
            )
            with contextlib.suppress(ValueError, OSError):  # the stream is gone: nowhere to write
                self._file.write(data)
                self._file.flush()


class LineLogger:
    """structlog's logger for rendered JSON lines: warnings and worse are written at once."""

    def __init__(self, sink: LineSink) -> None:
        self._sink = sink

    def msg(self, message: bytes) -> None:
        """A line that may wait a moment."""
        self._sink.add(message + b"\n", urgent=False)

    def urgent(self, message: bytes) -> None:
        """A line written now, with everything before it."""
        self._sink.add(message + b"\n", urgent=True)

    debug = info = msg
    warning = warn = error = err = critical = exception = fatal = failure = urgent


_SINKS: list[LineSink] = []


def flush_logs() -> None:
    """Write every log line still waiting (before exit, ``os._exit`` or a fork)."""
    for sink in _SINKS:
        sink.flush()


atexit.register(flush_logs)
os.register_at_fork(before=flush_logs)  # a child must not write its parent's lines again


class UtcStamp:
    """ISO 8601 UTC times with microseconds as structlog writes them, the date once a second."""

    def __init__(self) -> None:
        self._second = -1
        self._prefix = ""

    def __call__(
        self, _logger: Any, _name: str, event: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        event["timestamp"] = self.at(time.time())
        return event

    def at(self, now: float) -> str:
        """The timestamp of ``now`` (``time.time()``)."""
        second = int(now)
        if second != self._second:
            self._second = second
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return "%s.%06dZ" % (self._prefix, (now - second) * 1_000_000)  # noqa: UP031 - faster


def _dumps(event: Any, **kwargs: Any) -> bytes:
    """orjson (a few times faster than json on the per-request access line), json as fallback."""
    try:
        return orjson.dumps(event, default=kwargs.get("default"))
    except TypeError:
        # orjson refuses what json accepts (non-str keys, huge ints): never lose a log line.
        return json.dumps(event, **kwargs).encode()


def _line(event: dict[str, Any]) -> bytes:
    """``_dumps(event)`` and its newline."""
    try:
        return orjson.dumps(event, option=orjson.OPT_APPEND_NEWLINE)
    except TypeError:
        return _dumps(event) + b"\n"


def add_trace_ids(
    _logger: Any, _name: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: the current span's ``trace_id`` and ``span_id``, when there is one."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event["trace_id"] = trace.format_trace_id(context.trace_id)
        event["span_id"] = trace.format_span_id(context.span_id)
    return event


def shared_processors(*, trace_ids: bool = False) -> list[structlog.types.Processor]:
    """The processors every line goes through before its renderer."""
    processors: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        UtcStamp(),
    ]
    if trace_ids:
        processors.append(add_trace_ids)
    processors.append(structlog.processors.format_exc_info)
    return processors


@dataclass(frozen=True, slots=True)
class _Direct:
    """What ``info_line`` needs of the JSON configuration to write as its chain would."""

    chain: list[Any]  # structlog's processors, changed in place, never replaced
    renderer: Any  # the chain's last step; structlog's test capture swaps it in place
    quiet: bool  # INFO is filtered out
    sink: LineSink
    stamp: UtcStamp


_DIRECT: _Direct | None = None


def info_line(event: str, fields: Callable[..., dict[str, Any]], *args: Any) -> bool:
    """Log an INFO line of plain JSON fields ``fields(*args)`` without structlog's chain, to
    the same bytes.

    For the per-request access line, where the chain's frames cost more than the line: the
    fields, ``event``, the context variables bound now, ``level`` and ``timestamp`` (now), in
    the chain's order. The line is built when the sink writes it, within ``FLUSH_SECONDS``:
    per request only ``args`` are kept. False when logging is configured otherwise (console, a
    test's capture): the caller then logs through structlog.
    """
    direct = _DIRECT
    if direct is None:
        return False
    chain = direct.chain
    if not chain or chain[-1] is not direct.renderer:
        return False
    if direct.quiet:
        return True  # filtered, as the chain's logger would
    bound = structlog.contextvars.get_contextvars()
    direct.sink.add(
        (_render, (direct.stamp, event, fields, args, bound, time.time())), urgent=False
    )
    return True


def _render(  # noqa: PLR0917 - what info_line kept of one line
    stamp: UtcStamp,
    event: str,
    fields: Callable[..., dict[str, Any]],
    args: tuple[Any, ...],
    bound: dict[str, Any],
    now: float,
) -> bytes:
    line = fields(*args)
    line["event"] = event
    if bound:
        for name, value in bound.items():
            line.setdefault(name, value)
    line["level"] = "info"
    line["timestamp"] = stamp.at(now)
    return _line(line)


def configure_logging(
    level: str = "INFO", fmt: LogFormat = "auto", *, trace_ids: bool = False
) -> None:
    """Configure structlog and the standard library logging once per process.

    ``trace_ids`` (tracing on) adds the current trace and span ids to every line; off, the
    lookup is not even made.
    """
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer: structlog.types.Processor
    factory: Callable[..., Any]
    if use_json:
        renderer = structlog.processors.JSONRenderer(serializer=_dumps)
        flush_logs()
        _SINKS[:] = [LineSink(sys.stderr.buffer)]
        sink = _SINKS[0]

        def factory(*_args: Any) -> LineLogger:
            return LineLogger(sink)

    else:
        # Plain tracebacks: the rich formatter would print local variables, secrets included.
        renderer = structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
        factory = structlog.PrintLoggerFactory(file=sys.stderr)
    numeric_level = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    # The list is changed in place, never replaced: loggers cached on first use hold it, so a
    # second configuration (a test's, check-lac's) reaches them too, as structlog's capture does.
    processors = structlog.get_config()["processors"]
    if not isinstance(processors, list):  # configured elsewhere with another sequence
        processors = []
    processors[:] = [*shared_processors(trace_ids=trace_ids), renderer]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=factory,
        cache_logger_on_first_use=True,
    )
    global _DIRECT  # noqa: PLW0603 - one logging configuration per process, as structlog's
    # The direct access line knows no trace ids: with tracing on, every line takes the chain.
    direct = use_json and not trace_ids
    quiet = numeric_level > logging.INFO
    _DIRECT = _Direct(processors, renderer, quiet, _SINKS[0], UtcStamp()) if direct else None
    _route_standard_logging(numeric_level)


# Loggers whose exceptions quote what a client sent (a parser error carries the request's bytes:
# API keys, activation keys, HostIDs): only the exception's type is logged, never its text.
QUOTING_LOGGERS = ("aiohttp",)


class StructlogHandler(logging.Handler):
    """Standard-library records (aiohttp, asyncio) as structlog events: one renderer, one stream."""

    def emit(self, record: logging.LogRecord) -> None:
        """Log ``record`` through structlog; tracebacks only from loggers that quote no input."""
        fields: dict[str, Any] = {"logger": record.name}
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None:
            fields["error"] = type(exc).__name__
            if not record.name.startswith(QUOTING_LOGGERS):
                fields["exc_info"] = record.exc_info
        message = record.getMessage() if not record.name.startswith(QUOTING_LOGGERS) else record.msg
        structlog.get_logger(record.name).log(record.levelno, str(message), **fields)


def _route_standard_logging(level: int) -> None:
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, StructlogHandler)]:
        root.removeHandler(handler)
    root.addHandler(StructlogHandler())
    root.setLevel(level)
    # aiohttp's DEBUG lines print requests as received, so it says no more than INFO even when
    # the gateway logs at DEBUG.
    logging.getLogger("aiohttp").setLevel(max(level, logging.INFO))
    # Its access lines quote the raw request line (activation keys, HostIDs in paths); the API's
    # middleware writes the access log, with keys masked.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
