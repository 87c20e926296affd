"""Verifying presented API keys without a database round trip per request.

Key records are cached in memory by prefix for a short time (``ttl`` seconds), misses
included, so that a flood of made-up keys costs one lookup per prefix and not one per request.
The price is that a key revoked by another process (``counterflow keys revoke`` while a server
runs) keeps working for at most ``ttl`` seconds; a revocation through the same
:class:`Keyring` takes effect at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from counterflow.attribution.tlp import OPERATOR, Viewer
from counterflow.service.keys import secret_matches, split_key
from counterflow.service.state import KeyRecord, ServiceState

#: Most cached misses kept before they are all forgotten (bounds memory under random keys).
_MAX_MISSES = 10_000


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a verified key speaks for; an operator key reads as the operator."""

    key_id: int
    partner: str
    operator: bool

    @property
    def viewer(self) -> Viewer:
        return OPERATOR if self.operator else Viewer(self.partner)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of one check: a principal, or why the key was refused."""

    principal: Principal | None
    problem: str | None = None


_MALFORMED = Verdict(None, "malformed API key: expected cf_<prefix>_<secret>")
_INVALID = Verdict(None, "invalid API key")


class Keyring:
    """Checks keys against the service state, caching records by prefix for ``ttl`` seconds."""

    def __init__(
        self,
        state: ServiceState,
        *,
        ttl: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.state = state
        self.ttl = ttl
        self._clock = clock
        self._records: dict[str, tuple[KeyRecord | None, float]] = {}
        self._misses = 0
        self._lock = threading.Lock()

    def check_cached(self, key: str) -> Verdict | None:
        """The verdict from memory alone, or ``None`` when the record must be loaded."""
        parts = split_key(key)
        if parts is None:
            return _MALFORMED
        prefix, secret = parts
        cached = self._records.get(prefix)
        if cached is None or cached[1] <= self._clock():
            return None
        return _judge(cached[0], secret)

    def check(self, key: str) -> Verdict:
        """The verdict, loading the key's record from the database when not cached."""
        verdict = self.check_cached(key)
        if verdict is not None:
            return verdict
        parts = split_key(key)
        assert parts is not None
        prefix, secret = parts
        record = self.state.key_record(prefix)
        with self._lock:
            if record is None:
                self._misses += 1
                if self._misses > _MAX_MISSES:
                    self._records = {p: r for p, r in self._records.items() if r[0] is not None}
                    self._misses = 1
            self._records[prefix] = (record, self._clock() + self.ttl)
        return _judge(record, secret)

    def forget(self, prefix: str | None = None) -> None:
        """Drop one cached record (or all), e.g. after revoking a key in this process."""
        with self._lock:
            if prefix is None:
                self._records = {}
                self._misses = 0
            else:
                self._records.pop(prefix, None)


def _judge(record: KeyRecord | None, secret: str) -> Verdict:
    # The secret is checked first, so only the key's holder learns that it was revoked.
    if record is None or not secret_matches(secret, record.secret_sha256):
        return _INVALID
    if record.revoked:
        return Verdict(None, f"API key {record.prefix} has been revoked")
    if not record.partner_active:
        return Verdict(None, f"partner {record.partner!r} is suspended")
    return Verdict(Principal(record.id, record.partner, record.operator))
