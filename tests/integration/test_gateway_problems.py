"""Problems say what to do, their types resolve to a page, and every problem has one shape."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.codes import Code, code_table
from gateway.problems import problem_types
from tests.gwharness import Running, problem_of
from tests.integration.test_gateway_bad_input import CASES as BAD_INPUT

BULK = "BULK5-SEATS-DEMO0-00002"
DISABLED = "DSBLD-ORDER-DEMO0-00004"
SLOW = "DELAY-2SECS-DEMO0-00007"
UNKNOWN_KEY = "ZZZZZ-ZZZZZ-ZZZZZ-ZZZZZ"
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
PYDANTIC_WORDS = ("should", "Input", "validation", "Field required", "Extra inputs")


def assert_tidy(problem: dict[str, Any]) -> None:
    """No member is null, and the detail is more than the title lower-cased."""
    assert None not in problem.values(), problem
    assert problem["type"].startswith("/problems/")
    assert problem["detail"].lower() != problem["title"].lower()


async def test_a_problem_type_page_is_html_for_a_browser_and_text_otherwise(
    running: Running,
) -> None:
    row = code_table()[Code.LICENSE_ACTIVATION_COUNT_EXCEEDED]
    path = f"/problems/{row.slug}"
    page = await running.call("GET", path, key=None, headers={"Accept": BROWSER_ACCEPT})
    assert page.status == 200
    assert page.content_type == "text/html"
    html = page.body.decode()
    assert "<html" in html
    assert "409" in html
    assert row.name in html
    assert "free a seat" in html
    text = await running.call("GET", path, key=None)
    assert text.status == 200
    assert text.content_type == "text/plain"
    assert f"{row.code} {row.name}" in text.body.decode()
    assert "Vary" in text.headers


async def test_an_unknown_problem_slug_is_a_404_problem(running: Running) -> None:
    reply = await running.call("GET", "/problems/no-such-problem", key=None)
    problem = problem_of(reply, 404)
    assert problem["type"] == "/problems/not-found"


async def test_every_type_in_the_table_resolves(running: Running) -> None:
    for slug, kind in problem_types().items():
        reply = await running.call("GET", f"/problems/{slug}", key=None)
        assert reply.status == 200, slug
        assert kind.title in reply.body.decode()


async def test_an_unknown_activation_key_is_not_an_unknown_route(running: Running) -> None:
    body = {"activation_key": UNKNOWN_KEY, "hostids": ["HOSTNAME=nobody"]}
    unknown_key = problem_of(await running.call("POST", "/v1/activations", json=body), 404)
    unknown_route = problem_of(await running.call("POST", "/v1/activatons", json=body), 404)
    assert unknown_key["type"] == "/problems/unknown-activation-key"
    assert unknown_route["type"] == "/problems/not-found"
    assert [e["field"] for e in unknown_key["errors"]] == ["activation_key"]
    assert "activation_key" in unknown_key["detail"]
    assert unknown_key["lac_code"] == Code.ACTIVATION_KEY_INVALID
    assert_tidy(unknown_key)
    page = await running.call("GET", unknown_key["type"], key=None)
    assert page.status == 200
    assert str(Code.ACTIVATION_KEY_INVALID.value) in page.body.decode()


async def test_a_lac_problem_carries_the_advice_beside_the_code(running: Running) -> None:
    body = {"activation_key": DISABLED, "hostids": ["HOSTNAME=advice01"]}
    problem = problem_of(await running.call("POST", "/v1/activations", json=body), 403)
    row = code_table()[Code.LICENSE_ORDER_DISABLED]
    assert problem["detail"] == row.advice
    assert (problem["lac_code"], problem["lac_name"]) == (row.code, row.name)
    assert_tidy(problem)


async def test_batch_item_problems_have_the_top_level_shape(running: Running) -> None:
    items = [
        {"activation_key": DISABLED, "hostids": ["HOSTNAME=shape01"]},
        {"activation_key": UNKNOWN_KEY, "hostids": ["HOSTNAME=shape01"]},
        {"activation_key": BULK, "hostids": ["HOSTNAME=bad value"]},
    ]
    reply = await running.call("POST", "/v1/activations/batch", json={"items": items})
    assert reply.status == 200, reply.body[:300]
    bodies = [result["body"] for result in reply.json()["results"]]
    for problem in bodies:
        assert_tidy(problem)
    alone = problem_of(await running.call("POST", "/v1/activations", json=items[0]), 403)
    assert set(bodies[0]) == set(alone) - {"instance", "request_id"}
    assert bodies[1]["type"] == "/problems/unknown-activation-key"


async def test_a_ready_activation_has_no_error_member(running: Running) -> None:
    body = {"activation_key": BULK, "hostids": ["HOSTNAME=noerror01"]}
    reply = await running.call("POST", "/v1/activations", json=body, headers={"Prefer": "wait=5"})
    assert reply.status == 200, reply.body[:300]
    assert "error" not in reply.json()
    slow = {"activation_key": SLOW, "hostids": ["HOSTNAME=noerror02"]}
    pending = await running.call(
        "POST", "/v1/activations", json=slow, headers={"Prefer": "respond-async"}
    )
    assert pending.status == 202
    assert "error" not in pending.json()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"activation_key": BULK, "hostids": []}, "hostids"),
        ({"activation_key": BULK}, "hostids"),
        ({"activation_key": BULK, "hostids": ["HOSTNAME=a"], "extra": 1}, "extra"),
        ({"activation_key": 7, "hostids": ["HOSTNAME=a"]}, "activation_key"),
        ({"activation_key": BULK, "hostids": [{"type": 1, "value": "x"}]}, "hostids[0].type"),
    ],
)
async def test_validation_errors_are_our_own_sentences_with_the_field_path(
    running: Running, body: dict[str, Any], field: str
) -> None:
    problem = problem_of(await running.call("POST", "/v1/activations", json=body), 422)
    assert_tidy(problem)
    assert [e["field"] for e in problem["errors"]] == [field]
    words = " ".join([problem["detail"], *(e["message"] for e in problem["errors"])])
    for word in PYDANTIC_WORDS:
        assert word not in words, words
    assert field in problem["detail"]


async def test_an_empty_batch_says_so_in_our_words(running: Running) -> None:
    reply = await running.call("POST", "/v1/activations/batch", json={"items": []})
    problem = problem_of(reply, 422)
    assert problem["errors"][0]["field"] == "items"
    assert "List should" not in problem["errors"][0]["message"]
    assert "at least 1" in problem["errors"][0]["message"]


async def test_the_problem_schema_allows_extension_members(running: Running) -> None:
    document = (await running.call("GET", "/openapi.json", key=None)).json()
    problem = document["components"]["schemas"]["Problem"]
    assert problem.get("additionalProperties", True) is not False
    assert "lac_message" in problem["properties"]
    assert problem["properties"]["type"]["format"] == "uri-reference"
    assert problem["required"] == ["type", "title", "status"]


@pytest.mark.parametrize(
    "path", [f"/v1/orders/{UNKNOWN_KEY}", f"/v1/licenses/{UNKNOWN_KEY}?hostid=HOSTNAME=nobody"]
)
async def test_an_unknown_key_on_a_read_route_is_the_same_type(running: Running, path: str) -> None:
    problem = problem_of(await running.call("GET", path), 404)
    assert problem["type"] == "/problems/unknown-activation-key"
    assert_tidy(problem)


async def test_every_refusal_of_bad_input_is_tidy_and_its_type_resolves(running: Running) -> None:
    for name, method, path, kwargs, status in BAD_INPUT:
        problem = problem_of(await running.call(method, path, **kwargs), status)
        assert_tidy(problem)
        assert "should" not in problem["detail"], name  # pydantic's "Input should be ..."
        page = await running.call("GET", problem["type"], key=None)
        assert page.status == 200, (name, problem["type"])


async def test_an_unknown_activation_id_is_not_an_unknown_route(running: Running) -> None:
    reply = await running.call("GET", "/v1/activations/act_aaaaaaaaaaaaaaaaaaaaaaaaaa")
    problem = problem_of(reply, 404)
    assert problem["type"] == "/problems/unknown-activation"
    assert "POST /v1/activations" in problem["detail"]
    assert_tidy(problem)
