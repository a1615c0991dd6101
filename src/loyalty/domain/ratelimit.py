"""Token buckets: how many requests a caller may make now, and how long to wait when it may not.

A bucket holds up to ``burst`` tokens and gains ``rate`` tokens a second; a request takes one. An empty bucket
answers the wait until the next token, which becomes the ``Retry-After`` of a 429. Pure: the caller passes the
(monotonic) time. A :class:`Buckets` keeps one bucket per key, dropping buckets that have refilled and sat idle,
so memory stays bounded by the callers active within the refill time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# A full bucket idle this long (seconds) is forgotten: a new one would start full anyway.
_IDLE = 300.0


@dataclass(frozen=True)
class Limit:
    rate: float  # tokens gained per second
    burst: int  # the most a bucket holds, and so the largest burst allowed at once

    def __post_init__(self) -> None:
        if self.rate <= 0 or self.burst < 1:
            raise ValueError("a limit needs a positive rate and a burst of at least 1")


@dataclass
class Bucket:
    limit: Limit
    tokens: float
    updated: float

    def _refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(float(self.limit.burst), self.tokens + (now - self.updated) * self.limit.rate)
            self.updated = now

    def wait(self, now: float) -> float:
        """Seconds until a token is available (0: one is available now)."""
        self._refill(now)
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.limit.rate

    def take(self, now: float) -> float:
        """Take a token and answer 0, or take nothing and answer the seconds to wait."""
        waiting = self.wait(now)
        if waiting == 0:
            self.tokens -= 1
        return waiting

    def give_back(self, now: float) -> None:
        self._refill(now)
        self.tokens = min(float(self.limit.burst), self.tokens + 1)

    @property
    def full(self) -> bool:
        return self.tokens >= self.limit.burst


@dataclass
class Buckets:
    buckets: dict[str, Bucket] = field(default_factory=dict)
    swept: float = 0.0

    def bucket(self, key: str, limit: Limit, now: float) -> Bucket:
        self._sweep(now)
        found = self.buckets.get(key)
        if found is None or found.limit != limit:
            found = Bucket(limit, float(limit.burst), now)
            self.buckets[key] = found
        return found

    def take_all(self, keys: list[tuple[str, Limit]], now: float) -> float:
        """Take a token from every bucket, or from none: answers 0, or the longest wait among them."""
        buckets = [self.bucket(key, limit, now) for key, limit in keys]
        waiting = max((b.wait(now) for b in buckets), default=0.0)
        if waiting == 0:
            for b in buckets:
                b.take(now)
        return waiting

    def give_back(self, keys: list[tuple[str, Limit]], now: float) -> None:
        for key, limit in keys:
            self.bucket(key, limit, now).give_back(now)

    def _sweep(self, now: float) -> None:
        if now - self.swept < _IDLE:
            return
        self.swept = now
        for key in [k for k, b in self.buckets.items() if now - b.updated > _IDLE and b.wait(now) == 0 and b.full]:
            del self.buckets[key]
