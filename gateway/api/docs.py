"""The /docs page: a self-contained renderer of /openapi.json with a try-it form, no CDN.

The page, its style and its script are package data in ``gateway/api/static``; the style and
the script are inlined so that the page needs nothing but /openapi.json.
"""

from __future__ import annotations

import base64
import hashlib
from importlib import resources
from string import Template

_STATIC = resources.files("gateway.api") / "static"


def _static(name: str) -> str:
    return (_STATIC / name).read_text(encoding="utf-8")


_STYLE = _static("docs.css")
_SCRIPT = _static("docs.js")
DOCS_HTML = Template(_static("docs.html")).substitute(style=_STYLE, script=_SCRIPT)


def _csp_hash(source: str) -> str:
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


# Only this page's own inline script and style may run, and it may talk only to the gateway.
DOCS_CSP = (
    "default-src 'none'; "
    f"script-src {_csp_hash(_SCRIPT)}; "
    f"style-src {_csp_hash(_STYLE)}; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
