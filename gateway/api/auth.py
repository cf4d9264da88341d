"""Caller API keys: loaded from settings and the keys file, checked by their SHA-256."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path

import structlog
from pydantic import TypeAdapter, ValidationError

from gateway.settings import DEFAULT_SCOPES, ApiKey, AuthSettings, Scope

_KEY_LIST = TypeAdapter(list[ApiKey])

log = structlog.get_logger("gateway.api")


@dataclass(frozen=True, slots=True)
class Caller:
    """Who made a request, as far as the API key tells, and the scopes its key holds."""

    name: str
    scopes: frozenset[Scope] = frozenset(DEFAULT_SCOPES)

    @property
    def admin(self) -> bool:
        """Whether the key holds the ``admin`` scope (and so every other)."""
        return "admin" in self.scopes

    @property
    def may_deactivate_any(self) -> bool:
        """Whether the key may deactivate pairs that another key activated."""
        return "deactivate_any" in self.scopes

    def allows(self, scope: Scope) -> bool:
        """Whether the key holds ``scope``."""
        return scope in self.scopes


KNOWN_TOKENS = 1024  # accepted keys remembered per process: a fleet presents a handful


class KeyRing:
    """Every accepted API key, held only as SHA-256 hex digests.

    A key once accepted is remembered (at most ``KNOWN_TOKENS``, until the keys are replaced),
    so later requests bearing it skip the hash. Only accepted keys are: a caller guessing keys
    learns nothing from the time taken that the answer does not tell, and cannot fill the memory.
    """

    def __init__(self, keys: list[ApiKey]) -> None:
        self._keys = [(key.sha256.encode("ascii"), Caller(key.name, key.granted())) for key in keys]
        self._known: dict[str, Caller] = {}
        defaulted = sorted({key.name for key in keys if key.scopes is None and not key.admin})
        if defaulted:
            # Keys configured before scopes existed lose deactivation: say so once, at start.
            log.warning(
                "api_keys_default_scopes", keys=",".join(defaulted), scopes=",".join(DEFAULT_SCOPES)
            )

    @classmethod
    def from_settings(cls, auth: AuthSettings) -> KeyRing:
        """The keys of the settings plus those of ``auth.api_keys_file`` if one is named."""
        keys = list(auth.api_keys)
        if auth.api_keys_file is not None:
            keys.extend(load_keys_file(auth.api_keys_file))
        return cls(keys)

    def __len__(self) -> int:
        return len(self._keys)

    def replace(self, keys: list[ApiKey]) -> tuple[int, int]:
        """Accept exactly ``keys`` from now on; returns how many were added and removed."""
        before = {stored for stored, _ in self._keys}
        self._keys = [(key.sha256.encode("ascii"), Caller(key.name, key.granted())) for key in keys]
        self._known = {}
        after = {stored for stored, _ in self._keys}
        return len(after - before), len(before - after)

    def bearer(self, authorization: str | None) -> Caller | None:
        """The caller whose key an ``Authorization: Bearer`` header bears, or None."""
        token = bearer_token(authorization)
        return self.identify(token) if token is not None else None

    def identify(self, token: str) -> Caller | None:
        """The caller whose key is ``token``, or None."""
        known = self._known.get(token)
        if known is not None:
            return known
        digest = hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()
        presented = digest.encode("ascii")
        found: Caller | None = None
        # Every key is compared, match or not, so the time taken does not tell which one matched.
        for stored, caller in self._keys:
            if hmac.compare_digest(presented, stored) and found is None:
                found = caller
        if found is not None:
            if len(self._known) >= KNOWN_TOKENS:
                self._known.clear()
            self._known[token] = found
        return found


def _place(loc: tuple[int | str, ...]) -> str:
    """Where in a keys file a problem is (``[0].sha256: ``); nothing for the file as a whole."""
    place = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc)
    return f"{place}: " if place else ""


def load_keys_file(path: Path) -> list[ApiKey]:
    """Keys from a JSON file shaped like ``auth.api_keys``; raises ValueError when unusable."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        msg = f"{str(path)!r} cannot be read: {exc.strerror}"
        raise ValueError(msg) from exc
    try:
        return _KEY_LIST.validate_json(raw)
    except ValidationError as exc:
        # One line, no input echoed: a file's problems by place (``[0].sha256``).
        found = exc.errors(include_url=False, include_input=False)
        places = "; ".join(_place(error["loc"]) + str(error["msg"]) for error in found)
        raise ValueError(f"{str(path)!r} holds no valid key list ({places})") from None


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token
