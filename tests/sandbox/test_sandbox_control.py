"""The /_sandbox/ control API, the seed file and the command line."""

from __future__ import annotations

import asyncio
import re
import sys
import tomllib

import aiohttp
import pytest

from lacsandbox.app import SandboxConfig, create_sandbox
from lacsandbox.demoseed import DEMO_SEED_TOML
from lacsandbox.seed import SeedError, load_seed, order_spec, seed_from_mapping
from tests.sandbox.sandbox_support import DISABLED, SEED_FILE, SINGLE, RunningSandbox, call

HOST = "HOSTNAME=build01"
NEW_KEY = "NEWKY-ORDER-TEST0-00001"


async def test_order_created_at_run_time_can_be_activated(
    running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    order = {"bulk_max": 2, "hostid_types": ["HOSTNAME"], "customer_name": "Runtime Ltd"}
    async with http.put(f"{running_sandbox.url}/_sandbox/orders/{NEW_KEY}", json=order) as resp:
        status, body = resp.status, await resp.json()

    created = await call(
        http, running_sandbox, "CreateLicenseRequest", activationKey=NEW_KEY, hostid=HOST
    )

    assert status == 201
    assert (body["bulk_max"], body["customer_name"]) == (2, "Runtime Ltd")
    assert created.code == 0


async def test_order_update_changes_only_the_given_fields(
    running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    url = f"{running_sandbox.url}/_sandbox/orders/{SINGLE}"
    async with http.put(url, json={"enabled": False}) as resp:
        status, body = resp.status, await resp.json()

    refused = await call(
        http, running_sandbox, "CreateLicenseRequest", activationKey=SINGLE, hostid=HOST
    )

    assert status == 200
    assert body["enabled"] is False
    assert body["customer_name"] == "Acme Engineering"
    assert refused.code == 202


async def test_order_update_can_raise_the_removal_flag(
    running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    await call(http, running_sandbox, "CreateLicenseRequest", activationKey=SINGLE, hostid=HOST)
    async with http.put(f"{running_sandbox.url}/_sandbox/orders/{SINGLE}", json={"removal": True}):
        pass

    asked = await call(
        http, running_sandbox, "LicenseRemovalRequested", activationKey=SINGLE, hostid=HOST
    )

    assert (asked.code, asked.text) == (0, "SUCCESS")


@pytest.mark.parametrize(
    ("key", "body"),
    [
        (NEW_KEY, {"bulk_max": "many"}),
        (NEW_KEY, {"colour": "blue"}),
        (NEW_KEY, {"hostid_types": ["TELEPATHY"]}),
        (NEW_KEY, {"features": []}),
        (NEW_KEY, {"generation_delay": 1e300}),
        (NEW_KEY, {"features": [{"version": "1.0"}]}),
        ("not-a-key", {}),
        (NEW_KEY, ["not", "an", "object"]),
    ],
)
async def test_bad_order_is_refused_with_400(
    key: str, body: object, running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    async with http.put(f"{running_sandbox.url}/_sandbox/orders/{key}", json=body) as resp:
        assert resp.status == 400
        assert "error" in await resp.json()


async def test_body_that_is_not_json_is_refused_with_400(
    running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    async with http.put(f"{running_sandbox.url}/_sandbox/orders/{NEW_KEY}", data=b"{oops") as resp:
        assert resp.status == 400


async def test_license_state_is_readable_and_follows_the_clock(
    running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    key = "DELAY-2SECS-DEMO0-00007"
    await call(http, running_sandbox, "CreateLicenseRequest", activationKey=key, hostid=HOST)
    url = f"{running_sandbox.url}/_sandbox/licenses/{key}"

    async with http.get(url, params={"hostid": HOST}) as resp:
        before = await resp.json()
    async with http.post(f"{running_sandbox.url}/_sandbox/clock", json={"advance": 2}) as resp:
        clock = await resp.json()
    async with http.get(url, params={"hostid": HOST}) as resp:
        after = await resp.json()

    assert before["state"] == "in_progress"
    assert clock["offset"] == 2
    assert after["state"] == "success"
    assert after["filename"].startswith("license_")
    assert after["hostids"] == [{"type": "HOSTNAME", "value": "build01"}]


@pytest.mark.parametrize(
    "body", [{"advance": 1e300}, {"offset": float("nan")}, {"advance": "1"}, {}]
)
async def test_clock_refuses_moves_it_cannot_make(
    body: dict[str, object], running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    async with http.post(f"{running_sandbox.url}/_sandbox/clock", json=body) as resp:
        assert resp.status == 400
    assert running_sandbox.clock.offset == 0


async def test_unknown_license_reads_as_404(
    running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    url = f"{running_sandbox.url}/_sandbox/licenses/{SINGLE}"
    async with http.get(url, params={"hostid": HOST}) as resp:
        assert resp.status == 404


async def test_reset_all_forgets_licenses_orders_and_faults(
    running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    base = running_sandbox.url
    await call(http, running_sandbox, "CreateLicenseRequest", activationKey=SINGLE, hostid=HOST)
    async with http.put(f"{base}/_sandbox/orders/{NEW_KEY}", json={}):
        pass
    async with http.post(f"{base}/_sandbox/faults", json={"kind": "code", "code": 1000}):
        pass

    async with http.post(f"{base}/_sandbox/reset") as resp:
        assert resp.status == 200
    async with http.get(f"{base}/_sandbox/orders/{NEW_KEY}") as resp:
        new_order_status = resp.status
    async with http.get(f"{base}/_sandbox/faults") as resp:
        faults = await resp.json()
    fetched = await call(http, running_sandbox, "GetLicense", activationKey=SINGLE, hostid=HOST)

    assert new_order_status == 404
    assert faults == []
    assert fetched.code == 300


async def test_settings_change_the_token_lifetime(
    running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    async with http.patch(
        f"{running_sandbox.url}/_sandbox/settings", json={"token_ttl": 10}
    ) as resp:
        settings = await resp.json()
    login = await call(http, running_sandbox, "Login", username="demo", password="demo")
    token = login.tree.findtext(".//return/token") or ""
    running_sandbox.clock.advance(10)

    expired = await call(http, running_sandbox, "GetActivationCounters", token=token)

    assert settings == {
        "token_ttl": 10,
        "vendor_requires_https": False,
        "without_get_license": False,
    }
    assert expired.code == 50


async def test_order_listing_shows_every_seeded_order(
    running_sandbox: RunningSandbox, http: aiohttp.ClientSession
) -> None:
    async with http.get(f"{running_sandbox.url}/_sandbox/orders") as resp:
        orders = await resp.json()

    by_key = {o["activation_key"]: o for o in orders}
    assert len(by_key) == 12
    assert by_key[DISABLED]["enabled"] is False


def test_built_in_demo_seed_matches_config_sandbox_toml() -> None:
    assert seed_from_mapping(tomllib.loads(DEMO_SEED_TOML)) == load_seed(SEED_FILE)


def test_demo_seed_keys_have_the_documented_format() -> None:
    seed = load_seed(SEED_FILE)

    assert all(re.fullmatch(r"[A-Z0-9]{5}(-[A-Z0-9]{5}){3}", o.activation_key) for o in seed.orders)
    assert seed.vendor.username == "demo"
    assert seed.token_ttl == 3 * 3600


def test_seed_faults_are_parsed() -> None:
    raw = {
        "vendor": {"username": "u", "password": "p"},
        "faults": [{"kind": "latency", "operation": "GetLicense", "latency": 0.5}],
    }

    [fault] = seed_from_mapping(raw).faults

    assert (fault.kind.value, fault.operation, fault.latency) == ("latency", "GetLicense", 0.5)


def test_order_without_activation_key_is_a_seed_error() -> None:
    with pytest.raises(SeedError):
        order_spec({"bulk_max": 2})


@pytest.mark.parametrize("command", [("gateway", "sandbox"), ("lacsandbox",)])
async def test_command_line_starts_the_sandbox_and_prints_its_url(command: tuple[str, ...]) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        *command,
        "--port",
        "0",
        "--seed",
        str(SEED_FILE),
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        url = line.rsplit(" ", 1)[-1].strip()
        async with aiohttp.ClientSession() as http, http.get(f"{url}/") as resp:
            index = await resp.json()
    finally:
        proc.terminate()
        await proc.wait()

    assert line.startswith("LAC sandbox listening on http://127.0.0.1:")
    assert SINGLE in index["orders"]
    assert proc.returncode == 0


def test_default_config_reads_the_repository_seed_file() -> None:
    sandbox = create_sandbox(SandboxConfig())

    assert sorted(sandbox.state.orders) == sorted(
        o.activation_key for o in load_seed(SEED_FILE).orders
    )


def test_without_a_seed_file_the_built_in_demo_orders_are_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("lacsandbox.app.default_seed_path", lambda: None)

    sandbox = create_sandbox(SandboxConfig())

    assert SINGLE in sandbox.state.orders
    assert sandbox.state.login("demo", "demo").ok


def test_config_overrides_the_seed_settings() -> None:
    sandbox = create_sandbox(
        SandboxConfig(seed=SEED_FILE, token_ttl=5.0, vendor_requires_https=True)
    )

    assert sandbox.state.token_ttl == 5.0
    assert sandbox.vendor_requires_https is True
