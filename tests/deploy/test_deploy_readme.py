"""README "Running in production": the checklist an operator walks, for compose and Kubernetes."""

from __future__ import annotations

import re

from tests.deploy.deploy_support import DEPLOY, ROOT

TOPICS = (
    "API keys",
    "Signing key",
    "LAC credentials",
    "Redis persistence",
    "TLS",
    "Trusted proxies",
    "Monitoring",
    "Tracing",
)


def _checklist() -> dict[str, str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Running in production\n", 1)[1].split("\n## ", 1)[0]
    checklist = section.split("\n### Checklist\n", 1)[1].split("\n### ", 1)[0]
    items = re.findall(r"^- \[ \] \*\*(.+?)\.\*\*(.*?)(?=^- \[ \]|\Z)", checklist, re.M | re.S)
    return {title: text for title, text in items}


def test_the_checklist_walks_every_topic_in_order() -> None:
    assert tuple(_checklist()) == TOPICS


def test_every_step_but_tracing_says_how_with_compose_and_with_kubernetes() -> None:
    for title, text in _checklist().items():
        if title != "Tracing":
            assert "ompose" in text, title
            assert "Kubernetes" in text, title


def test_every_variable_the_checklist_names_exists() -> None:
    known = set(re.findall(r"LACGW_\w+", (ROOT / "config" / "REFERENCE.md").read_text("utf-8")))
    known |= set(re.findall(r"^(\w+)=", (DEPLOY / ".env.example").read_text("utf-8"), re.M))
    named = set(re.findall(r"LACGW_\w+", "".join(_checklist().values())))
    assert named, "the checklist names the settings to set"
    assert named <= known, named - known
