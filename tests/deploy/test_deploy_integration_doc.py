"""docs/integration.md: linked from the README, and its code quoted verbatim from the examples."""

from __future__ import annotations

import re

from tests.deploy.deploy_support import ROOT

DOC = ROOT / "docs" / "integration.md"
SOURCES = {"python": "activate.py", "c": "activate.c"}
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def test_every_code_excerpt_is_quoted_verbatim_from_a_tested_example() -> None:
    text = DOC.read_text(encoding="utf-8")
    quoted = {language: 0 for language in SOURCES}
    for language, code in BLOCK.findall(text):
        if language not in SOURCES:
            continue
        source = (ROOT / "docs" / "examples" / SOURCES[language]).read_text(encoding="utf-8")
        assert code in source, f"{language} excerpt not in {SOURCES[language]}:\n{code}"
        quoted[language] += 1
    assert all(count >= 2 for count in quoted.values()), quoted


def test_the_loop_names_every_step() -> None:
    text = DOC.read_text(encoding="utf-8")
    for step in (
        "POST /v1/activations",
        "Idempotency-Key",
        "202",
        "Location",
        "Retry-After",
        "long-poll",
        "LAC-Gateway-Signature",
        "next_check_after",
        "24 hours",
    ):
        assert step in text, step


def test_the_readme_links_the_integration_guide() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "(docs/integration.md)" in readme
