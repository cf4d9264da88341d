"""The one table of problem types: the gateway's own (``data/problem_types.json``) and LAC's codes.

Each type is named by ``/problems/{slug}`` (an absolute path, resolved against the host that
answered), which the gateway serves as a page describing it; the page, the type URIs and the
default ``detail`` of a problem all come from this table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from gateway.codes import Code, LacCode, code_table

PROBLEM_TYPES_FILE = Path(__file__).parent / "data" / "problem_types.json"
PROBLEM_PATH = "/problems/"
"""Type URIs are absolute paths: relative to the host that answered, so they resolve there."""

# Codes that never reach a caller as a problem: success, and "please wait" (a 202; a job that
# waits past its deadline is the gateway's own ``timeout``).
_NOT_PROBLEMS = frozenset({Code.SUCCESS, Code.PLEASE_WAIT})


@dataclass(frozen=True, slots=True)
class ProblemType:
    """One problem type: what it means and what to do about it."""

    slug: str
    statuses: tuple[int, ...]
    title: str
    about: str
    advice: str
    lac_codes: tuple[int, ...] = ()

    @property
    def uri(self) -> str:
        """The type URI problems of this type carry."""
        return PROBLEM_PATH + self.slug


def _own(raw: dict[str, Any]) -> ProblemType:
    return ProblemType(
        slug=str(raw["slug"]),
        statuses=tuple(int(s) for s in raw["statuses"]),
        title=str(raw["title"]),
        about=str(raw["about"]),
        advice=str(raw["advice"]),
        lac_codes=tuple(int(c) for c in raw.get("lac_codes", ())),
    )


def _from_code(row: LacCode) -> ProblemType:
    # LAC's network failures are 504 when the gateway's own deadline ran out (errors.lac_problem).
    statuses = (
        (row.http, 504)
        if row.code in (Code.SOAP_NO_NETWORK_HOST, Code.SOAP_COMM_ERROR)
        else (row.http,)
    )
    return ProblemType(
        slug=row.slug,
        statuses=statuses,
        title=row.title,
        about=f"LAC answered {row.name} (code {row.code}): {row.meaning}.",
        advice=row.advice[:1].upper() + row.advice[1:] + ".",
        lac_codes=(row.code,),
    )


@cache
def problem_types() -> dict[str, ProblemType]:
    """Every problem type the gateway answers with, by slug."""
    raw = json.loads(PROBLEM_TYPES_FILE.read_text(encoding="utf-8"))["types"]
    table = {kind.slug: kind for kind in map(_own, raw)}
    for row in code_table().values():
        if row.code not in _NOT_PROBLEMS:
            table[row.slug] = _from_code(row)
    return table


def problem_type(slug: str) -> ProblemType | None:
    """The type named ``slug``, if the table has it."""
    return problem_types().get(slug)
