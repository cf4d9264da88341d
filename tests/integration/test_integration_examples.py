"""The product-side snippets of docs/integration.md work against a running gateway.

``docs/examples/activate.py`` and ``docs/examples/activate.c`` (compiled here with the system
``cc`` and libcurl) each run the activation loop against a gateway in front of the sandbox: an
order whose license takes two seconds, asked with no wait, so they must follow 202, Location
and Retry-After, long-poll, verify the signature and store the file.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path

import pytest

from gateway.api.reference.base import PENDING_KEY
from tests.gwharness import FLEET_KEY, Running

pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
HEADERS_PROBE = b"#include <curl/curl.h>\n#include <openssl/evp.h>\nint main(void){return 0;}\n"
RUN_TIMEOUT = 120.0


async def run(*argv: str | Path) -> tuple[int, str]:
    """Run a program without blocking the gateway's event loop; (exit status, output)."""
    proc = await asyncio.create_subprocess_exec(
        *map(str, argv), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(proc.communicate(), RUN_TIMEOUT)
    assert proc.returncode is not None
    return proc.returncode, out.decode(errors="replace")


async def issued_license(running: Running, host: str) -> str:
    """The license the gateway holds for the pending order and ``host``."""
    reply = await running.call("GET", f"/v1/licenses/{PENDING_KEY}?hostid={host}")
    assert reply.status == 200, reply.body
    content: str = reply.json()["license"]["content"]
    return content


async def test_python_example_follows_202_long_polls_verifies_and_stores(
    running: Running, tmp_path: Path
) -> None:
    out = tmp_path / "license.lic"
    code, output = await run(
        sys.executable, EXAMPLES / "activate.py", "--gateway", running.gateway,
        "--api-key", FLEET_KEY, "--activation-key", PENDING_KEY,
        "--hostid", "HOSTNAME=py-example", "--out", out, "--wait", "0",
    )  # fmt: skip
    assert code == 0, output
    assert "pending: long-polling /v1/activations/act_" in output
    assert "signature verified" in output
    assert "next check after" in output
    assert out.read_text(encoding="utf-8") == await issued_license(running, "HOSTNAME=py-example")
    assert await running.creates() == 1


async def compile_c_example(tmp_path: Path) -> Path:
    """docs/examples/activate.c built with cc, libcurl and libcrypto (skip without headers)."""
    cc = shutil.which("cc")
    if cc is None:
        pytest.skip("no C compiler (cc) on this machine")
    probe = tmp_path / "probe.c"
    probe.write_bytes(HEADERS_PROBE)
    code, output = await run(cc, "-fsyntax-only", probe)
    if code != 0:
        pytest.skip(
            "curl/curl.h or openssl/evp.h missing: apt-get install libcurl4-openssl-dev "
            f"libssl-dev ({output.strip()[:200]})"
        )
    binary = tmp_path / "activate"
    code, output = await run(
        cc, "-O2", "-Wall", "-Wextra", "-Werror", "-o", binary, EXAMPLES / "activate.c",
        "-lcurl", "-lcrypto",
    )  # fmt: skip
    assert code == 0, output
    return binary


async def public_key_x(running: Running) -> str:
    """The ``x`` of the gateway's signing key (a product ships it)."""
    reply = await running.call("GET", "/.well-known/lac-gateway-signing-key", key=None)
    x: str = reply.json()["keys"][0]["x"]
    return x


async def test_c_example_follows_202_long_polls_verifies_and_stores(
    running: Running, tmp_path: Path
) -> None:
    binary = await compile_c_example(tmp_path)
    out = tmp_path / "license.lic"
    code, output = await run(
        binary, running.gateway, FLEET_KEY, PENDING_KEY, "HOSTNAME=c-example", out,
        await public_key_x(running), "0",
    )  # fmt: skip
    assert code == 0, output
    assert "pending: long-polling /v1/activations/act_" in output
    assert "signature verified" in output
    assert "next check" in output
    assert out.read_text(encoding="utf-8") == await issued_license(running, "HOSTNAME=c-example")
    assert await running.creates() == 1


async def test_c_example_refuses_a_license_signed_by_another_key(
    running: Running, tmp_path: Path
) -> None:
    binary = await compile_c_example(tmp_path)
    out = tmp_path / "license.lic"
    other_key = "6-PcJWt5unoSuyO6RbKV7-rviLVft7uY0r34BjdAg4c"
    assert other_key != await public_key_x(running)
    code, output = await run(
        binary, running.gateway, FLEET_KEY, "SNGLE-HOST1-DEMO0-00001", "HOSTNAME=c-forged",
        out, other_key,
    )  # fmt: skip
    assert code == 1, output
    assert "signature does not verify" in output
    assert not out.exists()
