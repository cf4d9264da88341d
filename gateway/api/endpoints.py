"""The one route table: every endpoint with its handler, scope, parameters and answers.

``setup_routes`` registers it on the application; the OpenAPI document and ``/docs`` are built
from the same table.
"""

from __future__ import annotations

from aiohttp import web

from gateway.api import docs, openapi
from gateway.api.body import defer_continue
from gateway.api.keys import ENDPOINTS
from gateway.api.problempages import problem_page
from gateway.api.routes import (
    DEFAULT_JOB_LIMIT,
    MAX_JOB_LIMIT,
    NEXT_CHECK_HEADER,
    OCTETS,
    TEXT,
    audit_log,
    batch_activations,
    confirm_removal,
    create_activation,
    delete_license,
    get_activation,
    get_license,
    get_order,
    get_removal,
    healthz,
    lac_counters,
    list_jobs,
    metrics,
    purge_cache,
    readyz,
)
from gateway.api.schemas import (
    AuditLog,
    Health,
    JwkSet,
    OpenApiDocument,
    PurgeResult,
    Readiness,
    WebhookDeliveries,
    WebhookDelivery,
)
from gateway.api.signing import SIGNATURE_HEADER, WELL_KNOWN_PATH, signing_key_handler
from gateway.api.spec import Endpoint, Handler, Param, Reply
from gateway.api.webhook_routes import (
    DEFAULT_DELIVERY_LIMIT,
    MAX_DELIVERY_LIMIT,
    list_deliveries,
    retry_delivery,
)
from gateway.models import (
    ActivationCounters,
    ActivationRequest,
    ActivationResponse,
    BatchRequest,
    BatchResponse,
    JobList,
    OrderResponse,
    RemovalConfirmRequest,
    RemovalStatus,
)

HOSTID = Param(
    "hostid",
    "query",
    {"type": "array", "items": {"type": "string"}, "minItems": 1},
    "HostID as a LAC string (TYPE=value[,TYPE=value]); repeat for several",
    required=True,
)
PREFER = Param(
    "Prefer",
    "header",
    {"type": "string", "examples": ["wait=10", "respond-async"]},
    "wait=N: hold the request up to N seconds for the license; respond-async: do not wait",
)
IDEMPOTENCY_KEY = Param(
    "Idempotency-Key",
    "header",
    {"type": "string", "minLength": 1, "maxLength": 255},
    "repeat a POST or DELETE safely: the first answer is stored and replayed for 24 h",
)
IF_NONE_MATCH = Param(
    "If-None-Match",
    "header",
    {"type": "string"},
    "the ETag of the license answer the caller holds: 304 without a body while it is unchanged",
)
WAIT_QUERY = Param(
    "wait",
    "query",
    {"type": "number", "minimum": 0},
    "long-poll: answer as soon as the activation is ready, or after this many seconds",
)
LIMIT_QUERY = Param(
    "limit",
    "query",
    {"type": "integer", "minimum": 1, "maximum": MAX_JOB_LIMIT, "default": DEFAULT_JOB_LIMIT},
    "at most this many jobs",
)
AUDIT_LIMIT_QUERY = Param(
    "limit",
    "query",
    {"type": "integer", "minimum": 1, "maximum": MAX_JOB_LIMIT, "default": DEFAULT_JOB_LIMIT},
    "at most this many events",
)
BEFORE_QUERY = Param(
    "before",
    "query",
    {"type": "string", "pattern": "^[0-9]{1,20}-[0-9]{1,20}$"},
    "only events older than this event id (paging)",
)
WEBHOOK_QUERY = (
    Param(
        "status",
        "query",
        {"type": "string", "enum": ["pending", "failed", "delivered"], "default": "pending"},
        "deliveries in this status (failed: dead-lettered or rejected by the receiver)",
    ),
    Param(
        "endpoint",
        "query",
        {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{0,39}$"},
        "only this configured endpoint's deliveries",
    ),
    Param(
        "limit",
        "query",
        {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_DELIVERY_LIMIT,
            "default": DEFAULT_DELIVERY_LIMIT,
        },
        "at most this many deliveries",
    ),
    Param(
        "cursor",
        "query",
        {"type": "string", "pattern": "^[0-9]{1,22}$"},
        "the next_cursor of the previous page",
    ),
)
NO_CONTENT = (Reply(204, "done", media=""),)
READY = Reply(
    200,
    "the license is ready",
    ActivationResponse,
    headers=("Preference-Applied", "Cache-Status", "Warning", NEXT_CHECK_HEADER, SIGNATURE_HEADER),
)
PENDING = Reply(
    202,
    "the license is being generated: ask the Location again after Retry-After seconds",
    ActivationResponse,
    headers=("Location", "Retry-After", "Preference-Applied"),
)
BATCH = Reply(
    200,
    "one result per item",
    BatchResponse,
    headers=("Preference-Applied", SIGNATURE_HEADER),
)
TEXT_METRICS = Reply(200, "Prometheus text exposition format", media="text/plain")
STATE = Reply(
    200,
    "the activation: ready with its license, or pending (a failed one answers with its problem)",
    ActivationResponse,
    headers=("Retry-After", "Cache-Status", "Warning", NEXT_CHECK_HEADER, SIGNATURE_HEADER),
)


LICENSE = "/v1/licenses/{activation_key}"
LAC_FAILURES = (404, 409, 502, 503, 504)


def endpoints() -> tuple[Endpoint, ...]:
    """Every route the gateway serves, in the order they are registered."""
    return (
        Endpoint(
            "POST",
            "/v1/activations",
            create_activation,
            operation_id="createActivation",
            summary="Activate a license for a host",
            tag="activations",
            scope="activate",
            replies=(READY, PENDING),
            body=ActivationRequest,
            params=(PREFER, IDEMPOTENCY_KEY),
            problems=(*LAC_FAILURES, 429),
        ),
        Endpoint(
            "POST",
            "/v1/activations/batch",
            batch_activations,
            operation_id="batchActivations",
            summary="Several activations at once, one result per item",
            tag="activations",
            scope="activate",
            replies=(BATCH,),
            body=BatchRequest,
            params=(PREFER, IDEMPOTENCY_KEY),
            problems=(429, 503),
        ),
        Endpoint(
            "GET",
            "/v1/activations/{id}",
            get_activation,
            operation_id="getActivation",
            summary="State of one activation, optionally long-polled",
            tag="activations",
            scope="read",
            replies=(STATE,),
            params=(WAIT_QUERY, PREFER),
            problems=LAC_FAILURES,
        ),
        Endpoint(
            "GET",
            LICENSE,
            get_license,
            operation_id="getLicense",
            summary="The issued license of a host",
            tag="licenses",
            scope="read",
            replies=(
                Reply(
                    200,
                    "the license: JSON by default; with Accept: text/plain or "
                    "application/octet-stream, the LM-X license file itself, as an attachment "
                    "named as LAC names it, signed the same way (the signature covers the "
                    "file's bytes as sent)",
                    ActivationResponse,
                    headers=(
                        "Cache-Status",
                        "Warning",
                        NEXT_CHECK_HEADER,
                        SIGNATURE_HEADER,
                        "ETag",
                        "Content-Disposition",
                        "Vary",
                    ),
                    alternatives=(
                        (TEXT, "the LM-X license file (UTF-8)"),
                        (OCTETS, "the LM-X license file, as bytes"),
                    ),
                ),
                Reply(304, "the license the If-None-Match ETag names is unchanged", media=""),
            ),
            params=(HOSTID, IF_NONE_MATCH),
            problems=(*LAC_FAILURES, 406),
        ),
        Endpoint(
            "DELETE",
            LICENSE,
            delete_license,
            operation_id="deactivateLicense",
            summary="Deactivate a host's license and drop it from the cache",
            tag="licenses",
            scope="deactivate",
            replies=NO_CONTENT,
            params=(HOSTID, IDEMPOTENCY_KEY),
            problems=LAC_FAILURES,
            audit_action="deactivation",
        ),
        Endpoint(
            "GET",
            f"{LICENSE}/removal",
            get_removal,
            operation_id="getRemovalRequest",
            summary="Whether the vendor asked this host to remove its license",
            tag="licenses",
            scope="read",
            replies=(Reply(200, "the removal flag", RemovalStatus),),
            params=(HOSTID,),
            problems=LAC_FAILURES,
        ),
        Endpoint(
            "POST",
            f"{LICENSE}/removal/confirm",
            confirm_removal,
            operation_id="confirmRemoval",
            summary="Confirm the host removed its license file",
            tag="licenses",
            scope="deactivate",
            replies=NO_CONTENT,
            body=RemovalConfirmRequest,
            params=(IDEMPOTENCY_KEY,),
            problems=LAC_FAILURES,
            audit_action="removal",
        ),
        Endpoint(
            "GET",
            "/v1/orders/{activation_key}",
            get_order,
            operation_id="getOrder",
            summary="Summary of the license order",
            tag="orders",
            scope="read",
            replies=(Reply(200, "the order", OrderResponse),),
            problems=LAC_FAILURES,
        ),
        Endpoint(
            "GET",
            "/v1/admin/jobs",
            list_jobs,
            operation_id="listJobs",
            summary="Pending license generations",
            tag="admin",
            scope="admin",
            replies=(Reply(200, "jobs in flight", JobList),),
            params=(LIMIT_QUERY,),
            problems=(503,),
        ),
        *(
            Endpoint(
                method,
                "/v1/admin/cache/{activation_key}",
                purge_cache,
                operation_id=f"purgeCache{method.title()}",
                summary="Drop a host's cached license",
                tag="admin",
                scope="admin",
                replies=(Reply(200, "the purge outcome", PurgeResult),),
                params=(HOSTID, IDEMPOTENCY_KEY),
                problems=(503,),
            )
            for method in ("POST", "DELETE")
        ),
        Endpoint(
            "GET",
            "/v1/admin/audit",
            audit_log,
            operation_id="auditLog",
            summary="The audit trail of activations, deactivations and removals, newest first",
            tag="admin",
            scope="admin",
            replies=(Reply(200, "a page of audit events", AuditLog),),
            params=(AUDIT_LIMIT_QUERY, BEFORE_QUERY),
            problems=(503,),
        ),
        Endpoint(
            "GET",
            "/v1/admin/webhooks/deliveries",
            list_deliveries,
            operation_id="listWebhookDeliveries",
            summary="Webhook deliveries by status and endpoint, newest first (paged)",
            tag="admin",
            scope="admin",
            replies=(Reply(200, "a page of deliveries", WebhookDeliveries),),
            params=WEBHOOK_QUERY,
            problems=(503,),
        ),
        Endpoint(
            "POST",
            "/v1/admin/webhooks/deliveries/{id}/retry",
            retry_delivery,
            operation_id="retryWebhookDelivery",
            summary="Send a pending or failed delivery again now (same webhook-id, fresh "
            "retry schedule)",
            tag="admin",
            scope="admin",
            replies=(Reply(202, "the delivery, pending again", WebhookDelivery),),
            problems=(404, 409, 503),
        ),
        Endpoint(
            "GET",
            "/v1/admin/lac/counters",
            lac_counters,
            operation_id="lacCounters",
            summary="LAC activation counters of the vendor account",
            tag="admin",
            scope="admin",
            replies=(Reply(200, "the counters LAC reports", ActivationCounters),),
            problems=(502, 503, 504),
        ),
        Endpoint(
            "GET",
            WELL_KNOWN_PATH,
            signing_key_handler,
            operation_id="signingKey",
            summary="The public key that signs license answers (a JWK Set, Ed25519)",
            tag="operations",
            scope=None,
            replies=(Reply(200, "the JWK Set", JwkSet),),
        ),
        Endpoint(
            "GET",
            "/problems/{slug}",
            problem_page,
            operation_id="problemType",
            summary="What a problem type means and what to do about it (its type URI)",
            tag="operations",
            scope=None,
            replies=(
                Reply(
                    200,
                    "the problem type's status, LAC codes and advice: HTML when Accept prefers "
                    "text/html, else text/plain",
                    media="text/html",
                    alternatives=(("text/plain", "the same page as plain text"),),
                ),
            ),
            problems=(404,),
        ),
        _operations("/healthz", healthz, "Liveness", Reply(200, "alive", Health)),
        _operations("/readyz", readyz, "Readiness", Reply(200, "ready", Readiness), (503,)),
        _operations("/metrics", metrics, "Prometheus metrics", TEXT_METRICS),
        _operations(
            "/openapi.json",
            openapi.document_handler,
            "This OpenAPI document",
            Reply(200, "OpenAPI 3.1", OpenApiDocument),
        ),
        _operations(
            "/docs",
            docs.docs_handler,
            "This API reference (Swagger UI)",
            Reply(200, "page", media="text/html"),
        ),
        Endpoint(
            "GET",
            f"{docs.STATIC_PREFIX}/{{name}}",
            docs.static_handler,
            operation_id="docsStatic",
            summary="A file of the /docs page (Swagger UI, its style, the start-up script)",
            tag="operations",
            scope=None,
            replies=(
                Reply(
                    200,
                    "the file, as its name says (script, style sheet or icon)",
                    media=docs.STATIC_MEDIA_TYPES[0],
                    alternatives=tuple((m, "the file") for m in docs.STATIC_MEDIA_TYPES[1:]),
                ),
            ),
            problems=(404,),
        ),
    )


def _operations(
    path: str, handler: Handler, summary: str, reply: Reply, problems: tuple[int, ...] = ()
) -> Endpoint:
    return Endpoint(
        "GET",
        path,
        handler,
        operation_id=path.strip("/").split(".")[0],
        summary=summary,
        tag="operations",
        scope=None,
        replies=(reply,),
        problems=problems,
    )


def setup_routes(app: web.Application) -> tuple[Endpoint, ...]:
    """Register every endpoint on ``app``; returns the table for the OpenAPI document."""
    table = endpoints()
    app[ENDPOINTS] = {(endpoint.method, endpoint.path): endpoint for endpoint in table}
    for endpoint in table:
        if endpoint.method == "GET":
            # GET routes answer HEAD too (RFC 9110 section 9.1); load balancers probe with it.
            app.router.add_get(endpoint.path, endpoint.handler, expect_handler=defer_continue)
        else:
            app.router.add_route(
                endpoint.method, endpoint.path, endpoint.handler, expect_handler=defer_continue
            )
    return table
