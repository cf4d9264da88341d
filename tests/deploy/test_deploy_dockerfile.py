"""The container image definition: hadolint-clean and built the way the deployment expects."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp import web

from lacsandbox.localredis import free_port
from tests.deploy.deploy_support import DEPLOY, venv_tool

DOCKERFILE = DEPLOY / "Dockerfile"


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    pairs = []
    for raw in text.splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            pairs.append((word.upper(), rest.strip()))
    return pairs


def _hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [venv_tool("hadolint"), "--no-color", str(path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_hadolint_reports_nothing_on_the_dockerfile() -> None:
    result = _hadolint(DOCKERFILE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_hadolint_reports_nothing_on_the_sandbox_dockerfile() -> None:
    result = _hadolint(DEPLOY / "sandbox.Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_hadolint_does_flag_a_bad_dockerfile(tmp_path: Path) -> None:
    # Proves the linter really runs: an unpinned :latest base and a root shell-form CMD.
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN cd /tmp && pip install aiohttp\nCMD python app.py\n")
    result = _hadolint(bad)
    assert result.returncode != 0
    assert "DL3007" in result.stdout


def test_base_image_is_an_argument_declared_before_the_first_stage() -> None:
    steps = _instructions()
    first_from = next(i for i, (word, _) in enumerate(steps) if word == "FROM")
    args = [rest for word, rest in steps[:first_from] if word == "ARG"]
    assert any(arg.startswith("BASE_IMAGE=") and "python" in arg for arg in args)
    froms = [rest for word, rest in steps if word == "FROM"]
    assert froms == ["${BASE_IMAGE} AS build", "${BASE_IMAGE} AS runtime"]


def test_runtime_stage_runs_as_a_numeric_non_root_user_with_healthcheck_and_sigterm() -> None:
    steps = _instructions()
    runtime_start = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    runtime = steps[runtime_start:]
    users = [rest for word, rest in runtime if word == "USER"]
    assert users == ["10001:10001"]
    health = [rest for word, rest in runtime if word == "HEALTHCHECK"]
    assert len(health) == 1
    assert "lacgw-healthcheck.py" in health[0]
    assert ("STOPSIGNAL", "SIGTERM") in runtime
    assert ("ENTRYPOINT", '["python3", "-m", "gateway"]') in runtime
    assert ("CMD", '["serve"]') in runtime
    # Only the virtualenv comes from the build stage: no wheels, sources or pip caches.
    copies_from_build = [rest for word, rest in runtime if word == "COPY" and "--from" in rest]
    assert copies_from_build == ["--from=build /opt/venv /opt/venv"]


def test_oci_labels_carry_version_and_source() -> None:
    labels = " ".join(rest for word, rest in _instructions() if word == "LABEL")
    for key in ("version", "source", "revision", "title"):
        assert f"org.opencontainers.image.{key}=" in labels


def test_build_context_filter_lets_in_everything_the_image_copies() -> None:
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8").splitlines()
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}
    copied: set[str] = set()
    for word, rest in _instructions():
        if word == "COPY" and "--from" not in rest:
            copied.update(part.rstrip("/") for part in rest.split()[:-1])
    assert copied
    assert copied <= allowed


@pytest.mark.parametrize(("status", "exit_code"), [(200, 0), (503, 1)])
async def test_healthcheck_script_exits_zero_only_when_healthz_answers_200(
    status: int, exit_code: int
) -> None:
    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"}, status=status)

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    try:
        result = await _run_healthcheck(port)
    finally:
        await runner.cleanup()
    assert result == exit_code


async def test_healthcheck_script_fails_when_nothing_listens() -> None:
    assert await _run_healthcheck(free_port()) == 1


async def _run_healthcheck(port: int) -> int:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(DEPLOY / "healthcheck.py"),
        env={**os.environ, "LACGW_HTTP__PORT": str(port)},
    )
    return await proc.wait()
