"""What only the REST adapter does: the 303 dance, order summaries, HAL bodies."""

from __future__ import annotations

import aiohttp
import pytest

from gateway.lac.base import LacRejected, PollState
from gateway.lac.rest import LacRestClient
from gateway.settings import LacSettings
from tests.integration.lac_support import SandboxControl

KEY = "RESTS-ORDER-00000-00001"
HOST = "HOSTNAME=build01"


@pytest.fixture
def rest(session: aiohttp.ClientSession, settings: LacSettings) -> LacRestClient:
    return LacRestClient(session, settings)


async def test_order_summary_reports_product_and_activations(
    rest: LacRestClient, control: SandboxControl
) -> None:
    await control.put_order(KEY, product_name="Solver Pro", bulk_max=3)
    await rest.create(KEY, HOST)
    summary = await rest.order(KEY)
    assert summary is not None
    assert summary.activation_key == KEY
    assert summary.product == "Solver Pro"
    assert (summary.activations_used, summary.activations_allowed) == (1, 3)
    assert summary.enabled is True


async def test_a_disabled_order_is_reported_as_disabled(
    rest: LacRestClient, control: SandboxControl
) -> None:
    await control.put_order(KEY, enabled=False)
    summary = await rest.order(KEY)
    assert summary is not None
    assert summary.enabled is False


async def test_an_unknown_order_is_none(rest: LacRestClient) -> None:
    assert await rest.order("NOSUC-HORDR-00000-00000") is None


async def test_a_ready_queue_entry_is_followed_to_the_license(
    rest: LacRestClient, control: SandboxControl
) -> None:
    await control.put_order(KEY)
    await rest.create(KEY, HOST)
    await control.reset_counters()
    result = await rest.poll(KEY, HOST)
    assert result.state is PollState.READY
    assert await control.counters() == {
        "rest": {"GET /license-queue": 1, "GET /licenses": 1},
    }


async def test_a_pending_queue_entry_costs_one_call(
    rest: LacRestClient, control: SandboxControl
) -> None:
    await control.put_order(KEY, generation_delay=600)
    await rest.create(KEY, HOST)
    await control.reset_counters()
    assert (await rest.poll(KEY, HOST)).state is PollState.PENDING
    assert await control.counters() == {"rest": {"GET /license-queue": 1}}


async def test_a_failed_generation_is_read_from_license_errors(
    rest: LacRestClient, control: SandboxControl
) -> None:
    await control.put_order(KEY, generator_failure="template has no features")
    await rest.create(KEY, HOST)
    await control.reset_counters()
    with pytest.raises(LacRejected) as caught:
        await rest.poll(KEY, HOST)
    assert caught.value.code == 400
    assert caught.value.message == "template has no features"
    assert await control.counters() == {
        "rest": {"GET /license-queue": 1, "GET /license-errors": 1},
    }


async def test_deactivating_a_disabled_order_is_code_202(
    rest: LacRestClient, control: SandboxControl
) -> None:
    await control.put_order(KEY, deactivations_allowed=3)
    await rest.create(KEY, HOST)
    await control.put_order(KEY, enabled=False)
    with pytest.raises(LacRejected) as caught:
        await rest.deactivate(KEY, HOST)
    assert caught.value.code == 202
