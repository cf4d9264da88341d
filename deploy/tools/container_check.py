"""Run the built image next to a local Redis and the sandbox, and prove it works end to end.

Called by ``deploy/container-test.sh`` (``make container-test``) once the image is built.
Every container runs on the host network bound to 127.0.0.1; everything started is removed.
The image carries the gateway only, so the sandbox runs on the host, from this checkout.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import shlex
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lacsandbox.localredis import LocalRedis, free_port

ROOT = Path(__file__).resolve().parents[2]

ACTIVATION_KEY = "SNGLE-HOST1-DEMO0-00001"  # in the sandbox's built-in demo seed
GRACE_SECONDS = 20
NON_ROOT_UID = 10001


class CheckFailed(RuntimeError):
    """One of the container checks did not hold."""


def podman(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run podman with the storage and runtime options the caller set in PODMAN_ARGS."""
    command = ["podman", *shlex.split(os.environ.get("PODMAN_ARGS", "")), *args]
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if check and result.returncode != 0:
        raise CheckFailed(f"{shlex.join(args[:2])} failed: {result.stderr.strip()}")
    return result


def http(
    method: str, url: str, body: object = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    """One HTTP exchange on loopback; the status and body, whatever the status."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=40) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_for(url: str, want: int, attempts: int = 120) -> None:
    """Poll ``url`` until it answers ``want``."""
    last = "no answer"
    for _ in range(attempts):
        try:
            status, _body = http("GET", url)
        except (urllib.error.URLError, OSError) as exc:
            last = type(exc).__name__
        else:
            if status == want:
                return
            last = f"HTTP {status}"
        time.sleep(0.5)
    raise CheckFailed(f"{url} never answered {want} (last: {last})")


@contextmanager
def container(
    name: str, image: str, ulimits: list[str], env: dict[str, str], *args: str
) -> Iterator[str]:
    """A detached container on the host network, always removed afterwards."""
    flags = [f"--ulimit={limit}" for limit in ulimits]
    for key, value in env.items():
        flags += ["--env", f"{key}={value}"]
    podman("rm", "--force", "--ignore", name, check=False)
    podman("run", "--detach", "--name", name, "--network", "host", *flags, image, *args)
    try:
        yield name
    except BaseException:
        logs = podman("logs", "--tail", "30", name, check=False)
        print(f"--- last log lines of {name}:\n{logs.stdout}{logs.stderr}", file=sys.stderr)
        raise
    finally:
        podman("rm", "--force", "--time", "0", name, check=False)


def check_image(image: str) -> None:
    """The image keeps its HEALTHCHECK, runs as the non-root user and stops on SIGTERM."""
    raw = podman("image", "inspect", image).stdout
    image_info = json.loads(raw)[0]
    config = image_info["Config"]
    # podman reports a docker-format HEALTHCHECK beside Config, not inside it.
    health = image_info.get("Healthcheck") or config.get("Healthcheck") or {}
    if "/usr/local/lib/lacgw-healthcheck.py" not in " ".join(health.get("Test") or []):
        raise CheckFailed(f"image has no HEALTHCHECK: {health}")
    if config.get("User") != f"{NON_ROOT_UID}:{NON_ROOT_UID}":
        raise CheckFailed(f"image user is {config.get('User')!r}")
    if config.get("StopSignal") != "SIGTERM":
        raise CheckFailed(f"image stop signal is {config.get('StopSignal')!r}")
    print(f"ok: image config (user {config['User']}, HEALTHCHECK, STOPSIGNAL SIGTERM)")


# Run inside the image: what the runtime stage must not contain.
_CONTENTS_PROBE = """
import importlib.util, pathlib, shutil
found = [tool for tool in ("gcc", "cc", "g++", "make") if shutil.which(tool)]
if importlib.util.find_spec("pip") is not None:
    found.append("pip")
found += [str(p) for p in pathlib.Path("/opt/venv").rglob("*.pyc")][:3]
found += [str(p) for p in (pathlib.Path("/root/.cache"), pathlib.Path("/wheels")) if p.exists()]
print(" ".join(found))
"""

# Run inside the image: the development package and its modules must be absent.
_SANDBOX_PROBE = """
import importlib.util, pathlib
found = [name for name in ("lacsandbox", "gateway.sandbox") if importlib.util.find_spec(name)]
names = ("sandbox", "localredis", "localproc", "demo")
gateway = pathlib.Path("/opt/venv").glob("lib/python3*/site-packages/gateway/**/*")
found += [str(p) for p in gateway if any(n in p.name for n in names)]
print(" ".join(found[:5]))
"""


def check_image_contents(image: str, ulimits: list[str]) -> None:
    """No compiler, no pip, no bytecode or download caches in the runtime image."""
    flags = [f"--ulimit={limit}" for limit in ulimits]
    # As root, so that folders closed to the gateway's user (/root) are inspected too.
    args = ("run", "--rm", "--network", "none", "--user", "0:0", "--no-healthcheck", *flags)
    args = (*args, "--entrypoint", "python3")
    found = podman(*args, image, "-c", _CONTENTS_PROBE).stdout.strip()
    if found:
        raise CheckFailed(f"the image carries build leftovers: {found}")
    print("ok: no compiler, pip or caches in the image")
    found = podman(*args, image, "-c", _SANDBOX_PROBE).stdout.strip()
    if found:
        raise CheckFailed(f"the image carries sandbox or development code: {found}")
    print("ok: no sandbox, local runners or demo in the image (the gateway only)")


def check_process_user(name: str) -> None:
    """PID 1 of the gateway container (the gateway itself) runs with a non-root uid."""
    status = podman("exec", name, "cat", "/proc/1/status").stdout
    uid_line = next(line for line in status.splitlines() if line.startswith("Uid:"))
    uids = {int(value) for value in uid_line.split()[1:]}
    if uids != {NON_ROOT_UID}:
        raise CheckFailed(f"gateway process uids are {uids}")
    print(f"ok: the gateway process runs as uid {NON_ROOT_UID}, not root")


def check_activation(base: str, api_key: str) -> None:
    """One activation through the container to the sandbox returns a license."""
    headers = {
        "Authorization": f"Bearer {api_key}",
        "Content-Type": "application/json",
        "Prefer": "wait=30",
    }
    body = {"activation_key": ACTIVATION_KEY, "hostids": ["HOSTNAME=container-test"]}
    status, raw = http("POST", f"{base}/v1/activations", body, headers)
    answer = json.loads(raw)
    license_body = answer.get("license") or {}
    if status != 200 or answer.get("state") != "ready" or not license_body.get("content"):
        raise CheckFailed(f"activation answered {status} state={answer.get('state')!r}")
    print(f"ok: activation end to end (200, state ready, source {answer.get('source')})")


def check_sigterm(name: str) -> None:
    """``podman stop`` (SIGTERM) ends the gateway by itself: exit 0, not the SIGKILL fallback."""
    podman("stop", "--time", str(GRACE_SECONDS), name)
    state = json.loads(podman("inspect", name).stdout)[0]["State"]
    if state.get("ExitCode") != 0:
        raise CheckFailed(f"gateway exited {state.get('ExitCode')} after SIGTERM")
    print(f"ok: SIGTERM stopped the gateway cleanly (exit 0 within {GRACE_SECONDS}s)")


@contextmanager
def host_sandbox(port: int, logs: Path) -> Iterator[str]:
    """The LAC sandbox as a process of this checkout on 127.0.0.1 (the image has none)."""
    argv = [sys.executable, "-m", "lacsandbox", "--host", "127.0.0.1", "--port", str(port)]
    log = logs / "sandbox.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{url}/soap/type/enduser/version/2?wsdl", 200)
        yield url
    except BaseException:
        print(f"--- sandbox log:\n{log.read_text(errors='replace')[-3000:]}", file=sys.stderr)
        raise
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def run(image: str, ulimits: list[str]) -> None:
    """Start Redis, the sandbox and the gateway, then run every check."""
    check_image(image)
    check_image_contents(image, ulimits)
    api_key = "ct-" + secrets.token_urlsafe(24)
    keys = [{"name": "ct", "sha256": hashlib.sha256(api_key.encode()).hexdigest()}]
    sandbox_port, gateway_port = free_port(), free_port()
    sandbox = f"http://127.0.0.1:{sandbox_port}"
    base = f"http://127.0.0.1:{gateway_port}"
    env = {
        "LACGW_HTTP__PORT": str(gateway_port),
        "LACGW_LAC__SOAP_URL": f"{sandbox}/soap/type/enduser/version/2",
        "LACGW_LAC__VENDOR_SOAP_URL": f"{sandbox}/soap/type/vendor/version/4",
        "LACGW_LAC__REST_URL": f"{sandbox}/rest/v2",
        "LACGW_LAC__ALLOW_PLAIN_HTTP": "true",
        "LACGW_LAC__USERNAME": "demo",
        "LACGW_LAC__PASSWORD": "demo",
        "LACGW_JOBS__FIRST_POLL": "0.5",
        "LACGW_AUTH__API_KEYS": json.dumps(keys),
        "LACGW_HTTP__SHUTDOWN_TIMEOUT": "10",
    }
    suffix = secrets.token_hex(3)
    with tempfile.TemporaryDirectory(prefix="lacgw-ct-") as tmp:
        redis = LocalRedis(Path(tmp))
        redis.start()
        try:
            env["LACGW_REDIS__URL"] = redis.url
            with (
                host_sandbox(sandbox_port, Path(tmp)),
                container(f"lacgw-ct-gateway-{suffix}", image, ulimits, env) as gateway,
            ):
                wait_for(f"{base}/healthz", 200)
                print("ok: /healthz 200")
                wait_for(f"{base}/readyz", 200)
                print("ok: /readyz 200")
                health = podman("healthcheck", "run", gateway, check=False)
                if health.returncode != 0:
                    raise CheckFailed(f"HEALTHCHECK failed: {health.stdout}{health.stderr}")
                print("ok: the image's HEALTHCHECK passes")
                check_process_user(gateway)
                check_activation(base, api_key)
                check_sigterm(gateway)
        finally:
            redis.stop()


def main() -> int:
    """Parse arguments, run the checks, report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--image", required=True)
    parser.add_argument("--ulimit", action="append", default=[], help="e.g. nofile=1024:1024")
    args = parser.parse_args()
    try:
        run(args.image, args.ulimit)
    except CheckFailed as exc:
        print(f"container-test FAILED: {exc}", file=sys.stderr)
        return 1
    print("container-test: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
