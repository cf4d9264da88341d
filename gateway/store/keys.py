"""Every Redis key and channel name of the gateway, and the TTLs the store gives them.

Key layout (``P`` is the configured prefix; the part in braces is the Redis Cluster hash tag, so
keys that one command or script touches together live in one slot)::

    P:{<aid>}:license          string  cached license JSON        fresh TTL + stale window
    P:{<aid>}:negative         string  LAC rejection (code, text)  cache.negative_ttl
    P:{<aid>}:outcome          channel job outcome for waiters (pub/sub)
    P:{<aid>}:activator        string  name of the API key whose   until the license expires
                                       request created the license (none: perpetual)
    P:{<aid>}:revalidation     string  one replica at a time asks  REVALIDATION_LOCK_TTL
                                       LAC about a cached license
    P:{licenses}:changed       channel aid of a license changed or removed (near caches)
    P:{order.<sha>}:order      string  order summary JSON          cache.order_ttl
    P:{vendor}:token           string  LAC vendor login token      caller's ttl
    P:{vendor}:token-lock      string  coalesces token refreshes   caller's ttl
    P:{jobs}:due               zset    job id -> next poll time (or lease end while claimed)
    P:{jobs}:job:<aid>         hash    one pending generation      deadline span + JOB_RETENTION
    P:{idem.<sha>}:idempotency hash    one Idempotency-Key record  lock TTL, then idempotency_ttl
    P:{rate.<sha>}:rate        string  requests in the current window of one caller or IP
                                                                   limits.window
    P:{audit}:events           stream  audit trail of activations, deactivations, removals
                                                                   trimmed to audit.max_events
    P:{health}:write-probe     string  written by /readyz to learn whether Redis takes writes
                                                                   WRITE_PROBE_TTL
    P:{lac}:pause              string  Unix ms before which no replica calls LAC (a 429 or
                                       503 with Retry-After)       expires at that time
    P:{webhooks}:outbox        stream  webhook events not yet turned into deliveries (consumer
                                       group ``deliveries``)       trimmed to OUTBOX_MAX_EVENTS
    P:{webhooks}:delivery:<id> hash    one delivery of one event to one endpoint
                                                                   webhooks.retention once ended
    P:{webhooks}:due:<ep>      zset    delivery id -> next attempt (or lease end while claimed)
    P:{webhooks}:inflight:<ep> zset    delivery id -> lease end of attempts in flight (the cap)
    P:{webhooks}:<status>:<ep> zset    delivery ids by creation (status pending, delivered,
                                       failed), for the admin listing
    P:{webhooks}:endpoint:<ep> hash    an endpoint's failing run: failing_since, paused, probe_at
    P:{webhooks}:quota         string  ok or low: the last activations-left reading vs threshold

Activation keys, idempotency keys and rate-limit scopes appear in key names only as SHA-256
digests.
"""

from __future__ import annotations

import hashlib

IDEMPOTENCY_LOCK_TTL = 120.0  # an in-progress record outlives no crashed request by more
JOB_RETENTION = 24 * 3600.0  # a job hash outlives its deadline by this much, then expires
WRITE_PROBE_TTL = 10.0  # seconds; the probe key is one small string, rewritten by each probe
LAC_PAUSE_FRESH_FOR = 0.25  # seconds a replica trusts its last read of the LAC pause
# Seconds one replica owns a cached license's revalidation; never released, so a failed
# revalidation is tried again (by whichever replica reads the license next) only after it.
REVALIDATION_LOCK_TTL = 60.0
# A safety net only: the outbox is emptied as its events become deliveries, so it reaches this
# only when no replica has read it for a very long time.
OUTBOX_MAX_EVENTS = 1_000_000
OUTBOX_GROUP = "deliveries"


def _digest(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


class Keys:
    """Builds (and parses) every key and channel name; the one place the layout is spelled out."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.due = f"{prefix}:{{jobs}}:due"
        self.job_prefix = f"{prefix}:{{jobs}}:job:"
        self.token = f"{prefix}:{{vendor}}:token"
        self.token_lock = f"{prefix}:{{vendor}}:token-lock"
        self.licenses_changed = f"{prefix}:{{licenses}}:changed"
        self.write_probe = f"{prefix}:{{health}}:write-probe"
        self.lac_pause = f"{prefix}:{{lac}}:pause"
        self.audit = f"{prefix}:{{audit}}:events"
        self.outbox = f"{prefix}:{{webhooks}}:outbox"
        self.delivery_prefix = f"{prefix}:{{webhooks}}:delivery:"
        self.webhook_quota = f"{prefix}:{{webhooks}}:quota"
        # Matches every activation's outcome channel (one pattern subscription per process).
        self.outcome_pattern = f"{prefix}:{{*}}:outcome"

    def license(self, aid: str) -> str:
        """The cached license of an activation."""
        return f"{self.prefix}:{{{aid}}}:license"

    def negative(self, aid: str) -> str:
        """The cached LAC rejection of an activation."""
        return f"{self.prefix}:{{{aid}}}:negative"

    def revalidation(self, aid: str) -> str:
        """The single-flight lock of a cached license's revalidation at LAC."""
        return f"{self.prefix}:{{{aid}}}:revalidation"

    def outcome(self, aid: str) -> str:
        """The pub/sub channel announcing an activation's outcome."""
        return f"{self.prefix}:{{{aid}}}:outcome"

    def outcome_aid(self, channel: bytes | str) -> str | None:
        """The activation id of an ``outcome`` channel name; None for any other name."""
        name = channel.decode(errors="replace") if isinstance(channel, bytes) else channel
        head, tail = f"{self.prefix}:{{", "}:outcome"
        if not (name.startswith(head) and name.endswith(tail)):
            return None
        aid = name[len(head) : -len(tail)]
        return aid or None

    def job(self, aid: str) -> str:
        """The hash of an activation's pending job."""
        return self.job_prefix + aid

    def activator(self, aid: str) -> str:
        """The name of the API key that activated a pair (outlives its cached license)."""
        return f"{self.prefix}:{{{aid}}}:activator"

    def delivery(self, did: str) -> str:
        """The hash of one webhook delivery."""
        return self.delivery_prefix + did

    def webhook_due(self, endpoint: str) -> str:
        """The schedule of one webhook endpoint's deliveries."""
        return f"{self.prefix}:{{webhooks}}:due:{endpoint}"

    def webhook_inflight(self, endpoint: str) -> str:
        """One webhook endpoint's attempts in flight on every replica."""
        return f"{self.prefix}:{{webhooks}}:inflight:{endpoint}"

    def webhook_index(self, endpoint: str, status: str) -> str:
        """One endpoint's deliveries in one status, by creation."""
        return f"{self.prefix}:{{webhooks}}:{status}:{endpoint}"

    def webhook_endpoint(self, endpoint: str) -> str:
        """The failure record of one webhook endpoint."""
        return f"{self.prefix}:{{webhooks}}:endpoint:{endpoint}"

    def order(self, activation_key: str) -> str:
        """The cached summary of an order."""
        return f"{self.prefix}:{{order.{_digest(activation_key)}}}:order"

    def idempotency(self, scope: str, key: str) -> str:
        """The record of one Idempotency-Key within a caller's scope."""
        return f"{self.prefix}:{{idem.{_digest(scope, key)}}}:idempotency"

    def rate(self, scope: str) -> str:
        """The request counter of one rate-limit scope (an API key's name or a client IP)."""
        return f"{self.prefix}:{{rate.{_digest(scope)}}}:rate"
