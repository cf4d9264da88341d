"""The in-process near cache: time to live, size bound, drops and the listening switch."""

from __future__ import annotations

from gateway.nearcache import NearCache


class Clock:
    """A hand-moved monotonic clock."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def listening_cache(ttl: float = 5.0, size: int = 3) -> tuple[NearCache[str], Clock]:
    clock = Clock()
    cache: NearCache[str] = NearCache(ttl, size, clock)
    cache.listening = True
    return cache, clock


def test_an_entry_lives_for_its_ttl_then_is_gone() -> None:
    cache, clock = listening_cache(ttl=5.0)
    cache.put("a", "A", cache.generation)
    clock.now += 4.9
    assert cache.get("a") == "A"
    clock.now += 0.1
    assert cache.get("a") is None
    assert len(cache) == 0


def test_the_least_recently_used_entry_goes_first() -> None:
    cache, _ = listening_cache(size=2)
    cache.put("a", "A", cache.generation)
    cache.put("b", "B", cache.generation)
    assert cache.get("a") == "A"  # now "b" is the least recently used
    cache.put("c", "C", cache.generation)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == ("A", None, "C")


def test_a_drop_forgets_the_entry_and_refuses_reads_made_before_it() -> None:
    cache, _ = listening_cache()
    cache.put("a", "A", cache.generation)
    read_at = cache.generation  # a read of "b" from Redis starts ...
    cache.drop("b")  # ... and "b" changes before its answer is kept
    cache.put("b", "old B", read_at)
    assert cache.get("b") is None
    cache.drop("a")
    assert cache.get("a") is None
    cache.put("b", "new B", cache.generation)
    assert cache.get("b") == "new B"


def test_nothing_is_kept_while_no_listener_hears_drops() -> None:
    cache: NearCache[str] = NearCache(5.0, 10)
    cache.put("a", "A", cache.generation)
    assert cache.get("a") is None
    cache.listening = True
    cache.put("a", "A", cache.generation)
    assert cache.get("a") == "A"
    cache.clear()
    assert cache.get("a") is None


def test_a_cache_of_no_entries_keeps_nothing() -> None:
    cache, _ = listening_cache(size=0)
    cache.put("a", "A", cache.generation)
    assert cache.get("a") is None


def test_an_entry_read_near_its_end_is_handed_once_to_on_ending_until_kept_again() -> None:
    cache, clock = listening_cache(ttl=4.0)
    ending: list[tuple[str, str]] = []
    cache.on_ending = lambda name, value: ending.append((name, value))
    cache.put("a", "A", cache.generation)
    clock.now += 2.9  # before the last quarter of its time: nothing to renew yet
    assert cache.get("a") == "A"
    assert ending == []
    clock.now += 0.2
    assert cache.get("a") == "A"
    assert cache.get("a") == "A"  # handed over once, not per read
    assert ending == [("a", "A")]
    cache.put("a", "A", cache.generation)  # confirmed: four more seconds
    clock.now += 3.9
    assert cache.get("a") == "A"
    assert ending == [("a", "A"), ("a", "A")]


def test_an_entry_nobody_renewed_still_runs_out_and_is_handed_over_again_once_read_anew() -> None:
    cache, clock = listening_cache(ttl=4.0)
    ending: list[str] = []
    cache.on_ending = lambda name, _value: ending.append(name)
    cache.put("a", "A", cache.generation)
    clock.now += 3.5
    assert cache.get("a") == "A"
    clock.now += 0.5
    assert cache.get("a") is None  # the renewal did not hold: gone at its time
    cache.put("a", "A2", cache.generation)
    clock.now += 3.5
    assert cache.get("a") == "A2"
    assert ending == ["a", "a"]
