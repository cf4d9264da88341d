"""Product-side activation loop against lac-gateway: activate, wait, verify, store, re-check.

Standard library plus ``cryptography`` (for the Ed25519 signature). Usage:

    python activate.py --gateway http://127.0.0.1:8080 --api-key KEY \
        --activation-key SNGLE-HOST1-DEMO0-00001 --hostid HOSTNAME=my-laptop --out license.lic

It prints when the product should check its license again; ``--watch`` keeps doing so.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

SIGNATURE_HEADER = "LAC-Gateway-Signature"
LONG_POLL_SECONDS = 30  # GET /v1/activations/{id}?wait=N holds at most this long per call
RECHECK_DEFAULT = timedelta(hours=24)  # when the answer names no next_check_after
RETRYABLE = {429, 502, 503, 504}  # wait Retry-After, then send the same request again
MAX_ATTEMPTS = 20


class Answer:
    """One HTTP answer: status, headers, body bytes."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)

    def retry_after(self, default: float = 1.0) -> float:
        """Retry-After in seconds (the gateway sends delta-seconds)."""
        try:
            return max(0.0, float(self.headers.get("retry-after", default)))
        except ValueError:
            return default


def call(method: str, url: str, api_key: str, body: Any = None, **headers: str) -> Answer:
    """One request; HTTP errors are answers too (problem+json bodies)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 (main checks)
    request.add_header("Authorization", f"Bearer {api_key}")
    request.add_header("Accept", "application/json")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    for name, value in headers.items():
        request.add_header(name.replace("_", "-"), value)
    try:
        with urllib.request.urlopen(request, timeout=LONG_POLL_SECONDS + 30) as reply:  # noqa: S310
            return Answer(reply.status, _lower(reply.headers), reply.read())
    except urllib.error.HTTPError as err:
        return Answer(err.code, _lower(err.headers), err.read())


def _lower(headers: Any) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def signing_keys(gateway: str) -> dict[str, Ed25519PublicKey]:
    """The gateway's public keys by kid (a product may ship them instead of fetching)."""
    url = f"{gateway}/.well-known/lac-gateway-signing-key"
    with urllib.request.urlopen(url, timeout=30) as reply:  # noqa: S310 (http(s) only: main)
        jwks = json.load(reply)
    return {k["kid"]: Ed25519PublicKey.from_public_bytes(_b64url(k["x"])) for k in jwks["keys"]}


def verify(answer: Answer, keys: dict[str, Ed25519PublicKey]) -> None:
    """Check LAC-Gateway-Signature (t=, kid=, sig= over b"<t>." + body); raise if it fails."""
    header = answer.headers.get(SIGNATURE_HEADER.lower())
    if header is None:
        raise InvalidSignature("the answer is not signed")
    fields = dict(part.strip().split("=", 1) for part in header.split(","))
    key = keys.get(fields["kid"])
    if key is None:
        raise InvalidSignature(f"unknown signing key {fields['kid']}")
    key.verify(_b64url(fields["sig"]), fields["t"].encode() + b"." + answer.body)


def activate(args: argparse.Namespace, keys: dict[str, Ed25519PublicKey]) -> Answer:
    """POST the activation, then follow 202 / Location with long-polls until it is settled."""
    body = {"activation_key": args.activation_key, "hostids": args.hostid}
    # One key for every retry of this activation: a retried POST replays the first answer.
    headers = {"Prefer": f"wait={args.wait}", "Idempotency_Key": str(uuid.uuid4())}
    answer = call("POST", f"{args.gateway}/v1/activations", args.api_key, body, **headers)
    location = None
    for _ in range(MAX_ATTEMPTS):
        if answer.status == 202:
            location = answer.headers["location"]  # the activation, to long-poll
            print(f"pending: long-polling {location} after {answer.retry_after():g} s")
        if answer.status not in RETRYABLE and not _pending(answer):
            return answer
        time.sleep(answer.retry_after())
        if location is None:
            answer = call("POST", f"{args.gateway}/v1/activations", args.api_key, body, **headers)
        else:
            url = f"{args.gateway}{location}?wait={LONG_POLL_SECONDS}"
            answer = call("GET", url, args.api_key)
    return answer


def _pending(answer: Answer) -> bool:
    return answer.status in (200, 202) and answer.json().get("state") == "pending"


def store(path: Path, content: str) -> None:
    """Write the license file atomically: a crash never leaves half a license."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(content, encoding="utf-8")
    os.replace(partial, path)


def next_check(result: dict[str, Any]) -> datetime:
    """When to check the license again: the gateway's next_check_after, else a day."""
    named = result.get("next_check_after")
    if isinstance(named, str):
        return datetime.fromisoformat(named.replace("Z", "+00:00"))
    return datetime.now(UTC) + RECHECK_DEFAULT


def run_once(args: argparse.Namespace) -> datetime:
    """Activate (or re-check), verify and store the license; when to check again."""
    keys = signing_keys(args.gateway)
    answer = activate(args, keys)
    if answer.status != 200:
        problem = answer.json()
        raise SystemExit(
            f"activation failed: {answer.status} {problem.get('title')}: "
            f"{problem.get('detail')} ({problem.get('lac_name') or 'no LAC code'})"
        )
    verify(answer, keys)
    result = answer.json()
    store(args.out, result["license"]["content"])
    print(f"license stored in {args.out} (signature verified, source {result.get('source')})")
    return next_check(result)


def main() -> None:
    """Parse the arguments and run the loop once, or forever with --watch."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gateway", required=True, help="base URL, e.g. http://127.0.0.1:8080")
    parser.add_argument("--api-key", default=os.environ.get("LACGW_API_KEY"))
    parser.add_argument("--activation-key", required=True)
    parser.add_argument("--hostid", action="append", required=True, help="TYPE=value, repeatable")
    parser.add_argument("--out", type=Path, required=True, help="where to store the license")
    parser.add_argument("--wait", type=int, default=10, help="seconds the POST may wait")
    parser.add_argument("--watch", action="store_true", help="keep re-checking")
    args = parser.parse_args()
    args.gateway = args.gateway.rstrip("/")
    if not args.gateway.startswith(("http://", "https://")):
        parser.error("--gateway must be an http:// or https:// URL")
    if not args.api_key:
        parser.error("--api-key (or LACGW_API_KEY) is required")
    while True:
        when = run_once(args)
        print(f"next check after {when.isoformat()}")
        if not args.watch:
            return
        time.sleep(max(60.0, (when - datetime.now(UTC)).total_seconds()))


if __name__ == "__main__":
    try:
        main()
    except InvalidSignature as exc:
        sys.exit(f"the license answer's signature does not verify: {exc or 'bad signature'}")
