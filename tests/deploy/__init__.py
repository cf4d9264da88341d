"""Deployment tests: the Dockerfile, Compose, Kubernetes, Grafana, alerts and the wheel."""
