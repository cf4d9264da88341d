"""HostID and activation-key normalisation, activation ids, and the API models' validation."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date

import pytest
from pydantic import BaseModel, ValidationError

from gateway.errors import InvalidInput, lac_problem, problem_body
from gateway.hostids import (
    HostId,
    activation_id,
    host_hash,
    hostid_string,
    is_activation_id,
    mask_key,
    normalise_activation_key,
    normalise_hostids,
)
from gateway.models import (
    ActivationRequest,
    ActivationResponse,
    BatchItemResult,
    BatchRequest,
    BatchResponse,
    JobList,
    LicenseBody,
    OrderResponse,
    Problem,
    RemovalConfirmRequest,
    RemovalStatus,
)
from gateway.validation import invalid_input

HostIdItems = Sequence[str | Mapping[str, object]]
KEY = "9EFJK-TVJM0-MCDET-EZKXJ"

# Each group: different spellings of one machine, and its canonical LAC string.
EQUIVALENT: list[tuple[str, list[HostIdItems]]] = [
    (
        "ETHERNET=AABBCCDDEEFF,IPADDRESS=10.0.0.5",
        [
            ["ETHERNET=AABBCCDDEEFF,IPADDRESS=10.0.0.5"],
            ["IPADDRESS=10.0.0.5", "ethernet=aa-bb-cc-dd-ee-ff"],
            [{"type": "Ethernet", "value": "AA:BB:CC:DD:EE:FF"}, "ip_address=10.0.0.5"],
            ["ETHERNET=aabb.ccdd.eeff", "IPADDRESS=10.0.0.5", "ETHERNET=AA-BB-CC:DD:EE:FF"],
        ],
    ),
    (
        "HOSTNAME=BUILD01",
        [
            ["HOSTNAME=build01"],
            ["hostname=BUILD01"],
            [{"type": " hostname ", "value": " build01 "}],
            ["HOSTNAME=build01", {"type": "HOSTNAME", "value": "Build01"}],
        ],
    ),
    (
        "IPADDRESS=FE80::1",
        [["IPADDRESS=fe80::1"], ["IPADDRESS=FE80:0:0:0:0:0:0:1"]],
    ),
    (
        "USERNAME=ANNA@CORP",
        [["USERNAME=anna@corp"], [{"type": "username", "value": "Anna@Corp"}]],
    ),
    (
        "not_specified",
        [["not_specified"], ["NOT_SPECIFIED"], [{"type": "not_specified", "value": ""}]],
    ),
]


@pytest.mark.parametrize(("canonical", "spellings"), EQUIVALENT, ids=[c for c, _ in EQUIVALENT])
def test_spellings_of_one_machine_normalise_to_one_set_and_one_id(
    canonical: str, spellings: list[HostIdItems]
) -> None:
    sets = {normalise_hostids(items) for items in spellings}
    assert len(sets) == 1
    [hostids] = sets
    assert hostid_string(hostids) == canonical
    assert len({activation_id(KEY, normalise_hostids(items)) for items in spellings}) == 1


LONG = "A" * 256
INVALID: list[tuple[HostIdItems, str, str]] = [
    ([], "hostids", "missing"),
    (["HOSTNAME"], "hostids[0]", "TYPE=value"),
    (["   "], "hostids[0]", "empty"),
    (["FOO=bar"], "hostids[0]", "unknown HostID type"),
    (["HOSTNAME=a b"], "hostids[0]", "allowed characters"),
    (["HOSTNAME="], "hostids[0]", "empty"),
    ([f"HOSTNAME={LONG}"], "hostids[0]", "at most 255"),
    (["HOSTNAME=a@b"], "hostids[0]", "allowed characters"),
    (["HOSTNAME=a=b"], "hostids[0]", "allowed characters"),
    (["HOSTNAME=a,"], "hostids[0]", "TYPE=value"),
    (["ETHERNET=00-11-22-33-44-55-66-77"], "hostids[0]", "16-character"),
    (["ETHERNET=0011223344"], "hostids[0]", "12 hex digits"),
    (["ETHERNET=GG1122334455"], "hostids[0]", "12 hex digits"),
    (["IPADDRESS=300.1.1.1"], "hostids[0]", "IPv4 or IPv6"),
    (["IPADDRESS=build01"], "hostids[0]", "IPv4 or IPv6"),
    (["not_specified=x"], "hostids[0]", "takes no value"),
    (["HOSTNAME=ok", "FOO=x"], "hostids[1]", "unknown HostID type"),
    ([{"type": "HOSTNAME"}], "hostids[0]", "empty"),
    ([{"type": "HOSTNAME", "value": "a", "x": "y"}], "hostids[0]", "type and value"),
    ([{"type": 5, "value": "a"}], "hostids[0]", "must be strings"),
    ([5], "hostids[0]", "TYPE=value string"),  # type: ignore[list-item]
    (["not_specified", "HOSTNAME=a"], "hostids", "cannot be combined"),
    ([f"HOSTNAME=H{i}" for i in range(17)], "hostids", "at most 16"),
    ([",".join(f"HOSTNAME=H{i}" for i in range(17))], "hostids", "at most 16"),
    ([f"CUSTOM={i}{'A' * 250}" for i in range(9)], "hostids", "characters in all"),
]


@pytest.mark.parametrize(("items", "field", "message"), INVALID)
def test_hostid_grammar_violations_are_422_naming_the_field(
    items: HostIdItems, field: str, message: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalise_hostids(items)
    assert caught.value.status == 422
    assert caught.value.errors is not None
    assert any(e["field"] == field and message in e["message"] for e in caught.value.errors), (
        caught.value.errors
    )


def test_every_bad_hostid_is_reported_at_once() -> None:
    with pytest.raises(InvalidInput) as caught:
        normalise_hostids(["FOO=1", "HOSTNAME=ok", "HOSTNAME=", "ETHERNET=1"])
    assert caught.value.errors is not None
    assert [e["field"] for e in caught.value.errors] == ["hostids[0]", "hostids[2]", "hostids[3]"]


def test_known_types_and_aliases_map_to_lac_tokens() -> None:
    hostids = normalise_hostids(
        ["hard_disk=ABC", "dongle_hasp_hl=1", "windows_product_id=X-1", "gce_instance_id=9"]
    )
    assert [h.type for h in hostids] == ["DONGLE_HASPHL", "GCE_ID", "HARDDISK", "WIN_PRODUCT_ID"]


def test_hostids_are_a_sorted_set() -> None:
    hostids = normalise_hostids(["HOSTNAME=b", "CUSTOM=z", "HOSTNAME=a", "HOSTNAME=B"])
    assert hostids == (HostId("CUSTOM", "Z"), HostId("HOSTNAME", "A"), HostId("HOSTNAME", "B"))


def test_hostid_string_is_canonical_whatever_order_it_is_given() -> None:
    given = [HostId("HOSTNAME", "B"), HostId("CUSTOM", "A"), HostId("HOSTNAME", "B")]
    assert hostid_string(given) == "CUSTOM=A,HOSTNAME=B"
    assert activation_id(KEY, given) == activation_id(KEY, reversed(given))


def test_validated_request_objects_normalise_like_mappings() -> None:
    request = ActivationRequest.model_validate(
        {"activation_key": KEY, "hostids": [{"type": "hostname", "value": "x"}, "CUSTOM=1"]}
    )
    assert hostid_string(normalise_hostids(request.hostids)) == "CUSTOM=1,HOSTNAME=X"


# --- activation keys -------------------------------------------------------------------------


def test_activation_key_is_trimmed_and_upper_cased() -> None:
    assert normalise_activation_key("  9efjk-tvjm0-mcdet-ezkxj \n") == KEY


@pytest.mark.parametrize(
    "raw",
    ["", "9EFJK-TVJM0-MCDET", "9EFJK_TVJM0_MCDET_EZKXJ", "9EFJK-TVJM0-MCDET-EZKX!", "9EFJKTVJM0"],
)
def test_malformed_activation_key_is_422_on_activation_key(raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        normalise_activation_key(raw)
    assert caught.value.errors is not None
    [error] = caught.value.errors
    assert error["field"] == "activation_key"
    if raw:
        assert raw not in error["message"]


# --- ids and log-safe forms ------------------------------------------------------------------


def test_activation_id_is_stable_url_safe_and_order_independent() -> None:
    one = normalise_hostids(["HOSTNAME=a", "ETHERNET=AABBCCDDEEFF"])
    other = normalise_hostids(["ethernet=aa:bb:cc:dd:ee:ff", "hostname=A"])
    aid = activation_id(KEY, one)
    assert aid == activation_id(KEY, other)
    assert re.fullmatch(r"act_[a-z2-7]{26}", aid)
    assert is_activation_id(aid)
    # Pinned: cached licenses and pending jobs are stored under this id across releases.
    assert activation_id("AAAAA-BBBBB-CCCCC-DDDDD", normalise_hostids(["HOSTNAME=a"])) == (
        "act_aarjjopecsae4rvcmoqjvluih7"
    )


def test_activation_id_differs_per_key_and_per_host() -> None:
    host_a = normalise_hostids(["HOSTNAME=a"])
    host_b = normalise_hostids(["HOSTNAME=b"])
    ids = {
        activation_id(KEY, host_a),
        activation_id(KEY, host_b),
        activation_id("AAAAA-BBBBB-CCCCC-DDDDD", host_a),
    }
    assert len(ids) == 3


@pytest.mark.parametrize("text", ["act_", "act_AARJJOPECSAE4RVCMOQJVLUIH7", "act_{x}", "../etc"])
def test_is_activation_id_rejects_other_shapes(text: str) -> None:
    assert not is_activation_id(text)


def test_mask_key_keeps_only_first_and_last_group() -> None:
    assert mask_key(KEY) == "9EFJK-*****-*****-EZKXJ"
    assert mask_key("not-a-key") == "*****"


def test_host_hash_is_short_hex_without_the_values() -> None:
    hostids = normalise_hostids(["HOSTNAME=secret-host"])
    digest = host_hash(hostids)
    assert re.fullmatch(r"[0-9a-f]{16}", digest)
    assert digest == host_hash(normalise_hostids(["hostname=SECRET-HOST"]))
    assert digest != host_hash(normalise_hostids(["HOSTNAME=other"]))


# --- pydantic request models -----------------------------------------------------------------

REJECTED: list[tuple[type[BaseModel], object, str]] = [
    (ActivationRequest, {"activation_key": 5, "hostids": ["HOSTNAME=a"]}, "activation_key"),
    (ActivationRequest, {"activation_key": KEY, "hostids": []}, "hostids"),
    (ActivationRequest, {"activation_key": KEY, "hostids": "HOSTNAME=a"}, "hostids"),
    (ActivationRequest, {"activation_key": KEY, "hostids": [5]}, "hostids[0]"),
    (ActivationRequest, {"activation_key": KEY, "hostids": ["H=a"] * 17}, "hostids"),
    (ActivationRequest, {"activation_key": KEY, "hostids": ["HOSTNAME=a"], "x": 1}, "x"),
    (ActivationRequest, {"hostids": ["HOSTNAME=a"]}, "activation_key"),
    (
        ActivationRequest,
        {"activation_key": KEY, "hostids": [{"type": "HOSTNAME", "value": "a", "x": 1}]},
        "hostids[0].x",
    ),
    (
        ActivationRequest,
        {"activation_key": KEY, "hostids": [{"type": "HOSTNAME", "value": 7}]},
        "hostids[0].value",
    ),
    (BatchRequest, {"items": []}, "items"),
    (
        BatchRequest,
        {"items": [{"activation_key": KEY, "hostids": ["HOSTNAME=a"]}] * 101},
        "items",
    ),
    (BatchRequest, {"items": [{"activation_key": KEY, "hostids": [True]}]}, "items[0].hostids[0]"),
    (RemovalConfirmRequest, {"hostids": ["HOSTNAME=a"], "activation_key": KEY}, "activation_key"),
    (RemovalConfirmRequest, {}, "hostids"),
]


@pytest.mark.parametrize(("model", "data", "field"), REJECTED)
def test_request_models_reject_wrong_types_and_unknown_fields(
    model: type[BaseModel], data: object, field: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    err = invalid_input(caught.value)
    assert err.status == 422
    assert err.errors is not None
    assert field in [e["field"] for e in err.errors], err.errors


def test_validation_errors_never_echo_the_input() -> None:
    with pytest.raises(ValidationError) as caught:
        ActivationRequest.model_validate({"activation_key": ["SECRET-KEY"], "hostids": ["x"]})
    rendered = str(invalid_input(caught.value).errors)
    assert "SECRET-KEY" not in rendered


def test_valid_requests_are_accepted() -> None:
    batch = BatchRequest.model_validate(
        {"items": [{"activation_key": KEY, "hostids": ["HOSTNAME=a", {"type": "T", "value": ""}]}]}
    )
    assert batch.items[0].activation_key == KEY
    confirm = RemovalConfirmRequest.model_validate({"hostids": ["HOSTNAME=a"]})
    assert confirm.hostids == ["HOSTNAME=a"]


# --- response models and schemas ------------------------------------------------------------


def test_problem_model_accepts_every_problem_body() -> None:
    body = problem_body(lac_problem(106, "bad"), request_id="r", instance="/v1/activations")
    problem = Problem.model_validate(body)
    assert problem.lac_name == "LAC_HOSTID_VALUE_INVALID"
    assert problem.model_dump(exclude_none=True) == body


def test_batch_item_body_is_an_activation_or_a_problem() -> None:
    problem = problem_body(lac_problem(202, "disabled"), request_id=None, instance=None)
    response = BatchResponse.model_validate(
        {
            "results": [
                {"index": 0, "status": 200, "body": {"state": "pending", "id": "act_x"}},
                {"index": 1, "status": 403, "body": problem},
            ]
        }
    )
    assert isinstance(response.results[0].body, ActivationResponse)
    assert isinstance(response.results[1].body, Problem)


def test_ready_response_serialises_dates_as_iso_strings() -> None:
    response = ActivationResponse(
        state="ready",
        id="act_x",
        license=LicenseBody(content="x", filename="a.lic", expires_at=date(2027, 1, 31)),
        source="cache",
    )
    dumped = response.model_dump(mode="json")
    assert dumped["license"]["expires_at"] == "2027-01-31"
    assert dumped["stale"] is False


def test_license_body_reads_attribute_objects() -> None:
    class Issued:
        content = "text"
        filename = "license.lic"
        activated_at = None
        expires_at = date(2030, 1, 1)
        maintenance_end = None

    assert LicenseBody.model_validate(Issued()).expires_at == date(2030, 1, 1)


SCHEMA_MODELS: list[type[BaseModel]] = [
    ActivationRequest,
    BatchRequest,
    RemovalConfirmRequest,
    ActivationResponse,
    BatchItemResult,
    BatchResponse,
    OrderResponse,
    RemovalStatus,
    Problem,
    JobList,
]


@pytest.mark.parametrize("model", SCHEMA_MODELS, ids=lambda m: m.__name__)
def test_every_model_yields_a_documented_json_schema(model: type[BaseModel]) -> None:
    schema = model.model_json_schema()
    assert schema["type"] == "object"
    assert schema["description"]
    # RFC 9457 lets a problem carry extension members; every other body is closed.
    assert schema["additionalProperties"] is (model is Problem)


def test_request_schema_documents_hostid_forms_and_limits() -> None:
    hostids = ActivationRequest.model_json_schema()["properties"]["hostids"]
    assert hostids["minItems"] == 1
    assert hostids["maxItems"] == 16
    assert hostids["examples"]
    forms = hostids["items"]["oneOf"]
    assert {"type": "string"}.items() <= forms[0].items()
    assert forms[1] == {"$ref": "#/$defs/HostIdObject"}
