"""The results as a Markdown table and a PNG chart (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib as mpl

mpl.use("Agg")
import matplotlib.pyplot as plt

Result = dict[str, Any]
Row = tuple[str, str, str, str, str, str]  # scenario, gateway, baseline, ratio, goal, met


def _met(flag: object) -> str:
    return "yes" if flag is True else ("no" if flag is False else "—")


def _rows(res: Result) -> list[Row]:
    rows: list[Row] = []
    hit = res.get("cache_hit", {})
    if "gateway" in hit:
        rows.extend(_hit_rows(hit))
        rows.extend(_nginx_rows(hit))
    for transport in ("soap", "rest"):
        amp = res.get(f"amplification_{transport}", {})
        if "creates" not in amp:
            continue
        name = f"2 Amplification {transport.upper()}"
        rows.append(
            (
                f"{name}, creates",
                str(amp["creates"]),
                f"{amp['pairs']} pairs",
                f"{amp['answered_with_license']}/{amp['requests']} answered",
                "= pairs, all answered",
                _met(
                    amp["creates"] == amp["pairs"]
                    and amp["answered_with_license"] == amp["requests"]
                ),
            )
        )
        rows.append(
            (
                f"{name}, polls/job",
                f"{amp['polls_per_job']:.2f}",
                "backoff schedule",
                f"≤ {amp['polls_per_job_allowed']}",
                f"≤ {amp['polls_per_job_allowed']}",
                _met(amp["polls_per_job"] <= amp["polls_per_job_allowed"]),
            )
        )
        rows.append(
            (
                f"{name}, ready→caller p99",
                f"{amp['ready_to_caller_p99_s']:.2f} s",
                f"p50 {amp['ready_to_caller_p50_s']:.2f} s",
                "—",
                f"≤ {amp['ready_to_caller_bound_s']:.1f} s",
                _met(amp["ready_to_caller_p99_s"] <= amp["ready_to_caller_bound_s"]),
            )
        )
    for transport in ("soap", "rest"):
        cold = res.get(f"cold_{transport}", {})
        if "p50_ratio" in cold:
            rows.append(
                (
                    f"3 Cold activation {transport.upper()}, p50",
                    f"{cold['gateway_p50_ms']:.1f} ms",
                    f"{cold['direct_p50_ms']:.1f} ms (aiohttp+zeep direct)"
                    if transport == "soap"
                    else f"{cold['direct_p50_ms']:.1f} ms (aiohttp direct)",
                    f"{cold['p50_ratio']:.2f}x",
                    _goal(
                        "≤",
                        cold["goal"]["p50_ratio_max"],
                        cold.get("stretch", {}).get("p50_ratio_max"),
                    ),
                    _met(cold["met"]),
                )
            )
        if "floor_p50_ratio" in cold:
            rows.append(
                (
                    f"3 Cold activation {transport.upper()}, featureless proxy p50",
                    f"{cold['floor_p50_ms']:.1f} ms (`bench.floor`)",
                    f"{cold['direct_p50_ms']:.1f} ms (same direct client)",
                    f"{cold['floor_p50_ratio']:.2f}x",
                    "— (comparison)",
                    "—",
                )
            )
    pend = res.get("pending_scale", {})
    if "redis_bytes_per_job" in pend:
        rows.append(
            (
                f"4 Pending jobs ({pend['jobs']}), Redis",
                f"{pend['redis_bytes_per_job']:.0f} B/job",
                "MEMORY STATS delta less clients "
                f"({pend.get('redis_marginal_bytes_per_job', 0):.0f} B/job marginal)",
                "—",
                "≤ 1024 B/job",
                _met(pend["redis_bytes_per_job"] <= 1024),
            )
        )
        rows.append(
            (
                "4 Pending jobs, gateway RSS",
                f"+{pend['gateway_rss_growth_mb']:.1f} MB",
                "before",
                "—",
                "≤ 100 MB",
                _met(pend["gateway_rss_growth_mb"] <= 100),
            )
        )
        rows.append(
            (
                "4 Pending jobs, most overdue",
                f"{pend['oldest_overdue_max_s']:.2f} s max",
                f"p50 {pend['oldest_overdue_p50_s']:.2f} s, "
                f"p99 {pend['oldest_overdue_p99_s']:.2f} s",
                f"{pend['polls_per_s']:.0f} polls/s",
                "≤ 1 s",
                _met(pend["oldest_overdue_max_s"] <= 1),
            )
        )
    multi = res.get("multi_process", {})
    if "rps_ratio" in multi:
        rows.append(
            (
                "5 Two workers vs one, req/s",
                f"{multi['two_workers']['rps']:.0f}",
                f"{multi['one_worker']['rps']:.0f} (1 worker)",
                f"{multi['rps_ratio']:.2f}x",
                "≥ 1.3x",
                _met(multi["met"]),
            )
        )
    return rows


def _goal(sign: str, target: float, stretch: float | None = None) -> str:
    """A goal cell: the target, and the stretch figure when there is one."""
    text = f"{sign} {target:g}x"
    return text if stretch is None else f"{text} (stretch {sign} {stretch:g}x)"


def _capped(  # noqa: PLR0917 - one table row's cells
    name: str, figure: str, baseline: str, ratio: float, target: float, stretch: float | None
) -> Row:
    """A row whose ratio must stay at most ``target``."""
    return (
        name,
        figure,
        baseline,
        f"{ratio:.2f}x",
        _goal("≤", target, stretch),
        _met(ratio <= target),
    )


def _hit_rows(hit: Result) -> list[Row]:
    """Scenario 1: CPU per request, p99 and requests/s against the bare handler; /healthz."""
    gw, bare = hit["gateway"], hit["bare"]
    goal, stretch = hit.get("goal", {}), hit.get("stretch", {})
    rows = [
        _capped(
            "1 Cache hit, CPU per request",
            f"{gw['cpu_us_per_request']:.0f} µs",
            f"{bare['cpu_us_per_request']:.0f} µs (bare aiohttp)",
            hit["cpu_ratio"],
            goal["cpu_ratio_max"],
            stretch.get("cpu_ratio_max"),
        ),
        _capped(
            "1 Cache hit, p99",
            f"{gw['p99_ms']:.1f} ms",
            f"{bare['p99_ms']:.1f} ms",
            hit["p99_ratio"],
            goal["p99_ratio_max"],
            stretch.get("p99_ratio_max"),
        ),
        (
            "1 Cache hit, req/s",
            f"{gw['rps']:.0f}",
            f"{bare['rps']:.0f}",
            f"{hit['rps_ratio']:.2f}x",
            f"— (stretch ≥ {stretch.get('rps_ratio_min', 0.6):g}x)",
            "—",
        ),
    ]
    health = hit.get("healthz")
    if health is not None:
        rows.append(
            _capped(
                "1 `/healthz`, CPU per request",
                f"{health['gateway']['cpu_us_per_request']:.0f} µs",
                f"{health['bare']['cpu_us_per_request']:.0f} µs (bare `/healthz`)",
                health["cpu_ratio"],
                goal["healthz_cpu_ratio_max"],
                None,
            )
        )
    return rows


def markdown(results: Result) -> str:
    """The table of every figure with its baseline, ratio and goal, and how it was measured."""
    meta = results["meta"]
    lines = [
        f"Run `{meta['command']}` at {meta['started']} on {meta['machine']}, commit "
        f"`{meta['commit']}`, load from `{meta['loadgen']}`, {meta['wall_s']:.0f} s in all.",
        "",
        "| Scenario | Gateway | Baseline (same run) | Ratio / figure | Goal | Met |",
        "|---|---|---|---|---|---|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in _rows(results)]
    errors = {
        name: r["error"] for name, r in results.items() if isinstance(r, dict) and "error" in r
    }
    lines += [f"\n**{name} failed**: {error}" for name, error in errors.items()]
    return "\n".join(lines) + "\n"


def chart(results: Result, path: Path) -> None:
    """Four panels: throughput, cache-hit latency, cold activation, lateness against bounds."""
    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    _throughput(axes[0][0], results)
    _latency(axes[0][1], results)
    _cold(axes[1][0], results)
    _lateness(axes[1][1], results)
    meta = results["meta"]
    fig.suptitle(f"lac-gateway `{meta['command']}` — {meta['machine']}", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _bars(ax: Any, labels: list[str], values: list[float], notes: list[str]) -> None:
    bars = ax.bar(labels, values, color=["#888888", "#1f77b4", "#2ca02c", "#ff7f0e"][: len(values)])
    for bar, note in zip(bars, notes, strict=True):
        ax.annotate(
            note,
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center",
            va="bottom",
            fontsize=9,
        )


def _nginx_rows(hit: Result) -> list[Row]:
    """nginx proxy_cache before the sandbox, beside the gateway's cache hit (same run)."""
    nginx = hit.get("nginx")
    if not nginx:
        return []
    gw, bare = hit["gateway"], hit["bare"]
    return [
        (
            "1 nginx proxy_cache hit, req/s",
            f"{nginx['rps']:.0f} (gateway {gw['rps']:.0f})",
            f"{bare['rps']:.0f} (bare aiohttp)",
            f"{nginx['rps'] / bare['rps']:.2f}x",
            "— (comparison)",
            "—",
        ),
        (
            "1 nginx proxy_cache hit, CPU per request",
            f"{nginx['cpu_us_per_request']:.0f} µs (gateway {gw['cpu_us_per_request']:.0f} µs)",
            f"{bare['cpu_us_per_request']:.0f} µs",
            f"{hit['nginx_cpu_ratio']:.2f}x",
            "— (comparison)",
            "—",
        ),
    ]


def _throughput(ax: Any, res: Result) -> None:
    hit, multi = res.get("cache_hit", {}), res.get("multi_process", {})
    ax.set_title("1+5  Cache hit throughput (req/s, higher is better)")
    if "gateway" not in hit:
        return
    labels, values = ["bare aiohttp", "gateway"], [hit["bare"]["rps"], hit["gateway"]["rps"]]
    cpu_goal = hit.get("goal", {}).get("cpu_ratio_max", 2.5)
    notes = [
        "baseline",
        f"{hit['rps_ratio']:.2f}x; CPU {hit['cpu_ratio']:.2f}x (goal ≤ {cpu_goal:g})",
    ]
    if "nginx" in hit:
        labels.append("nginx\nproxy_cache")
        values.append(hit["nginx"]["rps"])
        notes.append(f"{hit['nginx']['rps'] / hit['bare']['rps']:.2f}x bare")
    if "two_workers" in multi:
        labels.append("gateway, 2 workers")
        values.append(multi["two_workers"]["rps"])
        notes.append(f"{multi['rps_ratio']:.2f}x 1 worker (goal ≥ 1.3)")
    _bars(ax, labels, values, notes)


def _latency(ax: Any, res: Result) -> None:
    hit = res.get("cache_hit", {})
    ax.set_title("1  Cache hit latency under load (ms, lower is better)")
    if "gateway" not in hit:
        return
    width = 0.35
    for offset, (name, key) in zip(
        (-width / 2, width / 2), (("p50", "p50_ms"), ("p99", "p99_ms")), strict=True
    ):
        values = [hit["bare"][key], hit["gateway"][key]]
        ax.bar([i + offset for i in range(2)], values, width, label=name)
    ax.set_xticks([0, 1], ["bare aiohttp", "gateway"])
    ax.annotate(
        f"p99 {hit['p99_ratio']:.2f}x (goal ≤ {hit.get('goal', {}).get('p99_ratio_max', 3.0):g})",
        (1, hit["gateway"]["p99_ms"]),
        ha="center",
        va="bottom",
        fontsize=9,
    )
    ax.legend()


def _cold(ax: Any, res: Result) -> None:
    ax.set_title("3  Cold activation p50 (ms, lower is better)")
    labels, values, notes, colors = [], [], [], []
    for transport in ("soap", "rest"):
        cold = res.get(f"cold_{transport}", {})
        if "p50_ratio" not in cold:
            continue
        labels += [f"direct\n{transport.upper()}", f"gateway\n{transport.upper()}"]
        values += [cold["direct_p50_ms"], cold["gateway_p50_ms"]]
        notes += ["baseline", f"{cold['p50_ratio']:.2f}x (goal ≤ 1.5)"]
        colors += ["#888888", "#1f77b4"]
        if "floor_p50_ratio" in cold:
            labels.append(f"featureless\nproxy {transport.upper()}")
            values.append(cold["floor_p50_ms"])
            notes.append(f"{cold['floor_p50_ratio']:.2f}x")
            colors.append("#bbbbbb")
    if labels:
        bars = ax.bar(labels, values, color=colors)
        for bar, note in zip(bars, notes, strict=True):
            ax.annotate(
                note,
                (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                ha="center",
                va="bottom",
                fontsize=9,
            )


def _lateness(ax: Any, res: Result) -> None:
    ax.set_title("2+4  Seconds late, against the goal (lower is better)")
    labels, values, bounds = [], [], []
    for transport in ("soap", "rest"):
        amp = res.get(f"amplification_{transport}", {})
        if "ready_to_caller_p99_s" in amp:
            labels.append(f"2 ready→caller\n{transport.upper()} p99")
            values.append(amp["ready_to_caller_p99_s"])
            bounds.append(amp["ready_to_caller_bound_s"])
    pend = res.get("pending_scale", {})
    if "oldest_overdue_max_s" in pend:
        labels.append(f"4 most overdue\n({pend['jobs']} jobs) max")
        values.append(pend["oldest_overdue_max_s"])
        bounds.append(1.0)
    if not labels:
        return
    positions = list(range(len(labels)))
    ax.bar(positions, values, color="#1f77b4", label="measured")
    ax.scatter(positions, bounds, marker="_", s=900, color="#d62728", label="goal", zorder=3)
    ax.set_xticks(positions, labels, fontsize=9)
    ax.legend()
