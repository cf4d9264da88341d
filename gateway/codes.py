"""The LAC return-code table, loaded once from ``data/lac_codes.json``.

The same JSON file is read by the sandbox and the tests, so the code -> name -> class -> HTTP
status mapping exists in exactly one place.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from functools import cache
from pathlib import Path
from typing import Any

CODES_FILE = Path(__file__).parent / "data" / "lac_codes.json"
UNKNOWN_CODE_SLUG = "lac-unknown-code"
UNKNOWN_CODE_ADVICE = (
    "LAC answered with a code this gateway does not know: do not retry; the operator should "
    "look the code up in LAC's documentation and report it with the request_id"
)


class Code(IntEnum):
    """Every LAC return code by its name (``LAC_`` dropped); a test holds it to the JSON table.

    Code that reacts to one particular code names it here, never by its number.
    """

    SUCCESS = 0
    PLEASE_WAIT = 1
    INVALID_LOGIN_OR_PASSWORD = 10
    WRONG_HOSTID_FORMAT = 20
    GENERATE_AUTHENTICATION_TOKEN_ERROR = 30
    SERVICE_REQUIRES_SECURE_CONNECTION = 40
    SERVICE_DOESNT_EXIST = 41
    WRONG_TOKEN = 50
    INVALID_ORDER_CONFIGURATION = 60
    HOSTIDTYPE_NOT_SUPPORTED = 100
    ACTIVATION_KEY_INVALID = 101
    CANNOT_ADD_NEW_RECORD = 102
    CANNOT_DELETE_RECORD = 103
    CANNOT_GET_RECORDS_LIST = 104
    RECORD_DOESNT_EXIST = 105
    HOSTID_VALUE_INVALID = 106
    HOSTID_MISSING = 107
    INVALID_DATA = 108
    MODEL_DOESNT_EXIST = 109
    CANNOT_EDIT_RECORD = 110
    CANNOT_DEACTIVATE_LICENSE = 111
    BULK_LICENSE_COUNT_EXCEEDED = 200
    LICENSE_ACTIVATION_COUNT_EXCEEDED = 201
    LICENSE_ORDER_DISABLED = 202
    LICENSE_ALREADY_ACTIVATED = 203
    LICENSE_REMOVAL_NOT_REQUESTED = 204
    LICENSE_WAS_NOT_ACTIVATED = 205
    LICENSE_GENERATION_WAS_NOT_REQUESTED = 300
    LICENSE_GENERATOR_FAILED = 400
    LICENSE_GENERATOR_NOT_UPLOADED = 401
    SOAP_NO_NETWORK_HOST = 900
    SOAP_COMM_ERROR = 901
    UNKNOWN_ERROR = 1000


class CodeClass(StrEnum):
    """How the gateway reacts to a LAC code (lac-api.md section 7)."""

    OK = "ok"
    WAIT = "wait"
    RETRY = "retry"
    RELOGIN = "relogin"
    CLIENT = "client"
    CONFIG = "config"


@dataclass(frozen=True, slots=True)
class LacCode:
    """One row of the LAC return-code table."""

    code: int
    name: str
    klass: CodeClass
    http: int
    meaning: str
    rest_status: int | None = None
    rest_codes: tuple[int, ...] = ()
    rest_as: int | None = None
    advice: str = ""
    """What the product and the operator should do: the problem's ``detail``."""
    title_override: str | None = None
    problem: str | None = None
    """The problem type slug, when it is not derived from the name."""
    field: str | None = None
    """The request field the code is about (an unknown activation key: ``activation_key``)."""

    @property
    def retryable(self) -> bool:
        return self.klass is CodeClass.RETRY

    @property
    def title(self) -> str:
        """The problem's title: the table's, else the meaning capitalised."""
        return self.title_override or self.meaning[:1].upper() + self.meaning[1:]

    @property
    def slug(self) -> str:
        """The problem type slug this code is answered with."""
        return self.problem or self.name.lower().replace("_", "-")


def _row(raw: dict[str, Any]) -> LacCode:
    return LacCode(
        code=int(raw["code"]),
        name=str(raw["name"]),
        klass=CodeClass(raw["class"]),
        http=int(raw["http"]),
        meaning=str(raw["meaning"]),
        rest_status=raw.get("rest_status"),
        rest_codes=tuple(int(c) for c in raw.get("rest_codes", ())),
        rest_as=raw.get("rest_as"),
        advice=str(raw["advice"]),
        title_override=raw.get("title"),
        problem=raw.get("problem"),
        field=raw.get("field"),
    )


@cache
def code_table() -> dict[int, LacCode]:
    """Every known LAC code, by number."""
    rows = json.loads(CODES_FILE.read_text(encoding="utf-8"))["codes"]
    return {row.code: row for row in map(_row, rows)}


def rest_answer(code: int) -> tuple[int | None, int | None]:
    """(HTTP status, REST v2 code) LAC's end-user REST answers for ``code``; None where it has none.

    A row with ``rest_as`` is a condition REST does not tell apart: it answers as that row does.
    """
    row = lookup(code)
    if row.rest_as is not None:
        row = lookup(row.rest_as)
    return row.rest_status, (row.rest_codes[0] if row.rest_codes else None)


def lookup(code: int) -> LacCode:
    """The row for ``code``; an unknown code is treated as permanent (lac-api.md section 7)."""
    known = code_table().get(code)
    if known is not None:
        return known
    return LacCode(
        code,
        f"LAC_CODE_{code}",
        CodeClass.CLIENT,
        502,
        "code unknown to the gateway",
        advice=UNKNOWN_CODE_ADVICE,
        problem=UNKNOWN_CODE_SLUG,
    )
