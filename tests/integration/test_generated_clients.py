"""Clients generated from /openapi.json work: openapi-python-client and openapi-typescript.

The Python client is generated from a running gateway's document, imported, and drives that
gateway in front of the sandbox: an activation, a pending one followed by a long-poll, and a
deactivation. The TypeScript types come from openapi-typescript, installed with npm into the
repository's ``.cache/``; every example of the document is type-checked against them.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from gateway.api.reference.base import DEACT_KEY, PENDING_KEY, SINGLE_KEY
from tests.gwharness import FLEET_KEY, Running

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
NPM_CACHE = ROOT / ".cache" / "openapi-typescript"
NPM_PACKAGES = ("openapi-typescript@7.13.0", "typescript@5.9.3")
CLIENT = "lacgw_client"
TOOL_TIMEOUT = 300.0


async def run(*argv: str | Path, cwd: Path | None = None) -> str:
    """Run a tool without blocking the event loop the gateway runs on; its output, or fail."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    proc = await asyncio.create_subprocess_exec(
        *map(str, argv),
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), TOOL_TIMEOUT)
    text = out.decode(errors="replace")
    assert proc.returncode == 0, text[-4000:]
    return text


async def save_document(running: Running, folder: Path) -> Path:
    """The gateway's /openapi.json, written to ``folder``."""
    reply = await running.call("GET", "/openapi.json", key=None)
    assert reply.status == 200
    path = folder / "openapi.json"
    path.write_bytes(reply.body)
    return path


def import_client(folder: Path) -> ModuleType:
    """The generated package, imported from ``folder``."""
    sys.path.insert(0, str(folder))
    try:
        return importlib.import_module(CLIENT)
    finally:
        sys.path.remove(str(folder))


@pytest.fixture
def forget_client() -> Iterator[None]:
    """Drop the generated package from sys.modules after the test."""
    yield
    for name in [n for n in sys.modules if n == CLIENT or n.startswith(f"{CLIENT}.")]:
        del sys.modules[name]


async def generate_python_client(running: Running, tmp_path: Path) -> ModuleType:
    """openapi-python-client on the running gateway's document; the package it made."""
    document = await save_document(running, tmp_path)
    tool = Path(sys.executable).parent / "openapi-python-client"
    out = await run(
        tool, "generate", "--path", document, "--output-path", tmp_path / CLIENT, "--meta", "none"
    )
    assert "Warning" not in out, out
    models = {p.stem for p in (tmp_path / CLIENT / "models").glob("*.py")}
    assert {"activation_source", "activation_state", "activation_response", "problem"} <= models
    assert not [name for name in models if "type_" in name or "response_200" in name], models
    return import_client(tmp_path)


@pytest.mark.usefixtures("forget_client")
async def test_generated_python_client_activates_long_polls_and_deactivates(
    running: Running, tmp_path: Path
) -> None:
    client_pkg = await generate_python_client(running, tmp_path)
    models = importlib.import_module(f"{CLIENT}.models")
    create = importlib.import_module(f"{CLIENT}.api.activations.create_activation")
    status = importlib.import_module(f"{CLIENT}.api.activations.get_activation")
    deactivate = importlib.import_module(f"{CLIENT}.api.licenses.deactivate_license")

    def request(key: str, host: str) -> Any:
        return models.ActivationRequest(activation_key=key, hostids=[host])

    async with client_pkg.AuthenticatedClient(base_url=running.gateway, token=FLEET_KEY) as api:
        ready = await create.asyncio_detailed(
            client=api, body=request(SINGLE_KEY, "HOSTNAME=gen-client")
        )
        assert ready.status_code == 200, ready.content
        assert ready.parsed.state == models.ActivationState.READY
        assert ready.parsed.source == models.ActivationSource.LAC
        assert "FEATURE demo-feature" in ready.parsed.license_.content

        pending = await create.asyncio_detailed(
            client=api, body=request(PENDING_KEY, "HOSTNAME=gen-client"), prefer="respond-async"
        )
        assert pending.status_code == 202, pending.content
        assert pending.headers["Location"] == f"/v1/activations/{pending.parsed.id}"
        done = await status.asyncio_detailed(pending.parsed.id, client=api, wait=10.0)
        assert done.status_code == 200, done.content
        assert done.parsed.state == models.ActivationState.READY

        seat = await create.asyncio_detailed(client=api, body=request(DEACT_KEY, "HOSTNAME=gen"))
        assert seat.status_code == 200, seat.content
        gone = await deactivate.asyncio_detailed(DEACT_KEY, client=api, hostid=["HOSTNAME=gen"])
        assert gone.status_code == 204, gone.content


def _json_examples(document: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """(TypeScript type, example value) for every JSON example of the document."""
    for path, item in document["paths"].items():
        for method, op in item.items():
            where = f'paths["{path}"]["{method}"]'
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            for example in body.get("examples", {}).values():
                yield (
                    f'NonNullable<{where}["requestBody"]>["content"]["application/json"]',
                    example["value"],
                )
            for status, reply in op["responses"].items():
                key = status if status == "default" else int(status)
                for media, content in reply.get("content", {}).items():
                    for example in content.get("examples", {}).values():
                        media_type = f'{where}["responses"]["{key}"]["content"]["{media}"]'
                        yield media_type, example["value"]


def typescript_checks(document: dict[str, Any]) -> str:
    """A TypeScript module assigning each example to the type generated for its place."""
    lines = ['import type { paths } from "./schema";']
    for number, (type_, value) in enumerate(_json_examples(document)):
        lines.append(f"export const example{number}: {type_} = {json.dumps(value)};")
    return "\n".join(lines) + "\n"


async def npm_tools() -> Path:
    """openapi-typescript and tsc, installed with npm into .cache/ once."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed: the TypeScript generator comes from npm")
    bin_dir = NPM_CACHE / "node_modules" / ".bin"
    if not (bin_dir / "openapi-typescript").exists() or not (bin_dir / "tsc").exists():
        NPM_CACHE.mkdir(parents=True, exist_ok=True)
        await run(
            npm,
            "install",
            "--prefix",
            NPM_CACHE,
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            *NPM_PACKAGES,
        )
    return bin_dir


async def test_openapi_typescript_types_accept_every_example_of_the_document(
    running: Running, tmp_path: Path
) -> None:
    bin_dir = await npm_tools()
    document_path = await save_document(running, tmp_path)
    # Fields with a default are optional: a problem leaves out the members it does not use.
    await run(
        bin_dir / "openapi-typescript",
        document_path,
        "-o",
        tmp_path / "schema.d.ts",
        "--default-non-nullable=false",
    )
    schema = (tmp_path / "schema.d.ts").read_text(encoding="utf-8")
    assert "ActivationSource:" in schema
    assert "Type0" not in schema
    checks = typescript_checks(json.loads(document_path.read_text(encoding="utf-8")))
    assert checks.count("export const") >= 30
    (tmp_path / "checks.ts").write_text(checks, encoding="utf-8")
    await run(bin_dir / "tsc", "--noEmit", "--strict", "--skipLibCheck", "checks.ts", cwd=tmp_path)
