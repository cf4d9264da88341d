#!/usr/bin/env bash
# make docs-check: a real gateway's /docs opened in headless Chromium lists every route of its
# /openapi.json. Chromium comes from Debian's chromium package, installed here when missing
# (needs root); `make test` does not depend on it.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
# The tools import lacsandbox (local Redis, the sandbox), which lives in the checkout, not the wheel.
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"

if [ -z "${LACGW_CHROMIUM:-}" ] && ! command -v chromium >/dev/null; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "docs-check: chromium missing; install Debian's chromium package" >&2
    exit 1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi

cd "$ROOT"
"$PYTHON" deploy/tools/docs_check.py
