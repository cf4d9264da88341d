#!/usr/bin/env bash
# OS packages some tests use, installed as root when missing (Debian): cc with libcurl and
# OpenSSL headers for the C example of docs/integration.md, nginx for the reverse-proxy tests
# (tests/deploy/test_deploy_nginx.py). Without root it says what to install and fails.
set -euo pipefail
need=()
if ! printf '#include <curl/curl.h>\n#include <openssl/evp.h>\n' | cc -fsyntax-only -x c - 2>/dev/null; then
  need+=(gcc libc6-dev libcurl4-openssl-dev libssl-dev)
fi
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "test-packages: the tests need: apt-get install ${need[*]}" >&2
  exit 1
fi
DEBIAN_FRONTEND=noninteractive apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
