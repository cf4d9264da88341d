"""The command line's small tools: a new API key, a new signing key, the version."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from importlib.metadata import PackageNotFoundError, version

API_KEY_BYTES = 32  # 256 bits from the OS's CSPRNG, URL-safe base64: 43 characters


def package_version() -> str:
    """The installed version of lac-gateway (``unknown`` when run from an uninstalled tree)."""
    try:
        return version("lac-gateway")
    except PackageNotFoundError:
        return "unknown"


def new_api_key(name: str, scopes: list[str] | None, *, admin: bool = False) -> str:
    """A new API key, its SHA-256 and the ``LACGW_AUTH__API_KEYS`` entry, as text to print."""
    key = secrets.token_urlsafe(API_KEY_BYTES)
    digest = hashlib.sha256(key.encode()).hexdigest()
    entry: dict[str, object] = {"name": name, "sha256": digest}
    if admin:
        entry["admin"] = True
    elif scopes is not None:
        entry["scopes"] = scopes
    return "\n".join(
        [
            f"API key (give it to the caller; it is not stored anywhere): {key}",
            f"SHA-256 (what the gateway keeps): {digest}",
            "Entry for LACGW_AUTH__API_KEYS or the keys file (a JSON list of such entries):",
            json.dumps(entry),
        ]
    )


def new_signing_key() -> str:
    """A new Ed25519 signing key in the form ``LACGW_SIGNING__PRIVATE_KEY`` takes, as text."""
    # Imported here: the command line starts (and says what is missing) on the standard library.
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (  # noqa: PLC0415
        Ed25519PrivateKey,
    )
    from cryptography.hazmat.primitives.serialization import (  # noqa: PLC0415
        Encoding,
        NoEncryption,
        PrivateFormat,
    )

    seed = Ed25519PrivateKey.generate().private_bytes(
        Encoding.Raw, PrivateFormat.Raw, NoEncryption()
    )
    return f"LACGW_SIGNING__PRIVATE_KEY={base64.b64encode(seed).decode()}"
