#!/usr/bin/env bash
# make promtool-check: the Prometheus alert rules, their unit tests, the compose scrape config
# and a real /metrics scrape of the gateway, all checked by promtool.
# promtool comes from Debian's prometheus package, installed here when missing (needs root);
# `make test` does not depend on it.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
# The tools import lacsandbox (local Redis, the sandbox), which lives in the checkout, not the wheel.
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
PROM=$ROOT/deploy/prometheus

if ! command -v promtool >/dev/null; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "promtool-check: promtool missing; install Debian's prometheus package" >&2
    exit 1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

promtool check rules "$PROM/alerts.yml"
(cd "$PROM" && promtool test rules alerts.test.yml)

# The compose config names the rules by their path inside the Prometheus container.
sed "s#/etc/prometheus/alerts.yml#$PROM/alerts.yml#" "$PROM/prometheus.yml" >"$work/prometheus.yml"
promtool check config "$work/prometheus.yml"

"$PYTHON" "$ROOT/deploy/tools/scrape_metrics.py" "$work/metrics.txt"
echo "Checking a real /metrics scrape ($(grep -c '^lacgw_' "$work/metrics.txt") samples)"
promtool check metrics <"$work/metrics.txt"
echo "  SUCCESS"
