"""The reference of the activation routes: activate, batch, and the state of one activation."""

from __future__ import annotations

from gateway.api.reference.base import (
    DEACT_KEY,
    LAPTOP,
    PENDING_KEY,
    READY,
    REMOVAL_KEY,
    SINGLE_KEY,
    UNKNOWN_KEY,
    Exchange,
    Reference,
    activation_id_of,
    item_problem,
)
from gateway.api.reference.problems import GENERIC_PROBLEMS

NO_SEAT = GENERIC_PROBLEMS[409].example
PENDING_ID = activation_id_of(PENDING_KEY, "HOSTNAME=build01")
DEACT_ID = activation_id_of(DEACT_KEY, "HOSTNAME=build02")
REMOVAL_ID = activation_id_of(REMOVAL_KEY, "HOSTNAME=build03")

_LICENSE_REPLIES = {
    200: "The license (`state: ready`). Check `LAC-Gateway-Signature`, then store "
    "`license.content` as the product's license file, named `license.filename`.",
}

ACTIVATIONS_REFERENCE: dict[str, Reference] = {
    "createActivation": Reference(
        "Activates a license for one machine: the activation key of the order and the machine's "
        "HostIDs. Call it when the product starts without a valid license file (first run, "
        "new machine, expired file). It is safe to call again: the same key and HostIDs name "
        "the same activation, so a retry, a second installer or a restart never costs a second "
        "seat at LAC, and a license already issued is answered from the cache.\n\n"
        "The gateway holds the request up to `Prefer: wait=N` seconds (default from "
        "configuration) for LAC to generate the license. If it is ready in time the answer is "
        "200 with the license; if not, 202 with `Location` (the activation) and `Retry-After`: "
        "long-poll `GET {Location}?wait=N`. `Prefer: respond-async` answers 202 at once.\n\n"
        "Send `Idempotency-Key` to make a retried POST replay the first answer exactly.",
        replies={
            **_LICENSE_REPLIES,
            202: "Generation is under way. Ask `Location` (long-poll with `?wait=N`) after "
            "`Retry-After` seconds; do not POST again in a loop (it would be answered the "
            "same, but costs a request).",
            404: "LAC does not know the activation key (`lac_name` says so): ask the user to "
            "check the key; retrying does not help.",
            409: "The order allows no more activations, or the HostIDs conflict with its "
            "rules (`lac_name`): free a seat by deactivating a host, or ask the vendor.",
        },
        examples=(
            Exchange(
                "ready",
                "A license issued within the wait",
                200,
                body={"activation_key": SINGLE_KEY, "hostids": [LAPTOP]},
                headers={"Prefer": "wait=10"},
                answer={**READY, "source": "lac"},
            ),
            Exchange(
                "pending",
                "Generation takes longer: 202, ask the Location",
                202,
                body={"activation_key": PENDING_KEY, "hostids": ["HOSTNAME=build01"]},
                headers={"Prefer": "respond-async"},
                answer={
                    "state": "pending",
                    "id": PENDING_ID,
                    "license": None,
                    "source": None,
                    "next_check_after": None,
                    "stale": False,
                },
            ),
            Exchange(
                "unknown-key",
                "An activation key LAC does not know",
                404,
                body={"activation_key": "XXXXX-XXXXX-XXXXX-XXXXX", "hostids": ["HOSTNAME=a1"]},
                answer=UNKNOWN_KEY,
            ),
            Exchange(
                "no-seat-left",
                "The single-host order is already activated on another host",
                409,
                body={"activation_key": SINGLE_KEY, "hostids": ["HOSTNAME=another-host"]},
                answer=NO_SEAT,
            ),
            Exchange(
                "no-hostids",
                "No HostID sent",
                422,
                body={"activation_key": SINGLE_KEY, "hostids": []},
                answer=GENERIC_PROBLEMS[422].example,
            ),
        ),
    ),
    "batchActivations": Reference(
        "Runs several activations at once (an installer provisioning a farm), concurrently, "
        "with the same rules as `POST /v1/activations` for each item. The answer is 200 with one "
        "result per item, in request order: the status the item would have had alone and its "
        "body (an activation, or a problem). Handle each item as its single call would be "
        "handled; pending items are followed with `GET /v1/activations/{id}`.",
        replies={200: "One result per item; check each item's `status`."},
        examples=(
            Exchange(
                "mixed",
                "Two licenses issued, one refused",
                200,
                body={
                    "items": [
                        {"activation_key": DEACT_KEY, "hostids": ["HOSTNAME=build02"]},
                        {"activation_key": REMOVAL_KEY, "hostids": ["HOSTNAME=build03"]},
                        {"activation_key": SINGLE_KEY, "hostids": ["HOSTNAME=build04"]},
                    ]
                },
                answer={
                    "results": [
                        {
                            "index": 0,
                            "status": 200,
                            "body": {
                                **READY,
                                "id": DEACT_ID,
                                "source": "lac",
                                "next_check_after": "2026-12-02T18:43:40Z",
                            },
                        },
                        {
                            "index": 1,
                            "status": 200,
                            "body": {
                                **READY,
                                "id": REMOVAL_ID,
                                "source": "lac",
                                "next_check_after": "2026-12-02T17:45:27Z",
                            },
                        },
                        {"index": 2, "status": 409, "body": item_problem(NO_SEAT)},
                    ]
                },
            ),
        ),
    ),
    "getActivation": Reference(
        "The state of one activation, by the id a 202 named in `Location`. With `?wait=N` it "
        "long-polls: the gateway answers as soon as the license is ready (on whichever replica "
        "the generation finished) or after N seconds. Loop on it while the state is `pending`, "
        "waiting `Retry-After` seconds between calls that return at once.",
        replies={
            200: "`state: ready` with the license (check the signature, store it), or "
            "`state: pending`: ask again after `Retry-After` seconds. A generation that failed "
            "answers with its problem status instead (for example 409 or 502).",
            404: "No such activation: it was never started, or finished long ago. POST the "
            "activation again (it is idempotent).",
        },
        examples=(
            Exchange(
                "long-poll",
                "Long-poll until the license is ready",
                200,
                path={"id": PENDING_ID},
                query={"wait": "10"},
                answer={
                    **READY,
                    "id": PENDING_ID,
                    "source": "job",
                    "next_check_after": "2026-12-02T17:53:34Z",
                },
            ),
            Exchange(
                "unknown",
                "An activation id the gateway does not know",
                404,
                path={"id": "act_aarjjopecsae4rvcmoqjvluih7"},
                answer=GENERIC_PROBLEMS[404].example,
            ),
        ),
    ),
}
