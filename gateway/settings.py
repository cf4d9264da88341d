"""Gateway configuration: environment (prefix ``LACGW_``, nested ``__``), optional TOML file.

Precedence, highest first: constructor arguments, environment, secret files
(``LACGW_SECRETS_DIR``, one file per variable: ``gateway.secretfiles``), the TOML file named by
``LACGW_CONFIG``, defaults. Every section refuses names it does not know. ``Settings()`` is
constructed by ``gateway.configuration.load_settings`` (which reports every problem in one
line each) and in test fixtures.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Annotated, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    IPvAnyNetwork,
    PrivateAttr,
    SecretStr,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from gateway.secretfiles import SecretFilesSource

# The error type of a section check that refuses one of its settings; its context's
# ``setting`` names that field (see gateway.configuration).
SETTING_REFUSED = "setting_refused"

LAC_HOST = "https://license.x-formation.com"
CONFIG_VARIABLE = "LACGW_CONFIG"
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
SECTION = ConfigDict(extra="forbid")  # a misspelt key is an error, not a silent default
Seconds = Annotated[float, Field(gt=0)]


class HttpSettings(BaseModel):
    """The gateway's own HTTP server."""

    model_config = SECTION

    host: str = "0.0.0.0"  # noqa: S104 - a container listens on every interface
    port: int = Field(default=8080, ge=0, le=65535)
    max_body_bytes: int = Field(default=64 * 1024, gt=0, description="request body limit")
    default_wait: float = Field(default=10.0, ge=0, le=300, description="Prefer: wait default")
    max_wait: float = Field(default=60.0, ge=0, le=600, description="longest long-poll allowed")
    shutdown_timeout: Seconds = 20.0
    batch_max: int = Field(default=50, gt=0, le=100, description="items per batch request")
    workers: int = Field(default=1, ge=1, le=64, description="processes sharing the port")
    event_loop: Literal["uvloop", "asyncio"] = Field(
        default="uvloop", description="uvloop (faster), or the standard library's asyncio loop"
    )
    trusted_proxies: Annotated[list[IPvAnyNetwork], NoDecode] = Field(
        default_factory=list,
        description="networks (CIDR) of the reverse proxies in front: only from these TCP peers "
        "are X-Forwarded-For / Forwarded read for the client address (rate limits, logs, "
        'audit), e.g. ["10.0.0.0/8"] or 10.0.0.0/8,192.168.0.0/16; empty: the TCP peer is '
        "the client",
    )

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _network_list(cls, value: object) -> object:
        # From the environment: a JSON list like every other list, or the shorter comma form.
        if not isinstance(value, str):
            return value
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]


HOST_PORT = r"^[^\s:]+:\d{1,5}$"


class RedisSettings(BaseModel):
    """The Redis shared by every replica: one server, a Sentinel-watched master or a Cluster."""

    model_config = SECTION

    mode: Literal["standalone", "sentinel", "cluster"] = Field(
        default="standalone",
        description="standalone: url names the server; sentinel: the master is asked of "
        "`sentinels` by `sentinel_service`, url gives its database and credentials; "
        "cluster: url names one node (db 0), the others are discovered",
    )
    url: SecretStr = SecretStr("redis://127.0.0.1:6379/0")
    sentinels: list[Annotated[str, Field(pattern=HOST_PORT)]] = Field(
        default_factory=list, description='Sentinel addresses, e.g. ["sentinel-0:26379"]'
    )
    sentinel_service: str = Field(
        default="mymaster", min_length=1, description="the master's name at the Sentinels"
    )
    sentinel_password: SecretStr | None = Field(
        default=None, description="password of the Sentinels themselves (not of the master)"
    )
    cluster_nodes: list[Annotated[str, Field(pattern=HOST_PORT)]] = Field(
        default_factory=list,
        description="more Cluster nodes to start from when the url's node is down",
    )
    socket_timeout: Seconds = 2.0
    connect_timeout: Seconds = 2.0
    max_connections: int = Field(default=64, gt=1, description="connection pool size")
    pool_timeout: Seconds = Field(default=5.0, description="wait for a free pooled connection")
    key_prefix: str = Field(default="lacgw", pattern=r"^[A-Za-z0-9_.-]{1,32}$")

    @field_validator("url")
    @classmethod
    def _redis_url(cls, value: SecretStr) -> SecretStr:
        # The URL may carry a password: the message never repeats it.
        if not value.get_secret_value().startswith(REDIS_SCHEMES):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @model_validator(mode="after")
    def _sentinels_named(self) -> RedisSettings:
        if self.mode == "sentinel" and not self.sentinels:
            raise ValueError("redis.mode is sentinel but redis.sentinels is empty")
        return self


class LacSettings(BaseModel):
    """How to reach LAC (or the sandbox)."""

    model_config = SECTION

    transport: Literal["soap", "rest"] = "soap"
    soap_url: str = f"{LAC_HOST}/soap/type/enduser/version/2"
    vendor_soap_url: str = f"{LAC_HOST}/soap/type/vendor/version/4"
    rest_url: str = f"{LAC_HOST}/rest/v2"
    username: str = ""
    password: SecretStr = SecretStr("")
    connect_timeout: Seconds = 5.0
    read_timeout: Seconds = 20.0
    total_timeout: Seconds = 30.0
    max_concurrency: int = Field(default=32, gt=0)
    verify_tls: bool = True
    ca_bundle: Path | None = None
    allow_plain_http: bool = Field(
        default=False, description="permit http:// LAC URLs (the sandbox and demo set this)"
    )
    token_ttl: Seconds = Field(default=3 * 3600.0, description="LAC vendor token lifetime")
    token_refresh_margin: Seconds = 600.0
    wsdl_source: Literal["shipped", "live", "auto"] = Field(
        default="auto",
        description="where the SOAP WSDLs come from: the package (shipped), <endpoint>?wsdl at "
        "start (live, refuses to start without it), or live falling back to shipped (auto)",
    )
    rest_fallback: bool = Field(
        default=True,
        description="poll licenses through end-user REST v2's license queue when SOAP lacks "
        "GetLicense or refuses it with a Client fault",
    )
    counters_interval: Seconds = Field(
        default=900.0,
        description="how often the activation counters are read for "
        "lacgw_lac_activations_left (only with vendor credentials)",
    )

    @field_validator("ca_bundle")
    @classmethod
    def _readable_ca_bundle(cls, value: Path | None) -> Path | None:
        if value is not None:
            try:
                value.read_bytes()
            except OSError as exc:
                raise ValueError(
                    f"CA bundle {str(value)!r} cannot be read ({exc.strerror})"
                ) from None
        return value

    @model_validator(mode="after")
    def _no_plain_http(self) -> LacSettings:
        if self.allow_plain_http:
            return self
        for name in ("soap_url", "vendor_soap_url", "rest_url"):
            if getattr(self, name).startswith("http://"):
                # ``setting`` lets the configuration loader name the URL as the operator set
                # it (variable, secret file or TOML key), not the section this check runs on.
                raise PydanticCustomError(
                    SETTING_REFUSED,
                    "{setting} is plain http://; set LACGW_LAC__ALLOW_PLAIN_HTTP=true to allow it",
                    {"setting": name},
                )
        return self


class ResilienceSettings(BaseModel):
    """Retries, retry budget and circuit breaker around every end-user LAC call."""

    model_config = SECTION

    enabled: bool = Field(default=True, description="wrap LAC calls in retries and the breaker")
    attempts: int = Field(default=3, ge=1, le=10, description="tries per LAC call, first included")
    base_delay: Seconds = Field(default=0.2, description="first retry backoff ceiling")
    max_delay: Seconds = Field(default=2.0, description="largest retry backoff ceiling")
    budget_ratio: float = Field(
        default=0.2, ge=0, le=1, description="retries earned per LAC call made (0.2 = +20 % load)"
    )
    budget_burst: float = Field(default=10.0, ge=0, description="retries available at start")
    breaker_failures: int = Field(
        default=5, ge=1, description="consecutive failed calls that open the breaker"
    )
    breaker_cooldown: Seconds = Field(
        default=10.0, description="seconds the open breaker fails fast before one probe"
    )


class JobSettings(BaseModel):
    """Polling of pending generations (LAC_PLEASE_WAIT)."""

    model_config = SECTION

    first_poll: Seconds = 2.0
    backoff_factor: float = Field(default=2.0, ge=1.0)
    max_interval: Seconds = 30.0
    jitter: float = Field(default=0.1, ge=0, le=1, description="fraction of the interval")
    deadline: Seconds = 15 * 60.0
    lease: Seconds = Field(
        default=30.0,
        description="how long a claimed job is its holder's; renewed every third of it while "
        "the holder works",
    )
    reconcile_window: Seconds = Field(
        default=300.0,
        description="after a create was sent, how long LAC's 'never requested' is not taken "
        "as proof: the job keeps polling, and creates again only after this (longer than any "
        "create can take)",
    )
    poll_tick: Seconds = Field(
        default=0.5,
        description="longest sleep of a poller between looks for due jobs "
        "(it wakes when the next one is due)",
    )
    batch: int = Field(
        default=256,
        gt=0,
        description="most jobs a poller handles at once (their LAC calls share "
        "lac.max_concurrency with the requests'; a smaller hand falls behind while requests "
        "keep the process busy)",
    )


class CacheSettings(BaseModel):
    """Redis caches."""

    model_config = SECTION

    license_ttl: Seconds = 7 * 24 * 3600.0
    negative_ttl: Seconds = 60.0
    order_ttl: Seconds = 60.0
    idempotency_ttl: Seconds = 24 * 3600.0
    stale_window: Seconds = Field(
        default=3 * 24 * 3600.0,
        description="how long past license_ttl a cached license is still served while LAC fails",
    )
    revalidate_after: Seconds = Field(
        default=24 * 3600.0,
        description="a cached license read after this age is served at once and checked "
        "again at LAC in the background (GetLicense or the REST license read, never a create); "
        "one LAC no longer has is dropped",
    )
    near_ttl: Seconds = Field(
        default=5.0,
        description="each process keeps licenses it read from Redis this long (0: off); "
        "changes reach every replica at once over pub/sub, this bounds a missed message",
    )
    near_max_entries: int = Field(
        default=10_000, ge=0, description="licenses one process keeps in its near cache"
    )


Scope = Literal["activate", "read", "deactivate", "deactivate_any", "admin"]
DEFAULT_SCOPES: tuple[Scope, ...] = ("activate", "read")
"""What a key configured without ``scopes`` may do: a fleet key ships inside products, so by
default it cannot withdraw anyone's license (README, "API keys and scopes")."""


class ApiKey(BaseModel):
    """One caller's API key, stored as the SHA-256 hex of the key, and what it may do."""

    # A misspelt field ("scope") would otherwise be dropped silently and leave the defaults.
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$")
    admin: bool = False
    scopes: list[Scope] | None = None

    def granted(self) -> frozenset[Scope]:
        """Every scope the key holds: ``admin`` holds all, ``deactivate_any`` ``deactivate``."""
        named = set(DEFAULT_SCOPES if self.scopes is None else self.scopes)
        if self.admin or "admin" in named:
            return frozenset(get_args(Scope))
        if "deactivate_any" in named:
            named.add("deactivate")
        return frozenset(named)

    @field_validator("sha256")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()


class AuthSettings(BaseModel):
    """Caller authentication."""

    model_config = SECTION

    api_keys: list[ApiKey] = Field(default_factory=list)
    api_keys_file: Path | None = Field(
        default=None, description="JSON file with more keys, same shape as api_keys"
    )
    reload_interval: float = Field(
        default=5.0,
        ge=0,
        description="how often each process checks the keys file's modification time and "
        "reloads it when changed (0: only on SIGHUP)",
    )


class LimitSettings(BaseModel):
    """Per-caller rate limits (shared by replicas through Redis) and request shape limits."""

    model_config = SECTION

    enabled: bool = Field(default=True, description="answer 429 over the rate limits")
    window: Seconds = Field(default=60.0, description="length of one rate-limit window")
    per_key: int = Field(default=3000, gt=0, description="requests per window per API key")
    per_ip: int = Field(
        default=300, gt=0, description="requests per window per client IP without an API key"
    )
    sync_interval: float = Field(
        default=0.1,
        ge=0,
        description="far from a limit, each process adds its counts in Redis this often "
        "(0: every request); within a tenth of it, every request is counted in Redis",
    )
    max_path_chars: int = Field(
        default=2048,
        ge=64,
        description="longest request target (path and query), else 414; also the limit of "
        "aiohttp's request-line parser",
    )
    max_header_bytes: int = Field(
        default=16384,
        ge=1024,
        description="largest sum of header names and values, else 431; also bounds one header "
        "and the number of headers in aiohttp's parser",
    )


class SigningSettings(BaseModel):
    """Ed25519 signatures on every answer that carries a license."""

    model_config = SECTION

    private_key: SecretStr | None = Field(
        default=None,
        description="Ed25519 private key, PEM (PKCS#8) or base64 of the 32-byte seed; "
        "unset: a key is generated at start (one per process, so set it for replicas)",
    )
    reuse_seconds: float = Field(
        default=10.0,
        ge=0,
        le=300,
        description="an identical answer reuses its signature (and its t) this long; 0: never",
    )


class AuditSettings(BaseModel):
    """The audit trail of activations, deactivations and removals (a Redis stream)."""

    model_config = SECTION

    enabled: bool = Field(default=True, description="record audit events")
    max_events: int = Field(
        default=100_000, ge=100, description="the stream is trimmed to about this many events"
    )


WEBHOOK_EVENTS = (
    "activation.issued",
    "activation.failed",
    "activation.expired",
    "license.deactivated",
    "license.removal_confirmed",
    "lac.quota_low",
)
WebhookEvent = Literal[
    "activation.issued",
    "activation.failed",
    "activation.expired",
    "license.deactivated",
    "license.removal_confirmed",
    "lac.quota_low",
]
_WHSEC = re.compile(r"whsec_(?:[A-Za-z0-9+/]{4}){4,}(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")
DEFAULT_RETRY_SCHEDULE = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)


class WebhookEndpoint(BaseModel):
    """One receiver of webhooks: where, the signing secret, which events."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$", description="in metrics and logs")
    url: str = Field(min_length=8, max_length=2048)
    secret: SecretStr | None = Field(default=None, description="whsec_<base64>")
    secret_file: Path | None = Field(default=None, description="a file holding the secret")
    events: list[WebhookEvent] | None = Field(default=None, description="unset: every event")
    include_license: bool = Field(default=False, description="send the license text too")

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an https:// URL")
        return value

    @model_validator(mode="after")
    def _secret_readable(self) -> WebhookEndpoint:
        try:
            secret = self.signing_secret()
        except OSError as exc:
            raise ValueError(
                f"webhook endpoint {self.name!r}: secret_file cannot be read ({exc.strerror})"
            ) from None
        if not _WHSEC.fullmatch(secret):
            # The message never repeats the secret.
            raise ValueError(f"webhook endpoint {self.name!r}: secret must be whsec_<base64>")
        return self

    def signing_secret(self) -> str:
        """The secret (``whsec_<base64>``), read from ``secret_file`` when one is named."""
        if self.secret_file is not None:
            return self.secret_file.read_text(encoding="utf-8").strip()
        return "" if self.secret is None else self.secret.get_secret_value()

    def wants(self, event: str) -> bool:
        """Whether this endpoint subscribes to ``event``."""
        return self.events is None or event in self.events


class WebhookSettings(BaseModel):
    """Signed event notifications to the vendor's systems (Standard Webhooks)."""

    model_config = SECTION

    endpoints: list[WebhookEndpoint] = Field(
        default_factory=list, description='JSON list of {"name", "url", "secret", "events"}'
    )
    endpoints_file: Path | None = Field(
        default=None, description="JSON file with more endpoints, same shape as endpoints"
    )
    allow_plain_http: bool = Field(
        default=False, description="permit http:// endpoint URLs (tests and local receivers)"
    )
    retry_schedule: list[Annotated[float, Field(ge=0)]] = Field(
        default_factory=lambda: list(DEFAULT_RETRY_SCHEDULE),
        max_length=100,
        description="seconds before each retry of a failed delivery (jittered); after the "
        "last, the delivery is dead-lettered",
    )
    jitter: float = Field(default=0.2, ge=0, le=1, description="fraction of each retry delay")
    timeout: Seconds = Field(default=15.0, description="one delivery attempt, connect to body")
    concurrency: int = Field(default=4, ge=1, le=64, description="attempts in flight per endpoint")
    lease: Seconds = Field(
        default=60.0, description="a claimed delivery is due again after this (replica died)"
    )
    pause_after: Seconds = Field(
        default=24 * 3600.0, description="an endpoint failing every attempt this long is paused"
    )
    probe_interval: Seconds = Field(
        default=300.0, description="a paused endpoint gets one probe delivery this often"
    )
    poll_tick: Seconds = Field(default=0.5, description="longest sleep between looks for work")
    retention: Seconds = Field(
        default=7 * 24 * 3600.0, description="delivered and dead-lettered deliveries kept"
    )
    quota_low_threshold: int = Field(
        default=100,
        ge=0,
        description="lac.quota_low when activations left fall below this (the alert's value)",
    )
    _from_file: list[WebhookEndpoint] = PrivateAttr(default_factory=list)

    @model_validator(mode="after")
    def _checked(self) -> WebhookSettings:
        if self.endpoints_file is not None:
            self._from_file = _endpoints_file(self.endpoints_file)
        names: set[str] = set()
        for endpoint in self.all_endpoints():
            if endpoint.url.startswith("http://") and not self.allow_plain_http:
                raise ValueError(
                    f"webhook endpoint {endpoint.name!r} is plain http://; https:// is required "
                    "unless LACGW_WEBHOOKS__ALLOW_PLAIN_HTTP=true"
                )
            if endpoint.name in names:
                raise ValueError(f"webhook endpoint name {endpoint.name!r} is used twice")
            names.add(endpoint.name)
        return self

    def all_endpoints(self) -> list[WebhookEndpoint]:
        """The endpoints of the settings, then those of ``endpoints_file``."""
        return [*self.endpoints, *self._from_file]


def _endpoints_file(path: Path) -> list[WebhookEndpoint]:
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"webhook endpoints file cannot be read ({exc.strerror})") from None
    try:
        return TypeAdapter(list[WebhookEndpoint]).validate_json(raw)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        raise ValueError(f"webhook endpoints file, entry {where}: {message}") from None


class LogSettings(BaseModel):
    """Logging."""

    model_config = SECTION

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["auto", "json", "console"] = "auto"
    access_log: bool = True


class Settings(BaseSettings):
    """Everything the gateway can be told."""

    model_config = SettingsConfigDict(
        env_prefix="LACGW_",
        env_nested_delimiter="__",
        extra="forbid",
    )

    http: HttpSettings = Field(default_factory=HttpSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    lac: LacSettings = Field(default_factory=LacSettings)
    resilience: ResilienceSettings = Field(default_factory=ResilienceSettings)
    jobs: JobSettings = Field(default_factory=JobSettings)
    cache: CacheSettings = Field(default_factory=CacheSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    signing: SigningSettings = Field(default_factory=SigningSettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    webhooks: WebhookSettings = Field(default_factory=WebhookSettings)
    log: LogSettings = Field(default_factory=LogSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources = [init_settings, env_settings, SecretFilesSource(settings_cls)]
        config_file = os.environ.get(CONFIG_VARIABLE)
        if config_file:
            if not Path(config_file).is_file():
                msg = f"{CONFIG_VARIABLE} names {config_file!r}, which is not a readable file"
                raise ValueError(msg)
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_file))
        return tuple(sources)
