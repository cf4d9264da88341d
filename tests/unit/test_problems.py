"""The problem type table: every LAC code advises, every type the gateway names is described."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway.api.problempages import wants_html
from gateway.codes import Code, LacCode, code_table
from gateway.errors import GatewayError, InvalidInput, NotFound, lac_problem, problem_body
from gateway.problems import PROBLEM_PATH, problem_types

GATEWAY = Path(__file__).resolve().parents[2] / "gateway"
# Every literal problem slug in the package: type_="...", or a class's slug = "...".
_SLUG = re.compile(r"""(?:type_=|slug = )"([a-z0-9-]+)\"""")
NOT_A_PROBLEM = frozenset({Code.SUCCESS, Code.PLEASE_WAIT})


def _rows() -> list[LacCode]:
    return [row for row in code_table().values() if row.code not in NOT_A_PROBLEM]


def _slugs_in_source() -> set[str]:
    found: set[str] = set()
    for path in GATEWAY.rglob("*.py"):
        found.update(_SLUG.findall(path.read_text(encoding="utf-8")))
    return found


@pytest.mark.parametrize("row", list(code_table().values()), ids=lambda r: r.name)
def test_every_lac_code_row_has_advice_of_its_own(row: LacCode) -> None:
    assert len(row.advice) > 20, row.name
    assert row.advice.lower() != row.meaning.lower()


@pytest.mark.parametrize("row", _rows(), ids=lambda r: r.name)
def test_a_lac_problem_says_what_to_do_with_the_code_beside_it(row: LacCode) -> None:
    err = lac_problem(row.code, row.meaning)
    body = problem_body(err, request_id="r1", instance="/v1/activations")
    assert body["detail"] == row.advice
    assert body["detail"].lower() != body["title"].lower()
    assert (body["lac_code"], body["lac_name"]) == (row.code, row.name)
    assert "lac_message" not in body  # LAC's text said nothing the title does not


def test_lac_text_that_adds_something_is_kept_beside_the_advice() -> None:
    err = lac_problem(Code.LICENSE_GENERATOR_FAILED, "generator exited with status 3")
    body = problem_body(err, request_id=None, instance=None)
    assert body["detail"] == code_table()[Code.LICENSE_GENERATOR_FAILED].advice
    assert body["lac_message"] == "generator exited with status 3"


def test_a_refused_deactivation_is_not_called_an_order() -> None:
    err = lac_problem(Code.CANNOT_DEACTIVATE_LICENSE, "")
    assert "order" not in err.title.lower()
    assert "license" in err.title.lower()


def test_an_unknown_activation_key_is_its_own_type_naming_the_field() -> None:
    err = lac_problem(Code.ACTIVATION_KEY_INVALID, "invalid activation key")
    assert err.status == 404
    assert err.type_uri == PROBLEM_PATH + "unknown-activation-key"
    assert err.errors is not None
    assert [e["field"] for e in err.errors] == ["activation_key"]
    assert NotFound("no such route").type_uri == PROBLEM_PATH + "not-found"


def test_problem_types_are_absolute_paths_under_problems() -> None:
    assert PROBLEM_PATH == "/problems/"
    assert InvalidInput("x").type_uri == "/problems/invalid-input"


def test_every_problem_type_the_gateway_names_is_in_the_table() -> None:
    table = problem_types()
    named = _slugs_in_source() | {lac_problem(row.code, "").type_ for row in _rows()}
    assert named - set(table) == set()
    assert len(named) > 30


def test_every_lac_code_leads_to_a_type_that_lists_it() -> None:
    table = problem_types()
    for row in _rows():
        slug = lac_problem(row.code, "").type_
        assert row.code in table[slug].lac_codes, row.name


@pytest.mark.parametrize("slug", sorted(problem_types()))
def test_each_type_has_a_title_a_status_and_what_to_do(slug: str) -> None:
    kind = problem_types()[slug]
    assert kind.title
    assert kind.about
    assert kind.advice
    assert kind.statuses
    assert all(400 <= s <= 599 for s in kind.statuses)
    assert kind.advice.lower() != kind.title.lower()


def test_an_error_without_a_detail_takes_its_types_advice() -> None:
    err = GatewayError(500, "Internal server error", type_="internal-error")
    assert err.detail == problem_types()["internal-error"].advice


def test_problem_body_leaves_out_absent_members() -> None:
    body = problem_body(NotFound("no such route"), request_id=None, instance=None)
    assert None not in body.values()
    assert set(body) == {"type", "title", "status", "detail"}


@pytest.mark.parametrize(
    ("accept", "html"),
    [
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", True),
        ("text/html", True),
        ("*/*", False),
        ("", False),
        ("application/json", False),
        ("text/plain, text/html;q=0.5", False),
        ("text/html;q=0", False),
        ("text/html;q=abc", False),
    ],
)
def test_a_page_is_html_only_when_accept_prefers_it(accept: str, html: bool) -> None:
    assert wants_html(accept) is html
