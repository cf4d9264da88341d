"""The license file itself: GET /v1/licenses/{key} by Accept, signed and cached like JSON."""

from __future__ import annotations

from typing import Any

import pytest

from tests.gwharness import Reply, Running, problem_of
from tests.integration.test_security_signing import published_key, verify

KEY = "BULK5-SEATS-DEMO0-00002"
HOST = "HOSTNAME=file01"
PATH = f"/v1/licenses/{KEY}?hostid={HOST}"


async def issued(running: Running) -> dict[str, Any]:
    """Activate the test pair; the license of the ready body."""
    reply = await running.activate(KEY, [HOST])
    assert reply.status == 200, await reply.text()
    lic: dict[str, Any] = (await reply.json())["license"]
    return lic


async def fetch(running: Running, accept: str | None) -> Reply:
    """The license route with ``accept`` (None: no Accept header)."""
    headers = {} if accept is None else {"Accept": accept}
    return await running.call("GET", PATH, headers=headers)


@pytest.mark.parametrize(
    ("accept", "media"),
    [("text/plain", "text/plain"), ("application/octet-stream", "application/octet-stream")],
)
async def test_the_license_file_is_served_as_an_attachment(
    running: Running, accept: str, media: str
) -> None:
    lic = await issued(running)

    reply = await fetch(running, accept)

    assert reply.status == 200, reply.body[:300]
    assert reply.content_type == media
    assert reply.body == lic["content"].encode()
    disposition = f'attachment; filename="{lic["filename"]}"'
    assert reply.headers["Content-Disposition"] == disposition
    assert reply.headers["Vary"] == "Accept"


async def test_the_file_is_signed_over_its_bytes(running: Running) -> None:
    await issued(running)
    public, _ = await published_key(running)

    reply = await fetch(running, "text/plain")

    assert reply.content_type == "text/plain"
    verify(public, reply)  # raises when the signature does not cover the file as sent


async def test_the_file_carries_the_json_answers_cache_headers(running: Running) -> None:
    await issued(running)
    as_json = await fetch(running, None)
    as_file = await fetch(running, "text/plain")
    for name in ("Cache-Status", "Next-Check-After"):
        assert as_file.headers[name] == as_json.headers[name], name
    assert as_json.headers["Vary"] == "Accept"


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        (None, "application/json"),
        ("*/*", "application/json"),
        ("application/json", "application/json"),
        ("text/*", "text/plain"),
        ("application/json;q=0.5, text/plain", "text/plain"),
        ("text/plain;q=0.2, */*;q=0.1", "text/plain"),
        ("image/png, */*;q=0.1", "application/json"),
    ],
)
async def test_accept_chooses_the_representation(
    running: Running, accept: str | None, media: str
) -> None:
    await issued(running)
    assert (await fetch(running, accept)).content_type == media


@pytest.mark.parametrize("accept", ["image/png", "text/html", "text/plain;q=0, application/*;q=0"])
async def test_an_accept_that_matches_nothing_is_406_before_lac_is_asked(
    running: Running, accept: str
) -> None:
    calls, keys = await running.lac_calls(), await running.state_keys()

    reply = await fetch(running, accept)

    problem = problem_of(reply, 406)
    assert "text/plain" in problem["detail"]
    assert await running.lac_calls() == calls
    assert await running.state_keys() == keys


async def test_the_openapi_document_shows_both_representations(running: Running) -> None:
    doc = (await running.call("GET", "/openapi.json", key=None)).json()
    operation = doc["paths"]["/v1/licenses/{activation_key}"]["get"]
    content = operation["responses"]["200"]["content"]
    assert set(content) == {"application/json", "text/plain", "application/octet-stream"}
    assert content["text/plain"]["schema"]["type"] == "string"
    assert "406" in operation["responses"]
    assert "Content-Disposition" in operation["responses"]["200"]["headers"]
