"""A self-signed TLS certificate for the compose entry point (the demo; never a committed key).

Run by compose's one-shot ``tls-init`` service (the gateway image has ``cryptography``):
``python3 demo_tls.py DIR [NAME[,NAME...] ...]`` writes ``DIR/cert.pem`` and ``DIR/key.pem`` for the
names (DNS names or IP addresses; default ``localhost`` and ``127.0.0.1``), unless both exist,
so a restart keeps the certificate clients may have pinned. Production puts a real certificate
in their place.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEFAULT_NAMES = ("localhost", "127.0.0.1")
VALID_DAYS = 365


def _alternative_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def create_certificate(names: list[str]) -> tuple[bytes, bytes]:
    """(certificate PEM, private key PEM) of a new self-signed ECDSA P-256 certificate."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))  # clocks a little behind
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName([_alternative_name(n) for n in names]), False)
        # Its own trust anchor: clients are given this very file (curl --cacert).
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def write_certificate(folder: Path, names: list[str]) -> bool:
    """Write ``cert.pem`` and ``key.pem`` into ``folder``; False if both were there already."""
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    if cert_path.is_file() and key_path.is_file():
        return False
    cert_pem, key_pem = create_certificate(names)
    folder.mkdir(parents=True, exist_ok=True)
    # The key is readable by its owner only (nginx's master process reads it as root).
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(key_pem)
    cert_path.write_bytes(cert_pem)
    return True


def main(argv: list[str]) -> int:
    """Command line: ``demo_tls.py DIR [NAME ...]``."""
    if not argv:
        print("usage: demo_tls.py DIR [NAME ...]", file=sys.stderr)
        return 2
    # Names come one per argument or comma-separated in one (compose passes a variable).
    names = [name.strip() for arg in argv[1:] for name in arg.split(",") if name.strip()]
    names = names or list(DEFAULT_NAMES)
    made = write_certificate(Path(argv[0]), names)
    state = "created" if made else "kept the existing"
    print(f"demo_tls: {state} self-signed certificate in {argv[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
