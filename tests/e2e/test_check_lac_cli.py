"""``lac-gateway check-lac`` as an operator runs it, against sandbox processes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from lacsandbox.localredis import free_port
from tests.e2e.procs import ROOT, Process
from tests.gwharness import SEED_FILE

pytestmark = pytest.mark.e2e

PASSWORD = "demo"  # the seed's vendor login (user and password): neither may appear


async def sandbox(workdir: Path, *flags: str) -> Process:
    port = free_port()
    argv = [sys.executable, "-m", "gateway", "sandbox", "--port", str(port)]
    argv += ["--seed", str(SEED_FILE), *flags]
    proc = Process("sandbox", argv, dict(os.environ), port, workdir, cwd=ROOT)
    await proc.wait_healthy("/")
    return proc


def check_lac(url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LACGW_")}
    env.update(
        LACGW_LAC__SOAP_URL=f"{url}/soap/type/enduser/version/2",
        LACGW_LAC__VENDOR_SOAP_URL=f"{url}/soap/type/vendor/version/4",
        LACGW_LAC__REST_URL=f"{url}/rest/v2",
        LACGW_LAC__USERNAME="demo",
        LACGW_LAC__PASSWORD=PASSWORD,
        LACGW_LAC__ALLOW_PLAIN_HTTP="true",
    )
    return subprocess.run(
        [sys.executable, "-m", "gateway", "check-lac"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
async def plain(tmp_path: Path) -> AsyncIterator[Process]:
    proc = await sandbox(tmp_path)
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
async def no_get_license(tmp_path: Path) -> AsyncIterator[Process]:
    proc = await sandbox(tmp_path, "--without-get-license")
    try:
        yield proc
    finally:
        proc.stop()


async def test_check_lac_passes_against_the_sandbox(plain: Process) -> None:
    done = check_lac(plain.url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[0].split() == ["check", "result", "what", "to", "do"]
    assert "vendor login" in done.stdout
    assert "token obtained" in done.stdout
    assert "everything needed works" in done.stdout
    assert PASSWORD not in (done.stdout + done.stderr).lower()


async def test_check_lac_fails_naming_get_license(no_get_license: Process) -> None:
    done = check_lac(no_get_license.url)
    assert done.returncode == 1, done.stdout + done.stderr
    failed = [line for line in done.stdout.splitlines() if "FAILED:" in line]
    assert failed, done.stdout
    assert failed[0].startswith("end-user GetLicense")
    assert "GetLicense: not in the live WSDL" in failed[0]
    assert "Traceback" not in done.stderr
    assert PASSWORD not in (done.stdout + done.stderr).lower()
