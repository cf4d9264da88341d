"""The exception tree and its problem+json rendering, table-driven over the LAC code table."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gateway.codes import CodeClass, LacCode, code_table
from gateway.errors import (
    PROBLEM_TYPE_BASE,
    BadRequest,
    Conflict,
    Forbidden,
    GatewayError,
    InvalidInput,
    LacProblem,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ServiceUnavailable,
    Unauthorized,
    lac_problem,
    problem_body,
)

FIXED = [
    (BadRequest, 400, "bad-request"),
    (Unauthorized, 401, "unauthorized"),
    (Forbidden, 403, "forbidden"),
    (NotFound, 404, "not-found"),
    (Conflict, 409, "conflict"),
    (PayloadTooLarge, 413, "payload-too-large"),
    (InvalidInput, 422, "invalid-input"),
    (RateLimited, 429, "rate-limited"),
    (ServiceUnavailable, 503, "service-unavailable"),
]


@pytest.mark.parametrize(("cls", "status", "slug"), FIXED)
def test_each_error_class_has_its_status_and_type(
    cls: Callable[[str], GatewayError], status: int, slug: str
) -> None:
    err = cls("what happened")
    assert isinstance(err, GatewayError)
    assert err.status == status
    assert err.type_uri == PROBLEM_TYPE_BASE + slug
    assert err.detail == "what happened"
    assert problem_body(err, request_id=None, instance=None)["status"] == status


def test_title_and_type_can_be_overridden() -> None:
    err = Conflict("busy", title="Request in progress", type_="idempotency-in-progress")
    body = problem_body(err, request_id="r1", instance="/v1/activations")
    assert body["title"] == "Request in progress"
    assert body["type"] == PROBLEM_TYPE_BASE + "idempotency-in-progress"


@pytest.mark.parametrize("code", list(code_table().values()), ids=lambda r: r.name)
def test_every_lac_code_maps_to_the_table_status_name_and_title(code: LacCode) -> None:
    err = lac_problem(code.code, "text from LAC")
    assert isinstance(err, LacProblem)
    assert err.status == code.http
    assert (err.lac_code, err.lac_name) == (code.code, code.name)
    assert err.title == code.title
    assert err.detail == code.advice
    assert err.lac_message == "text from LAC"
    assert err.type_uri == PROBLEM_TYPE_BASE + code.slug
    has_retry_after = code.klass in (CodeClass.RETRY, CodeClass.WAIT)
    assert (err.retry_after is not None) == has_retry_after
    assert ("Retry-After" in err.headers()) == has_retry_after


@pytest.mark.parametrize("code", [900, 901])
def test_network_failures_are_503_or_504_after_a_timeout(code: int) -> None:
    assert lac_problem(code, "connection refused").status == 503
    assert lac_problem(code, "read timed out", timeout=True).status == 504


def test_timeout_flag_does_not_change_other_codes() -> None:
    assert lac_problem(101, "invalid activation key", timeout=True).status == 404


def test_unknown_lac_code_is_a_permanent_502_with_a_generated_name() -> None:
    err = lac_problem(4242, "something new")
    assert err.status == 502
    assert err.lac_name == "LAC_CODE_4242"
    assert err.retry_after is None


def test_problem_body_carries_rfc9457_members_and_lac_fields() -> None:
    err = lac_problem(101, "Invalid activation key.")
    body = problem_body(err, request_id="req-1", instance="/v1/activations")
    assert body == {
        "type": PROBLEM_TYPE_BASE + "unknown-activation-key",
        "title": "Unknown activation key",
        "status": 404,
        "detail": code_table()[101].advice,
        "instance": "/v1/activations",
        "request_id": "req-1",
        "lac_code": 101,
        "lac_name": "LAC_ACTIVATION_KEY_INVALID",
        "errors": [{"field": "activation_key", "message": "unknown activation key"}],
    }


def test_problem_body_leaves_out_members_without_a_value() -> None:
    body = problem_body(NotFound(), request_id=None, instance=None)
    assert set(body) == {"type", "title", "status", "detail"}  # the detail: the type's advice


def test_invalid_input_lists_the_field_in_error() -> None:
    err = InvalidInput.field("hostids[2]", "unknown HostID type 'FOO'")
    body = problem_body(err, request_id="r", instance="/v1/activations")
    assert body["status"] == 422
    assert body["errors"] == [{"field": "hostids[2]", "message": "unknown HostID type 'FOO'"}]


def test_rate_limited_sends_retry_after() -> None:
    assert RateLimited("slow down", retry_after=7).headers() == {"Retry-After": "7"}
    assert NotFound().headers() == {}


def test_long_lac_text_is_cut_short_in_the_detail() -> None:
    err = lac_problem(400, "generator output " * 200)
    assert err.lac_message is not None
    assert len(err.lac_message) <= 500
