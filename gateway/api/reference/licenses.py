"""The reference of the license and order routes: fetch, deactivate, removal, order summary."""

from __future__ import annotations

from gateway.api.reference.base import (
    DEACT_KEY,
    LAPTOP,
    READY,
    REMOVAL_KEY,
    SINGLE_KEY,
    UNKNOWN_KEY,
    Exchange,
    Reference,
    problem,
)

_WHO_MAY = (
    "Only the API key that activated the pair may do it, or a key holding `deactivate_any` "
    "or `admin` (a refusal is 403 and is audited)."
)

LICENSES_REFERENCE: dict[str, Reference] = {
    "getLicense": Reference(
        "The license issued to one host, from the cache or else from LAC. Call it to fetch the "
        "license file again (a reinstall, a lost file) without activating: it never costs a "
        "seat. The same HostIDs as the activation are needed (`hostid`, repeated for several).",
        replies={
            200: "The license: check `LAC-Gateway-Signature`, store `license.content` as "
            "`license.filename`. `stale: true` (with `Warning: 110`) means LAC could not be "
            "asked and the cached copy is past its freshness: keep using it, ask again later.",
            304: "The license named by `If-None-Match` (its `ETag`) is unchanged: keep the "
            "file the product holds. No body.",
            404: "No license for this host: activate it with `POST /v1/activations`.",
        },
        examples=(
            Exchange(
                "cached",
                "The license activated above, from the cache",
                200,
                path={"activation_key": SINGLE_KEY},
                query={"hostid": LAPTOP},
                answer={**READY, "source": "cache"},
            ),
            Exchange(
                "unchanged",
                "The product already holds this license (`If-None-Match` with its ETag)",
                304,
                path={"activation_key": SINGLE_KEY},
                query={"hostid": LAPTOP},
                headers={"If-None-Match": "*"},
            ),
        ),
    ),
    "deactivateLicense": Reference(
        "Deactivates a host's license at LAC, freeing its seat, and drops it from the cache. "
        "Call it when the product is uninstalled or moved to another machine. " + _WHO_MAY,
        replies={
            204: "Deactivated: delete the local license file.",
            409: "LAC refuses: the order allows no (more) deactivations, or nothing is "
            "activated for this host (`lac_name`). Ask the vendor.",
        },
        examples=(
            Exchange(
                "deactivated",
                "A host activated by the batch example (the order allows one deactivation)",
                204,
                path={"activation_key": DEACT_KEY},
                query={"hostid": "HOSTNAME=build02"},
            ),
            Exchange(
                "not-allowed",
                "An order that allows no deactivation",
                409,
                path={"activation_key": SINGLE_KEY},
                query={"hostid": LAPTOP},
                answer=problem(
                    409,
                    "lac-cannot-deactivate-license",
                    "Cannot deactivate the license",
                    "LAC will not deactivate this license: the order allows no more "
                    "deactivations, or the license is not active; the vendor can reset the "
                    "order's deactivation allowance",
                    lac=(111, "LAC_CANNOT_DEACTIVATE_LICENSE"),
                    instance=f"/v1/licenses/{SINGLE_KEY}",
                ),
            ),
        ),
    ),
    "getRemovalRequest": Reference(
        "Whether the vendor asked this host to remove its license (LAC's "
        "`LicenseRemovalRequested`). Products that honour removals call it now and then, for "
        "example at each license re-check.",
        replies={
            200: "`removal_requested: true`: delete the license file, then confirm with "
            "`POST .../removal/confirm`; `false`: nothing to do.",
        },
        examples=(
            Exchange(
                "requested",
                "An order whose vendor asked for removal",
                200,
                path={"activation_key": REMOVAL_KEY},
                query={"hostid": "HOSTNAME=build03"},
                answer={"removal_requested": True},
            ),
        ),
    ),
    "confirmRemoval": Reference(
        "Confirms the host deleted its license file after a removal request (LAC's "
        "`LicenseRemovalConfirm`); the gateway drops its cached copy. " + _WHO_MAY,
        replies={
            204: "Confirmed: the seat is free at LAC.",
            409: "No removal was requested for this host: nothing to confirm.",
        },
        examples=(
            Exchange(
                "confirmed",
                "The host removed its license file",
                204,
                path={"activation_key": REMOVAL_KEY},
                body={"hostids": ["HOSTNAME=build03"]},
            ),
            Exchange(
                "not-requested",
                "No removal was asked for this host",
                409,
                path={"activation_key": SINGLE_KEY},
                body={"hostids": [LAPTOP]},
                answer=problem(
                    409,
                    "lac-license-removal-not-requested",
                    "Removing the license from the host was not requested",
                    "the vendor has not asked this host to remove its license: keep the "
                    "license, and confirm a removal only after GET "
                    "/v1/licenses/{activation_key}/removal says removal_requested",
                    lac=(204, "LAC_LICENSE_REMOVAL_NOT_REQUESTED"),
                    instance=f"/v1/licenses/{SINGLE_KEY}/removal/confirm",
                ),
            ),
        ),
    ),
    "getOrder": Reference(
        "A summary of the license order behind an activation key: whether it may be activated "
        "and how many activations it holds. Call it to show the user their order before "
        "activating, or to explain a refusal; it is cached briefly and never costs a seat. A "
        "field LAC's configured transport cannot report is left out and named in "
        "`not_reported`.",
        replies={
            200: "The order; `enabled: false` means every activation is refused: ask the vendor.",
            404: "LAC does not know the activation key.",
        },
        examples=(
            Exchange(
                "order",
                "The single-host order after its one activation",
                200,
                path={"activation_key": SINGLE_KEY},
                answer={
                    "activation_key": SINGLE_KEY,
                    "product_template_id": 1,
                    "activations_used": 1,
                    "enabled": True,
                    "not_reported": ["product", "activations_allowed"],
                },
            ),
            Exchange(
                "unknown",
                "An activation key LAC does not know",
                404,
                path={"activation_key": "XXXXX-XXXXX-XXXXX-XXXXX"},
                answer={**UNKNOWN_KEY, "instance": "/v1/orders/XXXXX-XXXXX-XXXXX-XXXXX"},
            ),
        ),
    ),
}
