"""Durable jobs: pending LAC generations stored in Redis and polled by every replica."""
