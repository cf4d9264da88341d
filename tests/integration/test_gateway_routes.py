"""Route plumbing: every GET route answers HEAD like GET, with the same status and no body."""

from __future__ import annotations

from tests.gwharness import ADMIN_KEY, FLEET_KEY, Running

SINGLE = "SNGLE-HOST1-DEMO0-00001"


async def test_head_answers_like_get_on_get_routes(running: Running) -> None:
    assert (await running.activate(SINGLE, ["HOSTNAME=head01"])).status == 200
    cases = [
        ("/healthz", None),
        ("/readyz", None),
        ("/openapi.json", None),
        (f"/v1/licenses/{SINGLE}?hostid=HOSTNAME=head01", FLEET_KEY),
        ("/v1/activations/act_aaaaaaaaaaaaaaaaaaaaaaaaaa", FLEET_KEY),
        ("/v1/admin/jobs", FLEET_KEY),
        ("/v1/admin/jobs", ADMIN_KEY),
        ("/v1/licenses/" + SINGLE + "?hostid=HOSTNAME=head01", None),
    ]
    for path, key in cases:
        get = await running.call("GET", path, key=key)
        head = await running.call("HEAD", path, key=key)
        assert head.status == get.status, (path, head.status, get.status)
        assert head.body == b"", path
        assert head.headers["Content-Type"] == get.headers["Content-Type"], path
