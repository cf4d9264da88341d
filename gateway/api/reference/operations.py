"""The reference of the admin routes and of the operations routes (probes, metrics, documents)."""

from __future__ import annotations

from gateway.api.reference.base import SINGLE_KEY, Exchange, Reference

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
                            "id": "1796141292978-0",
                            "at": "2026-12-01T16:08:12.978657+00:00",
                            "action": "activation",
                            "caller": "fleet",
                            "key": "SNGLE-*****-*****-00001",
                            "host": "61a741a5bc384af3",
                            "outcome": "failed",
                            "lac_code": 201,
                        }
                    ]
                },
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
                            "activations_left_count": 997,
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
    "healthz": Reference(
        "Liveness: the process answers. For the orchestrator's liveness probe; it checks "
        "nothing else, so a Redis or LAC outage does not restart the gateway.",
        examples=(Exchange("alive", "Alive", 200, answer={"status": "ok"}),),
    ),
    "readyz": Reference(
        "Readiness: Redis is reachable and takes writes, and the gateway is not draining. For "
        "the load balancer's readiness probe; a 503 problem names the reason.",
        replies={503: "Not ready: take the replica out of rotation until it answers 200."},
        examples=(
            Exchange(
                "ready",
                "Ready",
                200,
                answer={
                    "status": "ready",
                    "checks": {"redis": "ok", "transport": "soap", "jobs": 0},
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
