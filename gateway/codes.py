"""The LAC return-code table, loaded once from ``data/lac_codes.json``.

The same JSON file is read by the sandbox and the tests, so the code -> name -> class -> HTTP
status mapping exists in exactly one place.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

CODES_FILE = Path(__file__).parent / "data" / "lac_codes.json"


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
    rest_code: int | None = None

    @property
    def retryable(self) -> bool:
        return self.klass is CodeClass.RETRY


def _row(raw: dict[str, Any]) -> LacCode:
    return LacCode(
        code=int(raw["code"]),
        name=str(raw["name"]),
        klass=CodeClass(raw["class"]),
        http=int(raw["http"]),
        meaning=str(raw["meaning"]),
        rest_status=raw.get("rest_status"),
        rest_code=raw.get("rest_code"),
    )


@cache
def code_table() -> dict[int, LacCode]:
    """Every known LAC code, by number."""
    rows = json.loads(CODES_FILE.read_text(encoding="utf-8"))["codes"]
    return {row.code: row for row in map(_row, rows)}


def lookup(code: int) -> LacCode:
    """The row for ``code``; an unknown code is treated as permanent (lac-api.md section 7)."""
    known = code_table().get(code)
    if known is not None:
        return known
    return LacCode(code, f"LAC_CODE_{code}", CodeClass.CLIENT, 502, "code unknown to the gateway")
