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


def _anchors(readme: str) -> set[str]:
    # GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens.
    headings = re.findall(r"^#+ (.+)$", readme, re.M)
    return {re.sub(r"[^\w\- ]", "", h).strip().lower().replace(" ", "-") for h in headings}


def test_the_tracing_step_links_the_tracing_section_and_says_how_to_turn_it_on() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    text = _checklist()["Tracing"]
    links = set(re.findall(r"\]\(#([\w-]+)\)", text))
    assert "tracing" in links, "the step points at the Tracing section"
    assert links <= _anchors(readme), links - _anchors(readme)
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" in text
    assert "deploy/.env" in text
    assert "components/tracing" in text
