"""The LAC sandbox: an aiohttp application that behaves like X-Formation's LAC.

It imports nothing else of ``gateway`` (an import-linter contract enforces it), so it checks the
gateway instead of mirroring it. It reads the shared data files in ``gateway/data`` by path.
"""
