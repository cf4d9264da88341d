"""``lac-gateway check-lac``: what an operator runs before going live against LAC.

It loads the settings, fetches both live WSDLs and holds them against ``soap_ops.py``, logs in
to the vendor API when credentials are set (token obtained, counters read), sends one harmless
end-user call per transport for a key that does not exist (LAC's documented answer: invalid
activation key), and prints a table: check, result, what to do. Exit 0 only if everything the
configured transport needs works. No secret, token or license reaches its output.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TypeVar

import aiohttp
from yarl import URL

from gateway.codes import Code
from gateway.lac.base import LacError
from gateway.lac.http import LacHttp, client_timeout, ssl_context
from gateway.lac.soap import soap_call
from gateway.lac.soap_codec import SoapCodec, WsdlUnusable
from gateway.lac.soap_ops import ENDUSER_OPS, SOAP_OPS, VENDOR_OPS, Op
from gateway.lac.wsdlcheck import compare
from gateway.lac.wsdlsource import load_live, wsdl_url
from gateway.logs import configure_logging, redact
from gateway.settings import LacSettings, Settings

T = TypeVar("T")
# A key of LAC's shape that no order has: every end-user call for it is harmless.
PROBE_KEY = "LACGW-CHECK-00000-00000"
PROBE_HOST = "HOSTNAME=lac-gateway-check"
INVALID_KEY_REST = 1712  # end-user REST v2's documented code for an unknown activation key
FIX_URL = "check LACGW_LAC__SOAP_URL / VENDOR_SOAP_URL / REST_URL, the network and TLS"
FIX_TABLE = "align gateway/lac/soap_ops.py with the live WSDL (one line per operation)"


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the table: ``ok`` None means skipped (not needed by this configuration)."""

    check: str
    ok: bool | None
    result: str
    todo: str = ""
    needed: bool = True


@dataclass
class Checker:
    """The checks, run in order against one configuration; each appends its rows."""

    settings: LacSettings
    session: aiohttp.ClientSession
    rows: list[Row]

    def add(self, row: Row) -> None:
        """Record one result, with every configured secret removed from its text."""
        secrets = [self.settings.password.get_secret_value()]
        self.rows.append(Row(row.check, row.ok, redact(row.result, secrets), row.todo, row.needed))

    async def wsdl(self, name: str, endpoint: str, ops: tuple[Op, ...]) -> SoapCodec | None:
        """Fetch one live WSDL and compare it with the table: a row per mismatch."""
        url = wsdl_url(endpoint)
        try:
            codec = await load_live(self.session, self.settings, url)
        except (aiohttp.ClientError, TimeoutError, OSError, WsdlUnusable) as exc:
            self.add(Row(f"{name} WSDL", False, f"{url}: {_why(exc)}", _fix_reach(exc)))
            return None
        self.add(Row(f"{name} WSDL", True, f"{url}: loaded"))
        mismatches = compare(codec.signatures(), ops, "live")
        for mismatch in mismatches:
            self.add(Row(f"{name} {mismatch.operation}", False, mismatch.message, _fix(mismatch)))
        if not mismatches:
            self.add(Row(f"{name} operations", True, "every operation and argument matches"))
        return codec

    async def soap_probe(self, codec: SoapCodec, op: Op, *, needed: bool = True) -> None:
        """One end-user SOAP call for a key no order has: an in-band answer proves the shape."""
        name = SOAP_OPS[op].name
        if not codec.has(op):
            self.add(Row(f"SOAP {name}", None, "not sent: not in the live WSDL", "", False))
            return
        http = LacHttp(self.session, self.settings, transport="soap")
        url = URL(self.settings.soap_url)
        outcome = await _attempt(
            soap_call(http, codec, url, op, activation_key=PROBE_KEY, hostid=PROBE_HOST)
        )
        if isinstance(outcome, LacError):
            self.add(Row(f"SOAP {name}", False, _lac_error(outcome), _fix_call(op), needed))
        elif outcome.result_code in (Code.ACTIVATION_KEY_INVALID, Code.RECORD_DOESNT_EXIST):
            self.add(Row(f"SOAP {name}", True, f"answered code {outcome.result_code} as expected"))
        else:
            text = f"answered code {outcome.result_code}, expected {Code.ACTIVATION_KEY_INVALID}"
            self.add(Row(f"SOAP {name}", True, text, "", needed))

    async def rest_probe(self, *, needed: bool) -> None:
        """``GET /license-orders/{unknown key}``: documented 404 with code 1712."""
        url = f"{self.settings.rest_url.rstrip('/')}/license-orders/{PROBE_KEY}"
        try:
            status, code = await _rest_status(self.session, self.settings, url)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            self.add(
                Row("REST license-orders", False, f"{url}: {_why(exc)}", _fix_reach(exc), needed)
            )
            return
        ok = status == 404 and code == INVALID_KEY_REST
        result = f"HTTP {status}, code {code}" + (" as expected" if ok else ", expected 404/1712")
        todo = "" if ok else "check LACGW_LAC__REST_URL (end-user REST v2 base)"
        self.add(Row("REST license-orders", ok, result, todo, needed))

    async def vendor(self, codec: SoapCodec) -> None:
        """Login (token obtained), GetActivationCounters (counters read), Logout."""
        if not self.settings.username:
            self.add(Row("vendor login", None, "no LACGW_LAC__USERNAME", "", False))
            return
        http = LacHttp(self.session, self.settings, transport="vendor")
        url = URL(self.settings.vendor_soap_url)
        password = self.settings.password.get_secret_value()
        login = await _attempt(
            soap_call(
                http, codec, url, Op.LOGIN, username=self.settings.username, password=password
            )
        )
        if isinstance(login, LacError) or login.result_code != Code.SUCCESS or not login.token:
            why = _lac_error(login) if isinstance(login, LacError) else f"code {login.result_code}"
            self.add(Row("vendor login", False, why, "check LACGW_LAC__USERNAME / PASSWORD"))
            return
        self.add(Row("vendor login", True, "token obtained"))
        counters = await _attempt(
            soap_call(http, codec, url, Op.ACTIVATION_COUNTERS, token=login.token)
        )
        if isinstance(counters, LacError) or counters.result_code != Code.SUCCESS:
            why = (
                _lac_error(counters)
                if isinstance(counters, LacError)
                else f"code {counters.result_code}"
            )
            self.add(
                Row("vendor counters", False, why, "the LAC user needs the Administrator role")
            )
        else:
            self.add(Row("vendor counters", True, "counters read"))
        await _attempt(soap_call(http, codec, url, Op.LOGOUT, token=login.token))


async def _attempt(call: Awaitable[T]) -> T | LacError:
    try:
        return await call
    except LacError as exc:
        return exc


async def _rest_status(
    session: aiohttp.ClientSession, settings: LacSettings, url: str
) -> tuple[int, object]:
    headers = {"Accept": "application/hal+json"}
    async with session.get(
        url, headers=headers, timeout=client_timeout(settings), ssl=ssl_context(settings)
    ) as reply:
        try:
            body = await reply.json(content_type=None)
        except ValueError:
            body = None
        code = body.get("code") if isinstance(body, dict) else None
        return reply.status, code


_NOT_CONNECTED = (  # the most specific first: each is a ClientConnectorError
    (aiohttp.ClientConnectorDNSError, "name not resolved"),
    (aiohttp.ClientConnectorSSLError, "TLS handshake failed"),
    (aiohttp.ClientConnectorError, "cannot connect"),
)


def _why(exc: BaseException) -> str:
    """Why a URL was not reached, in an operator's words rather than aiohttp's repr of its
    connection (which names an ``SSLContext`` by its address)."""
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        error = exc.certificate_error
        return f"TLS certificate not trusted: {getattr(error, 'verify_message', None) or error}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        what = next(text for kind, text in _NOT_CONNECTED if isinstance(exc, kind))
        return f"{what}: {_os_reason(exc.os_error)}"
    if isinstance(exc, TimeoutError):  # aiohttp's connect and read timeouts are TimeoutErrors
        return "no answer in time (LACGW_LAC__CONNECT_TIMEOUT, READ_TIMEOUT, TOTAL_TIMEOUT)"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection without answering"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _os_reason(error: OSError) -> str:
    """``Connection refused`` rather than ``Connect call failed ('127.0.0.1', 9)``."""
    if isinstance(error, ssl.SSLError):
        return error.reason or str(error)
    if isinstance(error, socket.gaierror) or not error.errno:
        return error.strerror or str(error)
    return os.strerror(error.errno)


def _lac_error(exc: LacError) -> str:
    return f"{type(exc).__name__} code {exc.code}: {exc.message}"


def _fix_reach(exc: BaseException) -> str:
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return "a private CA's certificate goes in LACGW_LAC__CA_BUNDLE; " + FIX_URL
    return FIX_URL


def _fix(mismatch: object) -> str:
    if getattr(mismatch, "operation", "") == SOAP_OPS[Op.GET_LICENSE].name:
        return "the gateway polls through REST instead (LACGW_LAC__REST_FALLBACK); " + FIX_TABLE
    return FIX_TABLE


def _fix_call(op: Op) -> str:
    if op is Op.GET_LICENSE:
        return "LAC refuses GetLicense: keep LACGW_LAC__REST_FALLBACK=true (polls through REST)"
    return FIX_TABLE


async def run_checks(settings: LacSettings) -> list[Row]:
    """Every check for ``settings``, in table order."""
    async with aiohttp.ClientSession() as session:
        checker = Checker(settings, session, [])
        soap = settings.transport == "soap"
        enduser = await checker.wsdl("end-user", settings.soap_url, ENDUSER_OPS)
        vendor = await checker.wsdl("vendor", settings.vendor_soap_url, VENDOR_OPS)
        if enduser is not None:
            await checker.soap_probe(enduser, Op.REMOVAL_REQUESTED)
            await checker.soap_probe(enduser, Op.GET_LICENSE, needed=soap)
        await checker.rest_probe(needed=not soap or settings.rest_fallback)
        if vendor is not None:
            await checker.vendor(vendor)
        return checker.rows


def render(rows: list[Row]) -> str:
    """The rows as a plain-text table: check, result, what to do."""

    def mark(row: Row) -> str:
        return "skipped" if row.ok is None else ("ok" if row.ok else "FAILED")

    table = [("check", "result", "what to do")]
    table += [(row.check, f"{mark(row)}: {row.result}", row.todo) for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(2)]
    lines = [f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c}".rstrip() for a, b, c in table]
    return "\n".join(lines)


def passed(rows: list[Row]) -> bool:
    """Whether every check the configured transport needs succeeded."""
    return all(row.ok is not False for row in rows if row.needed)


def check_lac(settings: Settings) -> int:
    """Run the checks, print the table; 0 if everything needed works, else 1."""
    configure_logging(settings.log.level, settings.log.format)  # to stderr, redacted
    rows = asyncio.run(run_checks(settings.lac))
    print(render(rows))
    ok = passed(rows)
    print("lac-gateway check-lac: " + ("everything needed works" if ok else "FAILED"))
    return 0 if ok else 1
