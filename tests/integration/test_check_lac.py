"""``check-lac`` against the sandbox: all green, a LAC without GetLicense named and failed, and a
LAC not reached said in words an operator can act on."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from gateway.checklac import passed, render, run_checks
from gateway.settings import LacSettings
from tests.integration.lac_support import VENDOR_PASSWORD, SandboxControl, lac_settings


async def without_get_license(session: aiohttp.ClientSession, sandbox_url: str) -> None:
    url = f"{sandbox_url}/_sandbox/settings"
    async with session.patch(url, json={"without_get_license": True}) as reply:
        assert reply.status == 200


async def test_everything_works_against_the_sandbox(settings: LacSettings) -> None:
    rows = await run_checks(settings)
    table = render(rows)
    assert passed(rows), table
    checks = {row.check: row for row in rows}
    assert checks["vendor login"].result == "token obtained"
    assert checks["vendor counters"].result == "counters read"
    assert checks["SOAP GetLicense"].ok
    assert checks["REST license-orders"].ok
    assert VENDOR_PASSWORD not in table


@pytest.mark.parametrize("transport", ["soap", "rest"])
async def test_a_lac_without_get_license_fails_the_check_naming_it(
    sandbox_url: str, session: aiohttp.ClientSession, control: SandboxControl, transport: str
) -> None:
    await without_get_license(session, sandbox_url)
    rows = await run_checks(lac_settings(sandbox_url, transport=transport))
    table = render(rows)
    assert not passed(rows), table
    failed = [row for row in rows if row.ok is False]
    assert failed[0].check == "end-user GetLicense"
    assert failed[0].result.startswith("GetLicense: not in the live WSDL; operations there: ")
    assert "REST" in failed[0].todo
    assert VENDOR_PASSWORD not in table
    # Checking sends nothing that changes LAC: no create, no deactivation.
    counts = await control.counters()
    soap = counts.get("soap", {})
    assert not {"CreateLicenseRequest", "DeactivateLicense", "LicenseRemovalConfirm"} & set(soap)


async def test_an_unreachable_lac_fails_every_needed_check() -> None:
    rows = await run_checks(lac_settings("http://127.0.0.1:9", connect_timeout=1.0))
    assert not passed(rows)
    assert [row.check for row in rows] == ["end-user WSDL", "vendor WSDL", "REST license-orders"]
    assert all("LACGW_LAC__" in row.todo for row in rows)
    # The reason, not the client library's repr of its connection (an SSLContext's address).
    for row in rows:
        assert row.result.endswith(": cannot connect: Connection refused"), row.result
        assert row.result.startswith("http://127.0.0.1:9/"), row.result


async def test_a_name_that_does_not_resolve_is_said_so() -> None:
    rows = await run_checks(lac_settings("http://lac.invalid", connect_timeout=2.0))
    assert not passed(rows)
    results = [row.result for row in rows]
    assert all(": name not resolved: " in result for result in results), results
    assert not any("0x" in result for result in results), results


async def test_an_untrusted_certificate_is_said_so_with_its_reason(
    https_sandbox: tuple[str, Path],
) -> None:
    url, _ca_file = https_sandbox
    rows = await run_checks(lac_settings(url))
    assert not passed(rows)
    wsdl = next(row for row in rows if row.check == "end-user WSDL")
    reason = "TLS certificate not trusted: unable to get local issuer certificate"
    assert wsdl.result == f"{url}/soap/type/enduser/version/2?wsdl: {reason}", wsdl.result
    assert "LACGW_LAC__CA_BUNDLE" in wsdl.todo


async def test_without_vendor_credentials_the_login_row_says_skipped_once(sandbox_url: str) -> None:
    rows = await run_checks(lac_settings(sandbox_url, username="", password=""))
    assert passed(rows)
    line = next(line for line in render(rows).splitlines() if line.startswith("vendor login"))
    assert line.split(None, 2)[2] == "skipped: no LACGW_LAC__USERNAME"
