"""Every Redis error becomes one 503 problem whose detail says why, never what was sent."""

from __future__ import annotations

import pytest
from redis import exceptions as rx

from gateway.errors import (
    REDIS_REFUSALS,
    ServiceUnavailable,
    problem_body,
    redis_code,
    redis_unavailable,
)

SECRET = "lacgw:{act_secretsecretsecret}:license"  # what a message must never pass on
SCRIPT_OOM = (
    "Error running script (call to f_1cf4): @user_script:9: @user_script: 9: "
    f"-OOM command not allowed when used memory > 'maxmemory'. {SECRET}"
)

# (the error redis-py raises, the Redis error code behind it)
CASES: list[tuple[rx.RedisError, str | None]] = [
    (rx.OutOfMemoryError(f"command not allowed when used memory > 'maxmemory'. {SECRET}"), "OOM"),
    (rx.ResponseError(SCRIPT_OOM), "OOM"),
    (rx.ReadOnlyError(f"You can't write against a read only replica. {SECRET}"), "READONLY"),
    (rx.ResponseError(f"MISCONF Redis is configured to save RDB snapshots {SECRET}"), "MISCONF"),
    (rx.ResponseError(f"NOREPLICAS Not enough good replicas to write. {SECRET}"), "NOREPLICAS"),
    (rx.BusyLoadingError(f"Redis is loading the dataset in memory {SECRET}"), "LOADING"),
    (rx.NoPermissionError(f"no permissions to run the 'set' command {SECRET}"), "NOPERM"),
    (rx.ClusterDownError(f"The cluster is down {SECRET}"), "CLUSTERDOWN"),
    (rx.NoScriptError(f"No matching script. {SECRET}"), None),
    (rx.ResponseError(f"WRONGTYPE Operation against a key {SECRET}"), None),
    (rx.ConnectionError(f"Error 111 connecting to 127.0.0.1:6379. {SECRET}"), None),
    (rx.TimeoutError(f"Timeout reading from socket {SECRET}"), None),
    (rx.DataError(f"Invalid input of type: 'NoneType' {SECRET}"), None),
]


@pytest.mark.parametrize(("exc", "code"), CASES, ids=lambda value: type(value).__name__)
def test_redis_errors_are_a_503_with_retry_after_and_a_fixed_reason(
    exc: rx.RedisError, code: str | None
) -> None:
    err = redis_unavailable(exc)
    assert isinstance(err, ServiceUnavailable)
    assert err.status == 503
    assert int(err.headers()["Retry-After"]) > 0
    assert redis_code(exc) == code
    if code is not None:
        assert err.detail == REDIS_REFUSALS[code]
    body = problem_body(err, request_id="r1", instance="/v1/activations")
    assert SECRET not in repr(body)
    assert "secret" not in err.detail


def test_a_connection_message_mentioning_a_code_is_not_taken_for_a_refusal() -> None:
    # redis-py words network failures itself: nothing in them is a reply from Redis.
    exc = rx.ConnectionError("Error connecting to host OOM-cache:6379")
    assert redis_code(exc) is None
    assert redis_unavailable(exc).detail == "the gateway's Redis is unavailable"
