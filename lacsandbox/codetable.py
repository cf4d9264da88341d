"""LAC return codes for the sandbox, named and worded by the shared table in ``gateway/data``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import IntEnum
from functools import cache
from pathlib import Path
from typing import Any

CODES_FILE = Path(__file__).resolve().parent.parent / "gateway" / "data" / "lac_codes.json"


class Code(IntEnum):
    """The LAC codes the sandbox answers with; checked against the table at first use."""

    LAC_SUCCESS = 0
    LAC_PLEASE_WAIT = 1
    LAC_INVALID_LOGIN_OR_PASSWORD = 10
    LAC_WRONG_HOSTID_FORMAT = 20
    LAC_GENERATE_AUTHENTICATION_TOKEN_ERROR = 30
    LAC_SERVICE_REQUIRES_SECURE_CONNECTION = 40
    LAC_SERVICE_DOESNT_EXIST = 41
    LAC_WRONG_TOKEN = 50
    LAC_INVALID_ORDER_CONFIGURATION = 60
    LAC_HOSTIDTYPE_NOT_SUPPORTED = 100
    LAC_ACTIVATION_KEY_INVALID = 101
    LAC_RECORD_DOESNT_EXIST = 105
    LAC_HOSTID_VALUE_INVALID = 106
    LAC_HOSTID_MISSING = 107
    LAC_INVALID_DATA = 108
    LAC_CANNOT_DEACTIVATE_LICENSE = 111
    LAC_BULK_LICENSE_COUNT_EXCEEDED = 200
    LAC_LICENSE_ACTIVATION_COUNT_EXCEEDED = 201
    LAC_LICENSE_ORDER_DISABLED = 202
    LAC_LICENSE_ALREADY_ACTIVATED = 203
    LAC_LICENSE_REMOVAL_NOT_REQUESTED = 204
    LAC_LICENSE_WAS_NOT_ACTIVATED = 205
    LAC_LICENSE_GENERATION_WAS_NOT_REQUESTED = 300
    LAC_LICENSE_GENERATOR_FAILED = 400
    LAC_LICENSE_GENERATOR_NOT_UPLOADED = 401


@dataclass(frozen=True, slots=True)
class CodeInfo:
    """One row of the shared table, as far as the sandbox needs it.

    ``rest_status`` / ``rest_code`` are what end-user REST v2 answers for the condition: the
    row's first ``rest_codes`` entry, or, for a row with ``rest_as``, that row's answer.
    """

    code: int
    name: str
    meaning: str
    rest_status: int | None
    rest_code: int | None


class CodeTableError(RuntimeError):
    """The shared code table and the sandbox disagree."""


def _info(row: dict[str, Any], rows: dict[int, dict[str, Any]]) -> CodeInfo:
    answer = rows[int(row["rest_as"])] if "rest_as" in row else row
    rest_codes = answer.get("rest_codes") or [None]
    return CodeInfo(
        code=int(row["code"]),
        name=str(row["name"]),
        meaning=str(row["meaning"]),
        rest_status=answer.get("rest_status"),
        rest_code=rest_codes[0],
    )


@cache
def code_table() -> dict[int, CodeInfo]:
    """Every LAC code of the shared table, by number."""
    rows = {int(row["code"]): row for row in json.loads(CODES_FILE.read_text("utf-8"))["codes"]}
    table = {code: _info(row, rows) for code, row in rows.items()}
    for member in Code:
        row = table.get(member.value)
        if row is None or row.name != member.name:
            raise CodeTableError(f"code {member.value} is {member.name} here but not in the table")
    return table


def info(code: int) -> CodeInfo:
    """The table row of ``code``; codes outside the table get a generic row."""
    row = code_table().get(code)
    if row is None:
        return CodeInfo(code, f"LAC_CODE_{code}", "unknown error", None, None)
    return row


def message(code: int) -> str:
    """The text LAC puts in ``result_string`` for ``code`` (empty for success)."""
    return "" if code == Code.LAC_SUCCESS else info(code).meaning
