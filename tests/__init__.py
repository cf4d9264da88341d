"""The test suite of lac-gateway, importable as a package (``from tests.gwharness import ...``)."""
