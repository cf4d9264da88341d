"""deploy/k8s: every manifest of the base, the components and the overlay, validated offline.

Built-in kinds are validated by kubernetes-validate in strict mode (unknown fields are errors)
against the newest Kubernetes version it ships. The base holds built-in kinds only, so that it
applies on a bare cluster: it is validated with no CRD schema at all. ServiceMonitor and
PrometheusRule (Prometheus Operator) and HTTPRoute (Gateway API) are CRDs that
kubernetes-validate has no schema for: they live in components and are checked structurally
here; the rules must be exactly deploy/prometheus/alerts.yml.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]  # ships no type information
import pytest
import yaml

from gateway import tracing
from gateway.settings import Settings
from tests.deploy.deploy_support import DEPLOY, load_yaml
from tests.deploy.kustomize_lite import merge, render

K8S = DEPLOY / "k8s"
BASE = K8S / "base"
PRODUCTION = K8S / "overlays" / "production"
COMPONENTS = K8S / "components"
CRD_KINDS = {"ServiceMonitor", "PrometheusRule", "HTTPRoute"}
K8S_VERSION = kubernetes_validate.latest_version()
APP = {"app.kubernetes.io/name": "lac-gateway"}

Doc = dict[str, Any]


def _by_kind(docs: list[Doc]) -> dict[str, Doc]:
    kinds = {doc["kind"]: doc for doc in docs}
    assert len(kinds) == len(docs), "one resource of each kind expected"
    return kinds


@pytest.fixture(params=["base", "production"], scope="module")
def rendered(request: pytest.FixtureRequest) -> dict[str, Doc]:
    """The base and the production overlay, as kustomize would build them."""
    return _by_kind(render(BASE if request.param == "base" else PRODUCTION))


def _container(rendered: dict[str, Doc]) -> Doc:
    containers: list[Doc] = rendered["Deployment"]["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def test_every_builtin_manifest_is_valid_in_strict_mode(rendered: dict[str, Doc]) -> None:
    builtin = [doc for kind, doc in rendered.items() if kind not in CRD_KINDS]
    assert {doc["kind"] for doc in builtin} >= {
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "ConfigMap",
        "NetworkPolicy",
        "ServiceAccount",
    }
    for doc in builtin:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_strict_validation_rejects_an_unknown_field_and_a_wrong_type() -> None:
    deployment = _by_kind(render(BASE))["Deployment"]
    typo = merge(deployment, {"spec": {"replica": 2}})
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(typo, K8S_VERSION, strict=True)
    wrong = merge(deployment, {"spec": {"replicas": "two"}})
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(wrong, K8S_VERSION, strict=True)


def test_the_base_applies_on_a_bare_cluster_every_object_a_builtin_kind() -> None:
    # No CRD schema is loaded: a ServiceMonitor or an HTTPRoute in the base fails here.
    for doc in render(BASE):
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_crds_have_no_builtin_schema_so_they_are_checked_structurally(tmp_path: Path) -> None:
    docs = _with_components(tmp_path, "monitoring", "gateway-api")
    for doc in (docs[kind] for kind in CRD_KINDS):
        with pytest.raises(kubernetes_validate.SchemaNotFoundError):
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def _with_components(folder: Path, *names: str) -> dict[str, Doc]:
    """The base with components, as an overlay naming them would build it."""
    kustomization = {"resources": [str(BASE)], "components": [str(COMPONENTS / n) for n in names]}
    (folder / "kustomization.yaml").write_text(yaml.safe_dump(kustomization), encoding="utf-8")
    return _by_kind(render(folder))


@pytest.fixture(scope="module")
def production() -> dict[str, Doc]:
    """The production overlay, which includes the monitoring and ingress components."""
    return _by_kind(render(PRODUCTION))


def test_monitoring_is_a_component_the_production_overlay_includes(
    production: dict[str, Doc],
) -> None:
    component = load_yaml(COMPONENTS / "monitoring" / "kustomization.yaml")
    assert component["kind"] == "Component"
    overlay = load_yaml(PRODUCTION / "kustomization.yaml")
    assert "../../components/monitoring" in overlay["components"]
    assert {"ServiceMonitor", "PrometheusRule"} <= production.keys()


def test_service_monitor_scrapes_the_service_http_port(production: dict[str, Doc]) -> None:
    monitor, service = production["ServiceMonitor"], production["Service"]
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert set(monitor) == {"apiVersion", "kind", "metadata", "spec"}
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    port_names = {port["name"] for port in service["spec"]["ports"]}
    for endpoint in monitor["spec"]["endpoints"]:
        assert endpoint["port"] in port_names
        assert endpoint["path"] == "/metrics"
    # The alerts select job="lac-gateway": the operator names the job after the Service.
    assert service["metadata"]["name"] == "lac-gateway"


def test_prometheus_rule_carries_exactly_the_alerts_file(production: dict[str, Doc]) -> None:
    rule = production["PrometheusRule"]
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert set(rule) == {"apiVersion", "kind", "metadata", "spec"}
    assert rule["spec"] == load_yaml(DEPLOY / "prometheus" / "alerts.yml")


def test_deployment_runs_hardened_replicas_with_both_probes(rendered: dict[str, Doc]) -> None:
    deployment = rendered["Deployment"]
    assert deployment["spec"]["replicas"] >= 2
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001  # the image's USER
    assert pod["automountServiceAccountToken"] is False
    container = _container(rendered)
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["resources"]["requests"]["cpu"]
    assert container["resources"]["limits"]["memory"]
    assert container["args"] == ["serve"]
    # /tmp is the only writable path, the root filesystem being read-only.
    mounts = {mount["mountPath"] for mount in container["volumeMounts"]}
    assert "/tmp" in mounts  # noqa: S108 - a path inside the pod, not a temp file here


def test_grace_period_outlasts_the_gateway_drain(rendered: dict[str, Doc]) -> None:
    pod = rendered["Deployment"]["spec"]["template"]["spec"]
    config = rendered["ConfigMap"]["data"]
    pre_stop = int(_container(rendered)["lifecycle"]["preStop"]["exec"]["command"][1])
    drain = float(config["LACGW_HTTP__SHUTDOWN_TIMEOUT"])
    assert pod["terminationGracePeriodSeconds"] > drain + pre_stop


def test_secrets_come_from_a_secret_reference_never_the_config_map(
    rendered: dict[str, Doc],
) -> None:
    container = _container(rendered)
    secret_env = {
        env["name"]: env["valueFrom"]["secretKeyRef"]["name"]
        for env in container["env"]
        if "secretKeyRef" in env.get("valueFrom", {})
    }
    assert secret_env == {
        "LACGW_REDIS__URL": "lac-gateway-secrets",
        "LACGW_LAC__USERNAME": "lac-gateway-secrets",
        "LACGW_LAC__PASSWORD": "lac-gateway-secrets",
        "LACGW_SIGNING__PRIVATE_KEY": "lac-gateway-secrets",
    }
    volumes = rendered["Deployment"]["spec"]["template"]["spec"]["volumes"]
    api_keys = next(volume for volume in volumes if volume["name"] == "api-keys")
    assert api_keys["secret"]["secretName"] == "lac-gateway-secrets"
    data = rendered["ConfigMap"]["data"]
    assert not any(word in key for key in data for word in ("PASSWORD", "REDIS__URL", "SIGNING"))
    assert "Secret" not in rendered, "secrets are created by the operator, not committed"


def test_config_map_and_secret_keys_make_a_valid_gateway_configuration(
    rendered: dict[str, Doc], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = rendered["ConfigMap"]["data"]
    keys_file = tmp_path / "api-keys.json"
    keys_file.write_text('[{"name": "fleet", "sha256": "' + "0" * 64 + '"}]')
    for key, value in config.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("LACGW_AUTH__API_KEYS_FILE", str(keys_file))
    monkeypatch.setenv("LACGW_REDIS__URL", "redis://redis:6379/0")
    monkeypatch.setenv("LACGW_LAC__PASSWORD", "from-the-secret")
    monkeypatch.delenv("LACGW_CONFIG", raising=False)
    settings = Settings()
    assert settings.http.port == _container(rendered)["ports"][0]["containerPort"]
    assert settings.lac.soap_url.startswith("https://")
    assert settings.auth.api_keys_file == keys_file


def test_selectors_all_find_the_gateway_pods(rendered: dict[str, Doc]) -> None:
    pod_labels = rendered["Deployment"]["spec"]["template"]["metadata"]["labels"]
    selectors = [
        rendered["Deployment"]["spec"]["selector"]["matchLabels"],
        rendered["Service"]["spec"]["selector"],
        rendered["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"],
        rendered["NetworkPolicy"]["spec"]["podSelector"]["matchLabels"],
    ]
    for selector in selectors:
        assert selector == APP
        assert selector.items() <= pod_labels.items()
    target = rendered["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", "lac-gateway")


def test_network_policy_lets_in_http_and_out_only_dns_redis_and_https(
    rendered: dict[str, Doc],
) -> None:
    spec = rendered["NetworkPolicy"]["spec"]
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    ingress_ports = {port["port"] for rule in spec["ingress"] for port in rule["ports"]}
    assert ingress_ports == {8080}
    egress_ports = {port["port"] for rule in spec["egress"] for port in rule["ports"]}
    assert egress_ports == {53, 6379, 26379, 443}


def test_disruption_budget_and_autoscaler_keep_replicas_available(
    rendered: dict[str, Doc],
) -> None:
    hpa = rendered["HorizontalPodAutoscaler"]["spec"]
    pdb = rendered["PodDisruptionBudget"]["spec"]
    assert hpa["minReplicas"] >= 2
    assert hpa["maxReplicas"] > hpa["minReplicas"]
    assert pdb["minAvailable"] < hpa["minReplicas"]


def test_production_overlay_pins_the_image_and_namespaces_everything() -> None:
    production = _by_kind(render(PRODUCTION))
    for doc in production.values():
        assert doc["metadata"]["namespace"] == "lac-gateway"
    container = _container(production)
    assert container["image"] == "registry.example.com/lac-gateway:0.1.0"
    assert production["Deployment"]["spec"]["replicas"] == 3
    # The patch adds a zone spread and keeps the base's host spread (merged by topologyKey).
    spread = production["Deployment"]["spec"]["template"]["spec"]["topologySpreadConstraints"]
    assert {c["topologyKey"] for c in spread} == {
        "topology.kubernetes.io/zone",
        "kubernetes.io/hostname",
    }
    # The resources patch keeps everything else of the container.
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["resources"]["limits"]["memory"] == "768Mi"
    assert production["ConfigMap"]["data"]["LACGW_LAC__MAX_CONCURRENCY"] == "64"
    assert production["ConfigMap"]["data"]["LACGW_LAC__TRANSPORT"] == "soap"


def test_ingress_terminates_tls_for_the_service_http_port(production: dict[str, Doc]) -> None:
    ingress, service = production["Ingress"], production["Service"]
    kubernetes_validate.validate(ingress, K8S_VERSION, strict=True)
    # Shown for cert-manager; without it the operator creates the TLS Secret by hand.
    assert "cert-manager.io/cluster-issuer" in ingress["metadata"]["annotations"]
    hosts = {host for tls in ingress["spec"]["tls"] for host in tls["hosts"]}
    assert all(tls["secretName"] for tls in ingress["spec"]["tls"])
    for rule in ingress["spec"]["rules"]:
        assert rule["host"] in hosts, "every routed host is served over TLS"
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            assert backend["name"] == service["metadata"]["name"]
            assert backend["port"]["name"] in {port["name"] for port in service["spec"]["ports"]}


def test_ingress_component_trusts_the_controller_for_forwarded_addresses(
    production: dict[str, Doc],
) -> None:
    trusted = production["ConfigMap"]["data"]["LACGW_HTTP__TRUSTED_PROXIES"]
    assert trusted, "behind an ingress controller, per-IP limits need its address trusted"
    assert "LACGW_HTTP__TRUSTED_PROXIES" not in _by_kind(render(BASE))["ConfigMap"]["data"]


def test_http_route_is_the_gateway_api_alternative_to_the_ingress(tmp_path: Path) -> None:
    docs = _with_components(tmp_path, "gateway-api")
    route, service = docs["HTTPRoute"], docs["Service"]
    assert route["apiVersion"] == "gateway.networking.k8s.io/v1"
    assert set(route) == {"apiVersion", "kind", "metadata", "spec"}
    # The listener of the parent Gateway holds the certificate: TLS ends there.
    assert route["spec"]["parentRefs"][0]["sectionName"] == "https"
    refs = [ref for rule in route["spec"]["rules"] for ref in rule["backendRefs"]]
    assert refs == [{"name": "lac-gateway", "port": service["spec"]["ports"][0]["port"]}]
    assert "Ingress" not in docs
    assert docs["ConfigMap"]["data"]["LACGW_HTTP__TRUSTED_PROXIES"]


def test_the_tracing_component_turns_traces_on_and_lets_spans_out(tmp_path: Path) -> None:
    kustomization = {"resources": [str(BASE)], "components": [str(COMPONENTS / "tracing")]}
    (tmp_path / "kustomization.yaml").write_text(yaml.safe_dump(kustomization), encoding="utf-8")
    docs = render(tmp_path)
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    (config,) = [doc["data"] for doc in docs if doc["kind"] == "ConfigMap"]
    assert tracing.configured(config)
    assert not tracing.configured(_by_kind(render(BASE))["ConfigMap"]["data"])
    assert config["OTEL_PYTHON_AIOHTTP_SERVER_EXCLUDED_URLS"] == "healthz,readyz,metrics"
    port = int(config["OTEL_EXPORTER_OTLP_ENDPOINT"].rsplit(":", 1)[1].rstrip("/"))
    # The base policy lets out DNS, Redis and HTTPS only: the collector's port needs its own.
    policies = [doc["spec"] for doc in docs if doc["kind"] == "NetworkPolicy"]
    otlp = [spec for spec in policies if spec["policyTypes"] == ["Egress"]]
    assert len(policies) == 2
    assert len(otlp) == 1
    assert otlp[0]["podSelector"]["matchLabels"] == APP
    assert [p["port"] for rule in otlp[0]["egress"] for p in rule["ports"]] == [port]
    overlay = (PRODUCTION / "kustomization.yaml").read_text(encoding="utf-8")
    assert "# - ../../components/tracing" in overlay


def test_the_http_route_lets_long_polls_last_as_long_as_the_ingress_does(tmp_path: Path) -> None:
    # Without a timeout the implementation picks its own (Envoy's is 15 s): a long poll
    # (up to LACGW_HTTP__MAX_WAIT) would be cut short behind the Gateway but not the Ingress.
    route = _with_components(tmp_path, "gateway-api")["HTTPRoute"]
    ingress = load_yaml(COMPONENTS / "ingress" / "ingress.yaml")
    read_timeout = ingress["metadata"]["annotations"][
        "nginx.ingress.kubernetes.io/proxy-read-timeout"
    ]
    timeouts = [rule["timeouts"] for rule in route["spec"]["rules"]]
    assert timeouts == [{"request": f"{read_timeout}s"}]
    assert int(read_timeout) > Settings().http.max_wait


def test_component_patches_apply_after_the_resources_they_patch(tmp_path: Path) -> None:
    (tmp_path / "component").mkdir()
    (tmp_path / "component" / "kustomization.yaml").write_text(
        "kind: Component\npatches:\n  - path: patch.yaml\n"
    )
    (tmp_path / "component" / "patch.yaml").write_text(
        "kind: ConfigMap\nmetadata: {name: c}\ndata: {b: '2'}\n"
    )
    (tmp_path / "cm.yaml").write_text("kind: ConfigMap\nmetadata: {name: c}\ndata: {a: '1'}\n")
    (tmp_path / "kustomization.yaml").write_text("resources: [cm.yaml]\ncomponents: [component]\n")
    assert render(tmp_path)[0]["data"] == {"a": "1", "b": "2"}


def test_strategic_merge_merges_named_lists_and_replaces_the_rest() -> None:
    base = {"containers": [{"name": "a", "image": "x", "args": ["1"]}], "args": ["p", "q"]}
    patch = {"containers": [{"name": "a", "image": "y"}, {"name": "b"}], "args": ["r"]}
    assert merge(base, patch) == {
        "containers": [{"name": "b"}, {"name": "a", "image": "y", "args": ["1"]}],
        "args": ["r"],
    }


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
@pytest.mark.parametrize("folder", [BASE, PRODUCTION], ids=["base", "production"])
def test_kustomize_lite_renders_what_kubectl_kustomize_renders(folder: Path) -> None:
    built = subprocess.run(
        ["kubectl", "kustomize", str(folder)], capture_output=True, text=True, check=True
    ).stdout

    # kubectl orders resources by kind and may quote differently: compare them by identity.
    def key(doc: Doc) -> tuple[str, str]:
        return doc["kind"], doc["metadata"]["name"]

    theirs = sorted(yaml.safe_load_all(built), key=key)
    ours = sorted(render(folder), key=key)
    assert ours == theirs
