"""How the gateway polls LAC for a generated license, and what ``/readyz`` says about it.

``GetLicense`` is inferred (lac-api.md section 3.2). When the WSDL lacks it, or LAC answers it
with a ``Client`` fault, the SOAP adapter polls through end-user REST v2's license queue, which
is documented and names the same (activation key, HostIDs) pair, if ``lac.rest_fallback`` is on.
Without that fallback the gateway could never complete an activation and is not ready.
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from gateway.lac.soap_ops import SOAP_OPS, Op
from gateway.lac.wsdlcheck import Mismatch

log = structlog.get_logger(__name__)
GET_LICENSE = SOAP_OPS[Op.GET_LICENSE].name
CREATE = SOAP_OPS[Op.CREATE].name
SOAP_POLL = "soap GetLicense"
REST_POLL = "rest license-queue"
OK, DEGRADED, UNREADY = "ok", "degraded", "unready"
INSTEAD_REST = "licenses are polled through end-user REST v2's license queue instead"
INSTEAD_NONE = (
    "no fallback (LACGW_LAC__REST_FALLBACK=false): activations could never complete, "
    "so the gateway is not ready"
)
INSTEAD_OTHER = "calls to it answer 502 until soap_ops.py or LAC is fixed"


class LacRoute:
    """Which call polls licenses (SOAP GetLicense or the REST fallback) and why."""

    def __init__(
        self,
        transport: str,
        *,
        fallback: bool,
        mismatches: Sequence[Mismatch] = (),
        wsdl_source: str = "shipped",
    ) -> None:
        self.transport = transport
        self.fallback = fallback
        self.wsdl_source = wsdl_source
        self._mismatches = list(mismatches)
        missing = {m.operation for m in mismatches if m.missing}
        soap = transport == "soap"
        self._soap_poll = not (soap and GET_LICENSE in missing)
        self._no_create = soap and CREATE in missing
        self._refusal: str | None = None
        if not self._soap_poll:
            log.warning("lac_polling_route", missing=GET_LICENSE, instead=self.polling)

    @property
    def polls_by_soap(self) -> bool:
        """Whether GetLicense is (still) the call that polls licenses."""
        return self._soap_poll

    @property
    def polling(self) -> str:
        """``soap GetLicense``, ``rest license-queue`` or ``none``."""
        if self.transport != "soap":
            return REST_POLL
        if self._soap_poll:
            return SOAP_POLL
        return REST_POLL if self.fallback else "none"

    def refuse_get_license(self, faultcode: str) -> bool:
        """LAC refused GetLicense with a Client fault: stop calling it; True if REST takes over."""
        if self._soap_poll:
            self._soap_poll = False
            self._refusal = f"{GET_LICENSE}: LAC answers it with a SOAP {faultcode} fault"
            log.warning("lac_polling_route", refused=GET_LICENSE, instead=self.polling)
        return self.fallback

    def _reasons(self) -> list[str]:
        reasons: list[str] = []
        for mismatch in self._mismatches:
            if mismatch.operation == GET_LICENSE and self.transport == "soap":
                instead = INSTEAD_REST if self.fallback else INSTEAD_NONE
            elif mismatch.operation == CREATE and self.transport == "soap":
                instead = "activations cannot be requested, so the gateway is not ready"
            else:
                instead = INSTEAD_OTHER
            reasons.append(f"{mismatch.message} ({instead})")
        if self._refusal is not None:
            reasons.append(f"{self._refusal} ({INSTEAD_REST if self.fallback else INSTEAD_NONE})")
        return reasons

    def status(self) -> str:
        """``ok``, ``degraded`` (working around something) or ``unready`` (cannot activate)."""
        if self._no_create or self.polling == "none":
            return UNREADY
        return DEGRADED if self._mismatches or self._refusal else OK

    def report(self) -> dict[str, object]:
        """What ``/readyz`` shows: status, WSDL source, the polling call, and every reason."""
        report: dict[str, object] = {
            "status": self.status(),
            "wsdl": self.wsdl_source,
            "polling": self.polling,
        }
        reasons = self._reasons()
        if reasons:
            report["reasons"] = reasons
        return report

    def unready_reason(self) -> str | None:
        """One line saying why the gateway cannot complete activations; None if it can."""
        if self.status() != UNREADY:
            return None
        return "; ".join(r for r in self._reasons() if "not ready" in r) or "LAC cannot activate"
