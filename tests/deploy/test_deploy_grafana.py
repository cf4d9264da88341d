"""deploy/grafana/lac-gateway.json: a loadable dashboard whose every query reads real metrics."""

from __future__ import annotations

import json
import re
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tests.deploy.deploy_support import DEPLOY, load_yaml
from tests.deploy.promql_names import PROMETHEUS_SERIES, exported_series, metric_names
from tests.gwharness import Running

DASHBOARD = DEPLOY / "grafana" / "lac-gateway.json"


def _dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return data


def _panels() -> list[dict[str, Any]]:
    return [panel for panel in _dashboard()["panels"] if panel["type"] != "row"]


def _queries() -> list[tuple[str, str]]:
    """(panel title, expression) for every target of every panel."""
    return [(panel["title"], target["expr"]) for panel in _panels() for target in panel["targets"]]


def test_metric_name_extraction_sees_names_and_ignores_functions_and_labels() -> None:
    expr = (
        'histogram_quantile(0.95, sum by (le, route) (rate(lacgw_x_bucket{route="/a"}[5m])))'
        ' / on (route) group_left sum(up{job="j"}) > bool 2 and lacgw_y offset 5m'
    )
    assert metric_names(expr) == {"lacgw_x_bucket", "up", "lacgw_y"}


def test_exported_series_are_read_from_the_gateway_registry() -> None:
    names = exported_series()
    assert "lacgw_http_requests_total" in names
    assert "lacgw_lac_call_duration_seconds_bucket" in names
    assert "lacgw_jobs_pending" in names
    assert "lacgw_http_requests" not in names


async def test_a_real_scrape_exposes_only_series_the_registry_declares(running: Running) -> None:
    resp = await running.activate("SNGLE-HOST1-DEMO0-00001", ["HOSTNAME=grafana-test"])
    assert resp.status == 200
    async with running.http.get(f"{running.gateway}/metrics") as scrape:
        text = await scrape.text()
    samples = {s.name for fam in text_string_to_metric_families(text) for s in fam.samples}
    assert "lacgw_lac_calls_total" in samples
    assert "lacgw_http_request_duration_seconds_bucket" in samples
    assert samples <= exported_series()


def test_every_dashboard_query_reads_only_metrics_the_gateway_exports() -> None:
    known = exported_series() | PROMETHEUS_SERIES
    queries = _queries()
    assert len(queries) >= 20
    for title, expr in queries:
        names = metric_names(expr)
        assert names, f"{title}: no metric in {expr}"
        assert names <= known, f"{title}: unknown {names - known}"


def test_a_misspelled_metric_would_be_caught() -> None:
    names = metric_names("sum(rate(lacgw_http_request_total[5m]))")
    assert names == {"lacgw_http_request_total"}
    assert not names <= exported_series()


def test_dashboard_covers_every_metric_family_the_gateway_exports() -> None:
    used = set().union(*(metric_names(expr) for _, expr in _queries()))
    families = {re.sub(r"_(total|created|bucket|count|sum)$", "", n) for n in exported_series()}
    covered = {re.sub(r"_(total|bucket|count|sum)$", "", n) for n in used}
    assert families <= covered, families - covered


def test_dashboard_shows_what_the_issue_asks_for() -> None:
    titles = " | ".join(panel["title"] for panel in _panels()).lower()
    for topic in (
        "request rate by route",
        "latency by route",
        "lac calls by operation",
        "lac latency",
        "lac return codes",
        "cache hit ratio",
        "jobs pending",
        "time to license",
        "circuit breaker",
        "token refreshes",
        "5xx",
    ):
        assert topic in titles, topic


def test_panels_have_unique_ids_fit_the_grid_and_do_not_overlap() -> None:
    panels = _dashboard()["panels"]
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids))
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        pos = panel["gridPos"]
        assert pos["x"] >= 0, panel["title"]
        assert pos["x"] + pos["w"] <= 24, panel["title"]
        for x in range(pos["x"], pos["x"] + pos["w"]):
            for y in range(pos["y"], pos["y"] + pos["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps another panel"
                cells.add((x, y))


def _variables() -> dict[str, dict[str, Any]]:
    return {variable["name"]: variable for variable in _dashboard()["templating"]["list"]}


def test_panels_read_the_datasource_variable_and_have_unique_ref_ids() -> None:
    # Imported into any Grafana, the dashboard asks for a Prometheus data source: no fixed uid.
    chosen = {"type": "prometheus", "uid": "${datasource}"}
    assert _variables()["instance"]["datasource"] == chosen
    for panel in _panels():
        assert panel["datasource"] == chosen, panel["title"]
        ref_ids = [target["refId"] for target in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids)), panel["title"]
        assert all(target["datasource"] == chosen for target in panel["targets"])
    provisioned = load_yaml(DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yaml")
    uid = provisioned["datasources"][0]["uid"]
    assert f'"uid": "{uid}"' not in DASHBOARD.read_text(encoding="utf-8")


def test_the_datasource_variable_lists_prometheus_sources_and_comes_first() -> None:
    variables = _dashboard()["templating"]["list"]
    assert variables[0]["name"] == "datasource"
    assert variables[0]["type"] == "datasource"
    assert variables[0]["query"] == "prometheus"


def test_runtime_and_redis_metrics_have_a_row_each() -> None:
    rows: dict[str, set[str]] = {}
    current = ""
    for panel in _dashboard()["panels"]:
        if panel["type"] == "row":
            current = panel["title"]
            continue
        names = set().union(*(metric_names(t["expr"]) for t in panel["targets"]))
        rows.setdefault(current, set()).update(names)
    redis = rows["Redis"]
    assert {"lacgw_redis_up", "lacgw_redis_roundtrip_seconds_bucket"} <= redis
    process = rows["Process and build"]
    assert {"lacgw_build_info", "python_info", "process_cpu_seconds_total"} <= process
    assert any(name.startswith("python_gc_") for name in process)


def test_dashboard_has_a_stable_uid_and_a_replica_variable_every_query_honours() -> None:
    dashboard = _dashboard()
    assert dashboard["uid"] == "lac-gateway"
    assert isinstance(dashboard["schemaVersion"], int)
    variable = _variables()["instance"]
    match = re.fullmatch(r"label_values\((\w+)\{[^}]*\}, instance\)", variable["definition"])
    assert match is not None
    assert match.group(1) in PROMETHEUS_SERIES
    for title, expr in _queries():
        assert 'instance=~"$instance"' in expr, title


def test_alert_rules_read_only_metrics_the_gateway_exports() -> None:
    known = exported_series() | PROMETHEUS_SERIES
    rules = load_yaml(DEPLOY / "prometheus" / "alerts.yml")["groups"][0]["rules"]
    assert len(rules) >= 6
    for rule in rules:
        names = metric_names(rule["expr"])
        assert names, rule["alert"]
        assert names <= known, f"{rule['alert']}: unknown {names - known}"
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"]
        assert rule["annotations"]["description"]
