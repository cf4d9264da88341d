"""deploy/compose.yaml: valid against the compose specification and wired the way README says.

Compose cannot run here: the file is validated against the compose-spec schema, and the nginx
entry point by Debian's nginx (tests/deploy/test_deploy_nginx.py).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from gateway import tracing
from gateway.api.signing import load_private_key
from gateway.configuration import load_settings
from tests.deploy.deploy_support import DEPLOY, ROOT, load_yaml

COMPOSE = DEPLOY / "compose.yaml"
# The standard OpenTelemetry variables an operator sets to trace the replicas (README "Tracing").
OTEL_VARIABLES = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_SERVICE_NAME",
    "OTEL_TRACES_SAMPLER",
    "OTEL_TRACES_SAMPLER_ARG",
    "OTEL_PYTHON_AIOHTTP_SERVER_EXCLUDED_URLS",
)


def _schema() -> dict[str, Any]:
    # check-jsonschema vendors the compose-spec schema: no network needed at test time.
    vendor = resources.files("check_jsonschema.builtin_schemas.vendor")
    schema: dict[str, Any] = json.loads((vendor / "compose-spec.json").read_text("utf-8"))
    return schema


def _validator() -> jsonschema.protocols.Validator:
    schema = _schema()
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = load_yaml(COMPOSE)
    return data


def test_compose_file_is_valid_against_the_compose_specification() -> None:
    errors = sorted(_validator().iter_errors(_compose()), key=str)
    assert errors == [], "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


@pytest.mark.parametrize(
    ("path", "bad_value"),
    [
        (("services", "gateway", "depends_on"), "redis"),
        (("services", "redis", "restart_policy"), "always"),
        (("services", "gateway", "ports"), "8080"),
    ],
)
def test_compose_schema_rejects_a_broken_file(path: tuple[str, ...], bad_value: object) -> None:
    broken = _compose()
    node = broken
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = bad_value
    assert list(_validator().iter_errors(broken))


def test_gateway_runs_two_hardened_replicas_behind_a_healthy_redis() -> None:
    gateway = _compose()["services"]["gateway"]
    assert gateway["deploy"]["replicas"] == 2
    assert gateway["command"] == ["serve"]
    assert gateway["build"]["dockerfile"] == "deploy/Dockerfile"
    assert gateway["depends_on"]["redis"]["condition"] == "service_healthy"
    assert gateway["environment"]["LACGW_REDIS__URL"] == "redis://redis:6379/0"
    assert gateway["read_only"] is True
    assert gateway["cap_drop"] == ["ALL"]
    assert gateway["stop_signal"] == "SIGTERM"


def test_redis_persists_with_aof_on_a_named_volume() -> None:
    compose = _compose()
    redis = compose["services"]["redis"]
    command = " ".join(redis["command"])
    assert "--appendonly yes" in command
    assert "--appendfsync everysec" in command
    volume = redis["volumes"][0].split(":")[0]
    assert volume in compose["volumes"]


def test_sandbox_only_runs_in_the_demo_profile() -> None:
    services = _compose()["services"]
    assert services["sandbox"]["profiles"] == ["demo"]
    assert services["sandbox"]["command"][0] == "sandbox"
    assert all("profiles" not in svc for name, svc in services.items() if name != "sandbox")


def test_the_demo_sandbox_has_its_own_image_and_the_gateway_image_no_sandbox() -> None:
    services = _compose()["services"]
    assert services["sandbox"]["build"]["dockerfile"] == "deploy/sandbox.Dockerfile"
    assert services["sandbox"]["image"] != services["gateway"]["image"]
    sandbox_file = (DEPLOY / "sandbox.Dockerfile").read_text(encoding="utf-8")
    assert "COPY lacsandbox ./lacsandbox" in sandbox_file
    assert "lacsandbox" not in (DEPLOY / "Dockerfile").read_text(encoding="utf-8")


def test_every_mounted_file_exists_in_the_repository() -> None:
    for service in _compose()["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), source


def test_prometheus_scrapes_every_gateway_replica_and_loads_the_alerts() -> None:
    config = load_yaml(DEPLOY / "prometheus" / "prometheus.yml")
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    sd = jobs["lac-gateway"]["dns_sd_configs"][0]
    # DNS A records of a compose service list every replica, not one of them.
    assert sd == {"names": ["gateway"], "type": "A", "port": 8080, "refresh_interval": "15s"}
    assert jobs["lac-gateway"]["metrics_path"] == "/metrics"
    mounts = _compose()["services"]["prometheus"]["volumes"]
    assert "./prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro" in mounts
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]


def test_grafana_is_provisioned_with_the_datasource_the_dashboard_uses() -> None:
    mounts = _compose()["services"]["grafana"]["volumes"]
    assert "./grafana/lac-gateway.json:/var/lib/grafana/dashboards/lac-gateway.json:ro" in mounts
    provider = load_yaml(DEPLOY / "grafana" / "provisioning" / "dashboards" / "lac-gateway.yaml")
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    source = load_yaml(DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yaml")
    assert source["datasources"][0]["uid"] == "prometheus"
    assert source["datasources"][0]["url"] == "http://prometheus:9090"


def _env_file(name: str) -> dict[str, str]:
    values = {}
    for raw in (DEPLOY / name).read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key] = value
    return values


def test_demo_env_file_configures_a_valid_gateway_toward_the_sandbox(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    demo = _env_file("demo.env")
    gateway_env = _compose()["services"]["gateway"]["environment"]
    for key, template in gateway_env.items():
        # Resolve ${VAR:-default} / ${VAR:?message} the way compose does with demo.env.
        match = re.fullmatch(r"\$\{(\w+)(?::([-?])(.*))?\}", str(template))
        if match is None:
            monkeypatch.setenv(key, str(template))
            continue
        name, kind, default = match.groups()
        # ":?" makes compose refuse to start without the variable: demo.env must set it.
        assert kind != "?" or name in demo, f"demo.env lacks {name}"
        monkeypatch.setenv(key, demo.get(name, default or ""))
    monkeypatch.delenv("LACGW_CONFIG", raising=False)
    # load_settings checks the variables as serve does before Settings reads them.
    settings = load_settings({key: os.environ[key] for key in gateway_env})
    assert settings.lac.soap_url == "http://sandbox:8090/soap/type/enduser/version/2"
    assert settings.lac.allow_plain_http is True
    assert [key.name for key in settings.auth.api_keys] == ["demo"]
    assert settings.signing.private_key is not None
    # The demo key really loads: every replica signs with it instead of a key of its own.
    assert load_private_key(settings.signing.private_key.get_secret_value())


def _variables_read() -> set[str]:
    # ${VAR}, ${VAR:-default}, ${VAR:?message}: every interpolation compose performs.
    return set(re.findall(r"\$\{(\w+)", COMPOSE.read_text(encoding="utf-8")))


def test_env_example_lists_exactly_the_variables_compose_reads() -> None:
    assert set(_env_file(".env.example")) == _variables_read()


def _resolved(template: str, values: dict[str, str]) -> str:
    """``template`` as compose interpolates ``${VAR:-default}`` from an env file's ``values``."""
    match = re.fullmatch(r"\$\{(\w+)(?::[-?](.*))?\}", template)
    if match is None:
        return template
    name, default = match.groups()
    return values.get(name) or default or ""


def _gateway_otel_env(values: dict[str, str]) -> dict[str, str]:
    environment = _compose()["services"]["gateway"]["environment"]
    return {k: _resolved(str(v), values) for k, v in environment.items() if k.startswith("OTEL_")}


def test_compose_passes_the_tracing_variables_and_traces_stay_off_until_an_endpoint() -> None:
    example = _env_file(".env.example")
    off = _gateway_otel_env(example)
    assert set(off) == set(OTEL_VARIABLES)
    assert not tracing.configured(off), "the example file must leave tracing off"
    assert off["OTEL_SERVICE_NAME"] == tracing.SERVICE_NAME
    assert off["OTEL_TRACES_SAMPLER"] == "parentbased_always_on"
    # The healthcheck and Prometheus's scrape would otherwise fill the backend with spans.
    assert off["OTEL_PYTHON_AIOHTTP_SERVER_EXCLUDED_URLS"] == "healthz,readyz,metrics"
    on = _gateway_otel_env(example | {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert tracing.configured(on)
    assert on["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://collector:4318"


def test_readme_and_compose_header_name_the_same_env_files() -> None:
    def env_files(text: str) -> set[str]:
        return set(re.findall(r"--env-file\s+(\S+)", text))

    header = "".join(
        line for line in COMPOSE.read_text(encoding="utf-8").splitlines(True) if line[:1] == "#"
    )
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert env_files(header) == {"deploy/.env", "deploy/demo.env"}
    assert env_files(readme) == env_files(header)
    assert "deploy/.env" in (ROOT / ".gitignore").read_text(encoding="utf-8").split()


def test_nginx_is_the_one_entry_point_in_front_of_the_replicas() -> None:
    services = _compose()["services"]
    published = {name for name, svc in services.items() if "ports" in svc}
    assert published == {"nginx", "sandbox", "prometheus", "grafana"}
    nginx = services["nginx"]
    assert nginx["image"].startswith("docker.io/library/nginx:")
    assert nginx["ports"] == ["${LACGW_PUBLISH_ADDRESS:-127.0.0.1}:${LACGW_HTTPS_PORT:-8443}:8443"]
    assert nginx["depends_on"]["gateway"]["condition"] == "service_healthy"
    assert nginx["depends_on"]["tls-init"]["condition"] == "service_completed_successfully"
    assert "./nginx/lac-gateway.conf:/etc/nginx/conf.d/default.conf:ro" in nginx["volumes"]
    assert "tls:/etc/nginx/tls:ro" in nginx["volumes"]
    assert services["gateway"]["expose"] == ["8080"]
    trusted = services["gateway"]["environment"]["LACGW_HTTP__TRUSTED_PROXIES"]
    assert trusted.startswith("${LACGW_HTTP__TRUSTED_PROXIES:-")


def test_the_demo_certificate_is_generated_not_committed() -> None:
    init = _compose()["services"]["tls-init"]
    assert init["image"] == _compose()["services"]["gateway"]["image"]
    assert init["entrypoint"] == ["python3", "/usr/local/lib/demo_tls.py"]
    assert "./tools/demo_tls.py:/usr/local/lib/demo_tls.py:ro" in init["volumes"]
    assert "tls:/tls" in init["volumes"]
    assert "tls" in _compose()["volumes"]
    tracked = subprocess.run(
        ["git", "ls-files", "deploy"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    for name in tracked:
        assert Path(name).suffix not in {".pem", ".key", ".crt"}, name
        assert "PRIVATE KEY-----" not in (ROOT / name).read_text(encoding="utf-8", errors="replace")
