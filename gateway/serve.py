"""``python -m gateway serve``: load settings, configure logging, run the gateway."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import sys
from types import FrameType
from typing import NoReturn

import structlog
from aiohttp import web
from cryptography.exceptions import UnsupportedAlgorithm

from gateway import configuration, tracing
from gateway.api.auth import load_keys_file
from gateway.api.keys import KEY_RELOADER, KEY_RING
from gateway.api.protocol import GatewayRunner
from gateway.api.signing import load_private_key
from gateway.app import create_app
from gateway.cli_tools import package_version
from gateway.lac.wsdlsource import WsdlUnavailable
from gateway.logs import configure_logging, flush_logs
from gateway.settings import Settings

log = structlog.get_logger("gateway.serve")


def refuse(problems: list[str]) -> NoReturn:
    """Exit 2 with one line per problem, no traceback."""
    for problem in problems:
        print(f"lac-gateway: {problem}", file=sys.stderr)
    raise SystemExit(2)


def load_settings() -> Settings:
    """Settings from every source; exits 2 with one line per problem if they cannot be used."""
    try:
        settings = configuration.load_settings()
    except configuration.ConfigurationError as exc:
        refuse(exc.problems)
    verify(settings)
    return settings


def verify(settings: Settings) -> None:
    """Read now what the settings only name (keys file, signing key); exits 2 if unusable."""
    problems = []
    try:
        # The keys file read now, not at the first request. Only read: the key ring, with its
        # start-up warnings, is built by the app once logging has its configured format.
        if settings.auth.api_keys_file is not None:
            load_keys_file(settings.auth.api_keys_file)
    except ValueError as exc:
        problems.append(f"LACGW_AUTH__API_KEYS_FILE: {exc}")
    if settings.signing.private_key is not None:
        try:
            load_private_key(settings.signing.private_key.get_secret_value())
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            # The messages name the form expected, never the key.
            problems.append(f"LACGW_SIGNING__PRIVATE_KEY: {exc}")
    if problems:
        refuse(problems)


def run_gateway(settings: Settings) -> int:
    """Serve until SIGINT/SIGTERM, then drain within ``http.shutdown_timeout``."""
    configure_logging(settings.log.level, settings.log.format, trace_ids=tracing.configured())
    # SIGHUP reloads the API keys once serving; until then it must not end the process.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    if settings.http.workers > 1:
        return _run_workers(settings)
    _serve(settings, reuse_port=False)
    return 0


def new_event_loop(kind: str) -> asyncio.AbstractEventLoop:
    """A new event loop of ``http.event_loop``'s kind."""
    if kind == "uvloop":
        import uvloop  # noqa: PLC0415 - only the serving process needs it

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def _serve(settings: Settings, *, reuse_port: bool) -> None:
    """``web.run_app`` as aiohttp runs it, but with ``GatewayRunner`` (our protocol errors)."""
    loop = new_event_loop(settings.http.event_loop)
    asyncio.set_event_loop(loop)
    main = loop.create_task(_run(settings, reuse_port=reuse_port))
    try:
        loop.run_until_complete(main)
    except (web.GracefulExit, KeyboardInterrupt):  # SIGTERM / SIGINT: drain below
        pass
    finally:
        # The serving task unwinds first (it drains requests and closes the application), and
        # only then is whatever it left behind cancelled, as run_app does.
        if not main.done():
            main.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                loop.run_until_complete(main)
        _cancel_leftovers(loop)
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


async def _run(settings: Settings, *, reuse_port: bool) -> None:
    # Made in each worker, after the fork: the span exporter runs a thread of its own.
    provider = tracing.provider_from_env()
    runner = GatewayRunner(
        create_app(settings, tracer_provider=provider),
        handle_signals=True,  # SIGINT and SIGTERM raise GracefulExit in the loop
        shutdown_timeout=settings.http.shutdown_timeout,
        access_log=None,  # the API's middleware writes one structured line per request
    )
    try:
        await runner.setup()
    except WsdlUnavailable as exc:
        refuse([f"{exc} (LACGW_LAC__WSDL_SOURCE=live; auto falls back to the shipped WSDL)"])
    try:
        site = web.TCPSite(
            runner, settings.http.host, settings.http.port, reuse_port=reuse_port or None
        )
        try:
            await site.start()
        except OSError as exc:
            where = f"{settings.http.host}:{settings.http.port}"
            reason = os.strerror(exc.errno) if exc.errno else str(exc)
            refuse([f"cannot listen on {where} (LACGW_HTTP__HOST/PORT): {reason}"])
        announce(settings, len(runner.app[KEY_RING]))
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGHUP, runner.app[KEY_RELOADER].reload, "sighup")
        await asyncio.Event().wait()  # until a signal ends the loop
    finally:
        asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)  # removing restored the default: an exit
        await runner.cleanup()
        if provider is not None:  # the spans still waiting are sent (it blocks: off the loop)
            await asyncio.to_thread(provider.shutdown)


def announce(settings: Settings, api_keys: int) -> None:
    """One INFO line saying what this gateway is and where it listens; warnings by variable."""
    lac = settings.lac
    endpoint = lac.rest_url if lac.transport == "rest" else lac.soap_url
    log.info(
        "gateway_listening",
        version=package_version(),
        listen=f"{settings.http.host}:{settings.http.port}",
        workers=settings.http.workers,
        transport=lac.transport,
        lac=endpoint,
        vendor_lac=lac.vendor_soap_url,
        redis_mode=settings.redis.mode,
        api_keys=api_keys,
        signing_key="LACGW_SIGNING__PRIVATE_KEY" if settings.signing.private_key else "generated",
    )
    if api_keys == 0:
        log.warning(
            "no_api_keys",
            hint="every /v1 call answers 401: set LACGW_AUTH__API_KEYS or "
            "LACGW_AUTH__API_KEYS_FILE (lac-gateway keygen makes a key)",
        )


def _cancel_leftovers(loop: asyncio.AbstractEventLoop) -> None:
    tasks = asyncio.all_tasks(loop)
    for task in tasks:
        task.cancel()
    if tasks:
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))


PR_SET_PDEATHSIG = 1  # prctl(2) option: a signal for this process when its parent dies


def _die_with_parent(parent: int) -> None:
    """On Linux, SIGTERM (a clean drain) for this worker when its parent dies, even by SIGKILL."""
    if sys.platform != "linux":
        return
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before the request was made
        os.kill(os.getpid(), signal.SIGTERM)


def _worker(settings: Settings, parent: int) -> int:
    # The parent's forwarding handler is inherited: a worker reloads its keys itself instead.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    _die_with_parent(parent)
    try:
        _serve(settings, reuse_port=True)
    except Exception:  # a forked child must exit, never fall back into the parent's code
        log.exception("worker_failed")
        return 1
    finally:
        flush_logs()  # the worker leaves by os._exit: no atexit handlers run
    return 0


def _run_workers(settings: Settings) -> int:
    """Fork ``http.workers`` gateways, each its own event loop, sharing the port (SO_REUSEPORT).

    Forked before any event loop or connection exists; the parent only forwards SIGINT,
    SIGTERM and SIGHUP (reload the API keys) and waits. Each worker is a full replica (its own
    poller), as separate hosts are.
    """
    children: list[int] = []
    parent = os.getpid()

    def forward(signum: int, _frame: FrameType | None) -> None:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    # Before the forks, so that no SIGHUP between two of them is lost; a worker drops it at once.
    signal.signal(signal.SIGHUP, forward)
    for _ in range(settings.http.workers):
        pid = os.fork()
        if pid == 0:  # the child never returns into the parent's loop
            os._exit(_worker(settings, parent))
        children.append(pid)
    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    status = 0
    for pid in children:
        _, wait_status = os.waitpid(pid, 0)
        status = status or os.waitstatus_to_exitcode(wait_status)
    return status
