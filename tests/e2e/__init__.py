"""End-to-end tests: gateway and sandbox as separate processes sharing one Redis."""
