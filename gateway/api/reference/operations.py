"""The reference of the admin routes and of the operations routes (probes, metrics, documents)."""

from __future__ import annotations

from gateway.api.reference.base import SINGLE_KEY, Exchange, Reference, problem

_ADMIN = "Needs an admin API key; products never call it."

ADMIN_REFERENCE: dict[str, Reference] = {
    "listJobs": Reference(
        "The pending license generations the gateway is polling LAC for, soonest due first. "
        "Operators call it to see what is in flight (a job stuck near its deadline says LAC is "
        "slow to generate). " + _ADMIN,
        examples=(
            Exchange(
                "jobs",
                "One generation in flight",
                200,
                query={"limit": "10"},
                admin=True,
                answer={
                    "total": 1,
                    "jobs": [
                        {
                            "id": "act_kgyyxlygctrvp6ss7ctwohyfiu",
                            "state": "pending",
                            "attempts": 0,
                            "created_at": "2026-12-01T16:08:12.929374Z",
                            "next_poll_at": "2026-12-01T16:08:12.983165Z",
                            "deadline_at": "2026-12-01T16:23:12.929374Z",
                        }
                    ],
                },
            ),
        ),
    ),
    "purgeCachePost": Reference(
        "Drops one host's cached license, so the next fetch or activation asks LAC again (for "
        "example after the vendor changed the order). It deactivates nothing. " + _ADMIN,
        examples=(
            Exchange(
                "purged",
                "A cached license dropped",
                200,
                path={"activation_key": SINGLE_KEY},
                query={"hostid": "HOSTNAME=my-laptop"},
                admin=True,
                answer={"purged": True},
            ),
        ),
    ),
    "purgeCacheDelete": Reference(
        "Drops one host's cached license, as `POST` does (`DELETE` for clients that prefer "
        "it). It deactivates nothing. " + _ADMIN,
        examples=(
            Exchange(
                "nothing-cached",
                "Nothing was cached (any more)",
                200,
                path={"activation_key": SINGLE_KEY},
                query={"hostid": "HOSTNAME=my-laptop"},
                admin=True,
                answer={"purged": False},
            ),
        ),
    ),
    "auditLog": Reference(
        "The audit trail, newest first: each activation sent to LAC, each deactivation and "
        "removal confirmation, and each refusal, with the caller, the masked key, a digest of "
        "the HostIDs and the outcome. Page back with the last event's `id` as `before`. " + _ADMIN,
        examples=(
            Exchange(
                "page",
                "The two newest events",
                200,
                query={"limit": "2"},
                admin=True,
                answer={
                    "events": [
                        {
                            "id": "1796145844472-0",
                            "at": "2026-12-01T17:24:04.471848+00:00",
                            "action": "removal",
                            "caller": "fleet",
                            "client": "127.0.0.1",
                            "key": "SNGLE-*****-*****-00001",
                            "host": "703082c363288112",
                            "outcome": "failed",
                            "lac_code": 204,
                        },
                        {
                            "id": "1796145844464-0",
                            "at": "2026-12-01T17:24:04.464105+00:00",
                            "action": "removal",
                            "caller": "fleet",
                            "client": "127.0.0.1",
                            "key": "RMVAL-*****-*****-00010",
                            "host": "ead643fb2c73bf70",
                            "outcome": "confirmed",
                            "lac_code": 0,
                        },
                    ]
                },
            ),
        ),
    ),
    "listWebhookDeliveries": Reference(
        "The webhook deliveries of one status (`pending` by default, `failed` once "
        "dead-lettered, or `delivered`), newest first, for every configured endpoint or the "
        "one `endpoint` names. Operators call it to see what a receiver missed; page on with "
        "`next_cursor` as `cursor` while it is not `null`. " + _ADMIN,
        examples=(
            Exchange(
                "failed",
                "No dead-lettered delivery (no webhook endpoint is configured)",
                200,
                query={"status": "failed", "limit": "10"},
                admin=True,
                answer={"deliveries": [], "next_cursor": None},
            ),
        ),
    ),
    "retryWebhookDelivery": Reference(
        "Sends a pending or failed (dead-lettered) delivery again now, with its `webhook_id` "
        "unchanged (receivers deduplicate on it) and a fresh retry schedule. Call it once the "
        "receiver is fixed; follow the delivery in `GET /v1/admin/webhooks/deliveries`. " + _ADMIN,
        replies={
            202: "The delivery is pending again and due now; the worker sends it shortly.",
            404: "No delivery has this id (or its endpoint is no longer configured).",
            409: "The delivery was delivered: the receiver has it, nothing to retry.",
        },
        examples=(
            Exchange(
                "unknown",
                "A delivery id the gateway does not know",
                404,
                path={"id": "billing.1796145844464-0"},
                admin=True,
                answer=problem(
                    404,
                    "not-found",
                    "Not found",
                    "no webhook delivery with this id",
                    instance="/v1/admin/webhooks/deliveries/billing.1796145844464-0/retry",
                ),
            ),
        ),
    ),
    "lacCounters": Reference(
        "The vendor account's activation balance at LAC (`GetActivationCounters`, with the "
        "vendor login token the gateway caches): subscriptions and one-time activations left. "
        "Operators watch it to top up before activations start failing. " + _ADMIN,
        examples=(
            Exchange(
                "counters",
                "The sandbox's vendor account",
                200,
                admin=True,
                answer={
                    "activation_subscriptions": [
                        {
                            "start_date": "2026-01-01",
                            "expiration_date": "2027-01-01",
                            "next_reset_date": "2026-12-01",
                            "activations_left_count": 996,
                            "default_count": 1000,
                        }
                    ],
                    "one_time_activations_left_count": 500,
                    "one_time_activations_expiration_date": "2027-12-31",
                },
            ),
        ),
    ),
}

OPERATIONS_REFERENCE: dict[str, Reference] = {
    "signingKey": Reference(
        "The Ed25519 public key, as a JWK Set (RFC 8037), that signs every answer carrying a "
        "license. A product fetches it once (or ships it), then checks `LAC-Gateway-Signature` "
        "on each license answer: `t=<unix time>, kid=<key id>, sig=<base64url>`, the signature "
        "over the bytes `<t>.` followed by the body. No API key needed.",
        examples=(
            Exchange(
                "jwks",
                "One key",
                200,
                answer={
                    "keys": [
                        {
                            "kty": "OKP",
                            "crv": "Ed25519",
                            "x": "6-PcJWt5unoSuyO6RbKV7-rviLVft7uY0r34BjdAg4c",
                            "kid": "323cd75a24c550bf",
                            "alg": "EdDSA",
                            "use": "sig",
                        }
                    ]
                },
            ),
        ),
    ),
    "problemType": Reference(
        "What a problem type means: every problem's `type` is `/problems/<slug>`, and this page "
        "gives its status, the LAC codes behind it and what to do about it. HTML for a browser "
        "(`Accept: text/html`), plain text otherwise. No API key needed.",
        replies={404: "No problem type has this slug."},
        examples=(
            Exchange(
                "page",
                "The page of an unknown activation key",
                200,
                path={"slug": "unknown-activation-key"},
                headers={"Accept": "text/plain"},
            ),
            Exchange(
                "unknown",
                "A slug that names no problem type",
                404,
                path={"slug": "no-such-problem"},
                answer=problem(
                    404,
                    "not-found",
                    "Not found",
                    "no problem type has this name; /openapi.json lists the routes",
                    instance="/problems/no-such-problem",
                ),
            ),
        ),
    ),
    "healthz": Reference(
        "Liveness: the process answers. For the orchestrator's liveness probe; it checks "
        "nothing else, so a Redis or LAC outage does not restart the gateway.",
        examples=(Exchange("alive", "Alive", 200, answer={"status": "ok"}),),
    ),
    "readyz": Reference(
        "Readiness: Redis is reachable and takes writes, and the gateway is not draining. For "
        "the load balancer's readiness probe; a 503 problem names the reason. `status: "
        "degraded` is still ready (200): the gateway works around part of LAC's API "
        "(`checks.lac_api.reasons` says what); `checks.lac.breaker: open` means calls to LAC "
        "fail fast for now.",
        replies={503: "Not ready: take the replica out of rotation until it answers 200."},
        examples=(
            Exchange(
                "ready",
                "Ready",
                200,
                answer={
                    "status": "ready",
                    "checks": {
                        "redis": "ok",
                        "transport": "soap",
                        "jobs": 0,
                        "lac": {"status": "ok", "breaker": "closed"},
                        "lac_api": {"status": "ok", "wsdl": "live", "polling": "soap GetLicense"},
                    },
                },
            ),
        ),
    ),
    "metrics": Reference(
        "Prometheus metrics in the text exposition format, for the scraper (README, "
        '"Metrics", lists them).',
        examples=(Exchange("scrape", "A scrape", 200),),
    ),
    "openapi": Reference(
        "This OpenAPI 3.1 document, generated from the route table and the models that "
        "validate requests. Feed it to a client generator (openapi-python-client, "
        "openapi-typescript).",
        examples=(Exchange("document", "The document", 200),),
    ),
    "docs": Reference(
        "This API reference, rendered by Swagger UI from `/openapi.json`, served by the gateway "
        "itself with no external resources. `?docExpansion=full` opens every operation.",
        examples=(Exchange("page", "The page", 200),),
    ),
    "docsStatic": Reference(
        "One of the few files the `/docs` page loads: Swagger UI's script and style from the "
        "swagger-ui-bundle package, and the page's start-up script. Any other name is 404.",
        examples=(Exchange("script", "Swagger UI", 200, path={"name": "swagger-ui-bundle.js"}),),
    ),
}
