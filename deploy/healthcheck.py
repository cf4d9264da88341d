"""Container HEALTHCHECK: exit 0 when the gateway's /healthz on this host answers 200."""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def main() -> int:
    """Probe http://127.0.0.1:$LACGW_HTTP__PORT/healthz once."""
    port = os.environ.get("LACGW_HTTP__PORT", "8080")
    url = f"http://127.0.0.1:{port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError):
        return 1


if __name__ == "__main__":
    sys.exit(main())
