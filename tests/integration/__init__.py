"""Integration tests: real Redis, the sandbox and the gateway over real sockets."""
