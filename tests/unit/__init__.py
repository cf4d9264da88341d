"""Unit tests: one module at a time, no sockets beyond an in-process test server."""
