"""Per-key token buckets: a steady rate with bursts, refused calls told when to come back.

Buckets live in the process's memory. With ``serve --workers N`` each worker has its own, so a
key may reach N times the configured rate in total; run one worker per host, or divide the rate,
when that matters.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

#: Refills are sums of float products; a token that is 1 - 1e-15 is a whole token.
_EPSILON = 1e-9


class RateLimiter:
    """``acquire(key)`` takes one token from ``key``'s bucket, or says how long until one."""

    def __init__(
        self,
        per_second: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_second = per_second
        self.burst = burst
        self._clock = clock
        self._buckets: dict[int, list[float]] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.per_second > 0

    def acquire(self, key: int) -> float:
        """0.0 when the call may go ahead; otherwise the seconds until a token is there."""
        if self.per_second <= 0:
            return 0.0
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                self._buckets[key] = [self.burst - 1.0, now]
                return 0.0
            tokens = min(float(self.burst), bucket[0] + (now - bucket[1]) * self.per_second)
            bucket[1] = now
            if tokens >= 1.0 - _EPSILON:
                bucket[0] = max(tokens - 1.0, 0.0)
                return 0.0
            bucket[0] = tokens
            return (1.0 - tokens) / self.per_second
