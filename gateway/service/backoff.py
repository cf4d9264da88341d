"""The poll schedule of a pending generation: exponential backoff with jitter, capped."""

from __future__ import annotations

import random

from gateway.settings import JobSettings


def next_interval(current: float, settings: JobSettings) -> float:
    """The interval after ``current``: multiplied by the factor, capped at the maximum."""
    if current <= 0:
        return settings.first_poll
    return min(current * settings.backoff_factor, settings.max_interval)


def jittered(interval: float, settings: JobSettings, rng: random.Random | None = None) -> float:
    """``interval`` spread by +/- the jitter fraction, so replicas do not poll in lockstep."""
    spread = interval * settings.jitter
    draw = (rng or random).uniform(-spread, spread)
    return max(0.0, interval + draw)


def schedule(settings: JobSettings, horizon: float) -> list[float]:
    """Offsets (from job creation) of the polls made within ``horizon`` seconds, no jitter."""
    offsets: list[float] = []
    interval, at = settings.first_poll, settings.first_poll
    while at <= horizon:
        offsets.append(at)
        interval = next_interval(interval, settings)
        at += interval
    return offsets
