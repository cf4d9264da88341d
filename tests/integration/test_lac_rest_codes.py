"""Each documented end-user REST v2 error code: the sandbox sends it where LAC does, and the
REST adapter reads it as the row of the code table that fixes the gateway's problem status."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
import orjson
import pytest

from gateway.codes import Code, lookup
from gateway.lac.base import LacRejected
from gateway.lac.rest import LacRestClient, hostid_segment
from gateway.settings import LacSettings
from tests.integration.lac_support import SandboxControl

HOST = "HOSTNAME=build01"
Step = Callable[[LacRestClient, str], Awaitable[None]]


async def create(rest: LacRestClient, key: str) -> None:
    """PUT the license."""
    await rest.create(key, HOST)


async def deactivate(rest: LacRestClient, key: str) -> None:
    """DELETE the license."""
    await rest.deactivate(key, HOST)


async def activate_then_deactivate(rest: LacRestClient, key: str) -> None:
    """Activate until issued, then DELETE it."""
    await rest.create(key, HOST)
    await rest.poll(key, HOST)
    await rest.deactivate(key, HOST)


@dataclass(frozen=True)
class Documented:
    """A documented REST v2 code, where LAC sends it, and what the gateway makes of it."""

    rest_code: int
    rest_status: int
    key: str
    method: str
    collection: str
    step: Step
    lac_code: Code
    gateway_status: int
    order: dict[str, object] = field(default_factory=dict)


DOCUMENTED = [
    Documented(1600, 400, "RCODE-HOSTT-00000-01600", "PUT", "licenses", create,
               Code.WRONG_HOSTID_FORMAT, 422, {"hostid_types": ["ETHERNET"]}),
    Documented(1709, 403, "RCODE-NOGEN-00000-01709", "PUT", "licenses", create,
               Code.LICENSE_GENERATOR_NOT_UPLOADED, 502, {"generator_uploaded": False}),
    Documented(1703, 403, "RCODE-DISAB-00000-01703", "PUT", "licenses", create,
               Code.LICENSE_ORDER_DISABLED, 403, {"enabled": False}),
    Documented(1506, 403, "RCODE-NODEA-00000-01506", "DELETE", "licenses",
               activate_then_deactivate, Code.CANNOT_DEACTIVATE_LICENSE, 409,
               {"deactivations_allowed": 0}),
    Documented(1711, 404, "RCODE-NOLIC-00000-01711", "DELETE", "licenses", deactivate,
               Code.LICENSE_WAS_NOT_ACTIVATED, 404, {"deactivations_allowed": 1}),
]  # fmt: skip


@pytest.fixture
async def rest(session: aiohttp.ClientSession, settings: LacSettings) -> LacRestClient:
    return LacRestClient(session, settings)


async def raw_error(
    session: aiohttp.ClientSession, settings: LacSettings, method: str, path: str
) -> tuple[int, object]:
    """(status, v2 code) of the sandbox's answer, read without the adapter."""
    async with session.request(method, settings.rest_url.rstrip("/") + path) as reply:
        body = orjson.loads(await reply.read() or b"{}")
        return reply.status, body.get("code")


@pytest.mark.parametrize("case", DOCUMENTED, ids=lambda case: str(case.rest_code))
async def test_documented_rest_code_is_sent_and_read_as_its_row(
    rest: LacRestClient,
    session: aiohttp.ClientSession,
    settings: LacSettings,
    control: SandboxControl,
    case: Documented,
) -> None:
    await control.put_order(case.key, **case.order)
    with pytest.raises(LacRejected) as caught:
        await case.step(rest, case.key)
    path = f"/{case.collection}/{case.key}/{hostid_segment(HOST)}"

    assert await raw_error(session, settings, case.method, path) == (
        case.rest_status,
        case.rest_code,
    )
    assert caught.value.code == case.lac_code
    assert lookup(caught.value.code).http == case.gateway_status


async def test_unknown_key_is_1712_with_404_on_the_order_and_the_adapter_answers_none(
    rest: LacRestClient, session: aiohttp.ClientSession, settings: LacSettings
) -> None:
    key = "RCODE-UNKNO-00000-01712"
    assert await raw_error(session, settings, "GET", f"/license-orders/{key}") == (404, 1712)
    assert await rest.order(key) is None
    assert lookup(Code.ACTIVATION_KEY_INVALID).http == 404
