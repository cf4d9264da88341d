"""``GET /problems/{slug}``: the page a problem's ``type`` URI leads to, from the one type table."""

from __future__ import annotations

import html

from aiohttp import web

from gateway import errors
from gateway.codes import lookup
from gateway.problems import ProblemType, problem_type

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
PAGE_CSP = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"


def _quality(part: str) -> tuple[str, float]:
    media, *params = (piece.strip() for piece in part.split(";"))
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                return media.lower(), float(value)
            except ValueError:
                return media.lower(), 0.0
    return media.lower(), 1.0


def wants_html(accept: str) -> bool:
    """Whether ``Accept`` names HTML explicitly and prefers it to plain text (a browser does)."""
    weights = dict(_quality(part) for part in accept.split(",") if part.strip())
    html_q = max((q for media, q in weights.items() if media in HTML_TYPES), default=0.0)
    return html_q > 0 and html_q >= weights.get("text/plain", 0.0)


def _codes(kind: ProblemType) -> list[str]:
    return [f"{code} {lookup(code).name}" for code in kind.lac_codes]


def _statuses(kind: ProblemType) -> str:
    return ", ".join(str(status) for status in kind.statuses)


def as_text(kind: ProblemType) -> str:
    """The plain-text description of ``kind``."""
    lines = [
        f"{kind.title}",
        f"Type: {kind.uri}",
        f"HTTP status: {_statuses(kind)}",
        f"LAC codes: {', '.join(_codes(kind)) or 'none (the gateway answers this itself)'}",
        "",
        f"When: {kind.about}",
        "",
        f"What to do: {kind.advice}",
    ]
    return "\n".join(lines) + "\n"


def as_html(kind: ProblemType) -> str:
    """The HTML description of ``kind``; every value escaped."""
    esc = html.escape
    codes = "".join(f"<li><code>{esc(code)}</code></li>" for code in _codes(kind))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{esc(kind.title)} — lac-gateway problem</title></head><body>"
        f"<h1>{esc(kind.title)}</h1>"
        f"<p>Type <code>{esc(kind.uri)}</code>, HTTP status {esc(_statuses(kind))}.</p>"
        f"<h2>When</h2><p>{esc(kind.about)}</p>"
        f"<h2>What to do</h2><p>{esc(kind.advice)}</p>"
        "<h2>LAC codes</h2>"
        + (f"<ul>{codes}</ul>" if codes else "<p>None: the gateway answers this itself.</p>")
        + "</body></html>\n"
    )


async def problem_page(request: web.Request) -> web.StreamResponse:
    """GET /problems/{slug}: HTML for a browser, plain text otherwise; 404 for an unknown slug."""
    kind = problem_type(request.match_info["slug"])
    if kind is None:
        raise errors.NotFound("no problem type has this name; /openapi.json lists the routes")
    headers = {"Vary": "Accept", "X-Content-Type-Options": "nosniff"}
    if wants_html(request.headers.get("Accept", "")):
        headers["Content-Security-Policy"] = PAGE_CSP
        return web.Response(text=as_html(kind), content_type="text/html", headers=headers)
    return web.Response(text=as_text(kind), content_type="text/plain", headers=headers)
