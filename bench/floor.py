"""``python -m bench.floor``: the least an activation proxy can do, as a floor for scenario 3.

One route, ``POST /v1/activations``, doing what a cold activation cannot do without: the
caller's HTTP hop and JSON body, one Redis script before LAC (read the license and the
rejection, create the job) and one after (store the license, finish the job, announce it,
append an audit event), the LAC calls (the gateway's SOAP templates, or the three REST
requests), an Ed25519 signature and the JSON answer. Nothing else: no API key, rate limit,
validation, leases, metrics, logs, webhooks or near cache. The gateway's p50 beside this one's,
in the same run, tells what the gateway's features cost from what the machine's hops cost.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import os
import time

import aiohttp
import orjson
import redis.asyncio as aioredis
import uvloop
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.direct import SOAP_HEADERS, WSDL, DirectRest, SoapActivation
from gateway.lac.soap_codec import SoapCodec
from gateway.lac.soap_ops import Op

# KEYS: license, negative, job, due set. ARGV: the due time, then the job's fields and values.
START = """
local license = redis.call('GET', KEYS[1])
local negative = redis.call('GET', KEYS[2])
if license or negative then return {-1, license, negative} end
if redis.call('EXISTS', KEYS[3]) == 1 then return {0, false, false} end
redis.call('HSET', KEYS[3], unpack(ARGV, 2))
redis.call('ZADD', KEYS[4], ARGV[1], KEYS[3])
return {1, false, false}
"""
# KEYS: license, negative, job, due set, audit stream. ARGV: the license entry, its lifetime
# in ms, the outcome, the activation id, then the audit event's fields and values.
COMPLETE = """
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('DEL', KEYS[2], KEYS[3])
redis.call('ZREM', KEYS[4], KEYS[3])
redis.call('PUBLISH', 'floor:outcomes', ARGV[3])
redis.call('PUBLISH', 'floor:licenses', ARGV[4])
redis.call('XADD', KEYS[5], 'MAXLEN', '~', 10000, '*', unpack(ARGV, 5))
return 1
"""
LICENSE_TTL_MS = 86_400_000
JOB_FIELDS = ("id", "activation_key", "hostid", "created_at", "due_at", "deadline_at", "owner")


class FloorSoap(SoapActivation):
    """Both calls built and read as the gateway does (its SOAP templates and reply reader)."""

    def __init__(self, http: aiohttp.ClientSession, url: str, codec: SoapCodec) -> None:
        self.http = http
        self.url = url
        self.codec = codec

    async def call(self, op: Op, activation_key: str, hostid: str) -> tuple[int, str | None]:
        """LAC's result code and string for ``op``, through the gateway's codec."""
        body = self.codec.build(op, activation_key=activation_key, hostid=hostid)
        async with self.http.post(self.url, data=body, headers=SOAP_HEADERS) as resp:
            result = self.codec.parse(op, await resp.read())
        return result.result_code, result.result_string


class Floor:
    """The one route's handler and what it holds."""

    def __init__(self, lac: FloorSoap | DirectRest, redis: aioredis.Redis) -> None:
        self.lac = lac
        self._start = redis.register_script(START)
        self._complete = redis.register_script(COMPLETE)
        self._key = Ed25519PrivateKey.generate()

    async def activate(self, request: web.Request) -> web.Response:
        """POST /v1/activations: ``{"activation_key": ..., "hostids": [one]}``."""
        body = orjson.loads(await request.read())
        key, hostid = body["activation_key"], body["hostids"][0]
        aid = "act_" + hashlib.sha256(f"{key}\n{hostid}".encode()).hexdigest()[:26]
        now = time.time()
        due = now + 30
        job = [aid, key, hostid, now, due, now + 3600, os.urandom(8).hex()]
        fields = [value for pair in zip(JOB_FIELDS, job, strict=True) for value in pair]
        keys = [f"floor:l:{aid}", f"floor:n:{aid}", f"floor:j:{aid}", "floor:due"]
        await self._start(keys=keys, args=[due, *fields])
        text = await self.lac.activate(key, hostid)
        answer = {"activation_id": aid, "status": "ready", "source": "lac", "license": text}
        out = orjson.dumps(answer)
        audit: list[str | float] = ["event", "license_issued", "activation_id", aid, "at", now]
        args: list[bytes | str | float] = [out, LICENSE_TTL_MS, b"ready", aid, *audit]
        await self._complete(keys=[*keys, "floor:audit"], args=args)
        stamp = int(time.time())
        signature = self._key.sign(f"{stamp}.".encode() + out)
        sig = base64.urlsafe_b64encode(signature).rstrip(b"=").decode()
        headers = {"LAC-Gateway-Signature": f"t={stamp}, sig={sig}"}
        return web.Response(body=out, content_type="application/json", headers=headers)


async def serve(port: int, sandbox: str, redis_url: str, transport: str) -> None:
    """Serve the floor on ``port`` until cancelled."""
    redis = aioredis.from_url(redis_url)
    async with aiohttp.ClientSession() as http:
        if transport == "soap":
            codec = await asyncio.to_thread(SoapCodec.load, WSDL)
            lac: FloorSoap | DirectRest = FloorSoap(
                http, f"{sandbox}/soap/type/enduser/version/2", codec
            )
        else:
            lac = DirectRest(http, f"{sandbox}/rest/v2")
        app = web.Application()
        app.router.add_post("/v1/activations", Floor(lac, redis).activate)
        app.router.add_get("/readyz", _ready)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()
            await redis.aclose()


async def _ready(_: web.Request) -> web.Response:
    return web.Response(text="ready")


def main() -> None:
    """Parse the arguments and serve."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--sandbox", required=True, help="the sandbox's base URL")
    parser.add_argument("--redis", required=True, help="the Redis URL")
    parser.add_argument("--transport", choices=("soap", "rest"), default="soap")
    args = parser.parse_args()
    uvloop.run(serve(args.port, args.sandbox, args.redis, args.transport))


if __name__ == "__main__":
    main()
