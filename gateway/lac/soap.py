"""The LAC adapter over end-user SOAP v2: zeep builds and parses (``SoapCodec``), aiohttp sends."""

from __future__ import annotations

import aiohttp
import structlog
from yarl import URL

from gateway.codes import Code
from gateway.lac.base import (
    IssuedLicense,
    Lac,
    LacRejected,
    LacRequestRejected,
    LacUnavailable,
    PollResult,
    PollState,
)
from gateway.lac.http import LacHttp, Reply
from gateway.lac.license_text import parse_license
from gateway.lac.polling import LacRoute
from gateway.lac.soap_codec import SoapCodec, SoapResult
from gateway.lac.soap_ops import (
    REMOVAL_NEVER_GENERATED,
    REMOVAL_NO,
    REMOVAL_YES,
    SOAP_OPS,
    Op,
)
from gateway.logs import redact
from gateway.metrics import Metrics
from gateway.settings import LacSettings

TRANSPORT = "soap"
log = structlog.get_logger(__name__)
# GetLicense codes that mean "LAC holds no license for this host" rather than a failure.
NO_LICENSE = frozenset(
    {
        Code.PLEASE_WAIT,
        Code.RECORD_DOESNT_EXIST,
        Code.LICENSE_WAS_NOT_ACTIVATED,
        Code.LICENSE_GENERATION_WAS_NOT_REQUESTED,
    }
)


async def soap_call(
    http: LacHttp, codec: SoapCodec, url: URL, op: Op, **args: str | int
) -> SoapResult:
    """Send ``op`` to ``url`` and return LAC's parsed answer, whatever its code."""
    spec = SOAP_OPS[op]
    body = codec.build(op, **args)

    def decode(reply: Reply) -> tuple[int, SoapResult]:
        # LAC answers errors in-band with HTTP 200; whatever the status, the body decides.
        try:
            result = codec.parse(op, reply.body)
        except LacRequestRejected as exc:
            # The fault string is logged: not one value this request carried goes with it.
            values = [str(value) for value in args.values()]
            raise LacRequestRejected(
                exc.operation, exc.faultcode, redact(exc.fault, values)
            ) from None
        return result.result_code, result

    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": codec.soap_action(op)}
    return await http.call(
        spec.name,
        "POST",
        url,
        decode,
        mutating=spec.mutating,
        data=body,
        headers=headers,
        faults_in_body=True,
    )


def rejected(op: Op, result: SoapResult, transport: str = TRANSPORT) -> LacRejected:
    """LAC's in-band refusal as an exception, logged once (code only, never LAC's text)."""
    name = SOAP_OPS[op].name
    log.info("lac_call_failed", op=name, code=result.result_code, transport=transport)
    return LacRejected(result.result_code, result.result_string or "", operation=name)


class LacSoapClient:
    """The ``Lac`` port over end-user SOAP v2."""

    transport = TRANSPORT

    def __init__(
        self,
        session: aiohttp.ClientSession,
        settings: LacSettings,
        codec: SoapCodec,
        metrics: Metrics | None = None,
        *,
        http: LacHttp | None = None,
        route: LacRoute | None = None,
        fallback: Lac | None = None,
    ) -> None:
        self._http = http or LacHttp(session, settings, transport=TRANSPORT, metrics=metrics)
        self._codec = codec
        self._url = URL(settings.soap_url)
        self._route = route
        self._fallback = fallback

    def _polling_fallback(self) -> Lac | None:
        """The REST client that polls instead of GetLicense, when GetLicense is out of use."""
        if self._route is None or self._route.polls_by_soap:
            return None
        return self._fallback

    async def _get_license(self, activation_key: str, hostid: str) -> SoapResult | Lac:
        """GetLicense's answer, or the REST client to ask instead when GetLicense is out of use.

        A Client fault is a configuration error: it is not retried. The route remembers it,
        so this process sends GetLicense no more and polls through REST from then on.
        """
        fallback = self._polling_fallback()
        if fallback is not None:
            return fallback
        try:
            return await self._call(Op.GET_LICENSE, activation_key, hostid)
        except LacRequestRejected as exc:
            if self._route is None or self._fallback is None:
                raise
            self._route.refuse_get_license(exc.faultcode)
            return self._fallback

    async def _call(self, op: Op, activation_key: str, hostid: str) -> SoapResult:
        return await soap_call(
            self._http, self._codec, self._url, op, activation_key=activation_key, hostid=hostid
        )

    async def create(self, activation_key: str, hostid: str) -> None:
        """CreateLicenseRequest: code 0 means queued for generation."""
        result = await self._call(Op.CREATE, activation_key, hostid)
        # Code.PLEASE_WAIT says the generation is under way: the request was accepted too.
        if result.result_code not in (Code.SUCCESS, Code.PLEASE_WAIT):
            raise rejected(Op.CREATE, result)

    async def poll(self, activation_key: str, hostid: str) -> PollResult:
        """GetLicense: 0 with the license text is READY, 1 is PENDING (else the REST queue)."""
        result = await self._get_license(activation_key, hostid)
        if not isinstance(result, SoapResult):
            return await result.poll(activation_key, hostid)
        if result.result_code == Code.PLEASE_WAIT:
            return PollResult(PollState.PENDING)
        return PollResult(PollState.READY, self._issued(result))

    async def fetch(self, activation_key: str, hostid: str) -> IssuedLicense | None:
        """GetLicense: the license, or None when LAC holds none for this host (yet)."""
        result = await self._get_license(activation_key, hostid)
        if not isinstance(result, SoapResult):
            return await result.fetch(activation_key, hostid)
        if result.result_code in NO_LICENSE:
            return None
        return self._issued(result)

    def _issued(self, result: SoapResult) -> IssuedLicense:
        if result.result_code != Code.SUCCESS:
            raise rejected(Op.GET_LICENSE, result)
        if not result.result_string:
            # Success without the file is a broken answer, not a refusal: ask again later.
            raise LacUnavailable(
                Code.SOAP_COMM_ERROR,
                "license text missing",
                operation=SOAP_OPS[Op.GET_LICENSE].name,
            )
        return parse_license(result.result_string)

    async def deactivate(self, activation_key: str, hostid: str) -> None:
        """DeactivateLicense: code 0 (result_string nil or SUCCESS)."""
        result = await self._call(Op.DEACTIVATE, activation_key, hostid)
        if result.result_code != Code.SUCCESS:
            raise rejected(Op.DEACTIVATE, result)

    async def removal_requested(self, activation_key: str, hostid: str) -> bool:
        """LicenseRemovalRequested; both documented encodings of "no" are accepted (s3.4)."""
        result = await self._call(Op.REMOVAL_REQUESTED, activation_key, hostid)
        text = (result.result_string or "").strip().upper()
        if result.result_code == Code.LICENSE_REMOVAL_NOT_REQUESTED or text == REMOVAL_NO:
            return False
        if (
            result.result_code == Code.LICENSE_GENERATION_WAS_NOT_REQUESTED
            or text == REMOVAL_NEVER_GENERATED
        ):
            never = SoapResult(Code.LICENSE_GENERATION_WAS_NOT_REQUESTED, REMOVAL_NEVER_GENERATED)
            raise rejected(Op.REMOVAL_REQUESTED, never)
        if result.result_code != Code.SUCCESS:
            raise rejected(Op.REMOVAL_REQUESTED, result)
        return text == REMOVAL_YES

    async def removal_confirm(self, activation_key: str, hostid: str) -> None:
        """LicenseRemovalConfirm: code 0."""
        result = await self._call(Op.REMOVAL_CONFIRM, activation_key, hostid)
        if result.result_code != Code.SUCCESS:
            raise rejected(Op.REMOVAL_CONFIRM, result)
