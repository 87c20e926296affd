"""What an API server may be tuned with, in one record that crosses process boundaries.

``counterflow serve --workers N`` starts N processes that each build their own app; the
settings reach them as JSON in an environment variable, so they are plain values only.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from typing import Any

from counterflow.errors import ConfigError


@dataclass(frozen=True, slots=True)
class ApiSettings:
    """Limits and timings of one API server process (docs/api.md says what each does)."""

    #: Most addresses in one ``POST /v1/screen``; more is answered with 413.
    batch_limit: int = 100_000
    #: Requests per second refilled into each key's token bucket; 0 turns rate limiting off.
    rate_per_second: float = 200.0
    #: Bucket size: how many requests a key may make at once after being idle.
    rate_burst: int = 400
    #: How long a key's record is trusted from memory before it is read again.
    key_cache_seconds: float = 30.0
    #: Audit entries are written at least this often ...
    audit_flush_seconds: float = 1.0
    #: ... or as soon as this many wait.
    audit_flush_rows: int = 10_000
    #: Entries queued beyond this while the database is unreachable are dropped (and counted).
    audit_max_pending: int = 1_000_000
    #: Batches up to this size are screened on the event loop; larger ones on a worker thread.
    inline_batch: int = 256
    #: One JSON line per request on the ``counterflow.api.access`` logger.
    access_log: bool = True

    def __post_init__(self) -> None:
        positive = ("batch_limit", "rate_burst", "audit_flush_rows", "audit_max_pending")
        for name in positive:
            if getattr(self, name) < 1:
                raise ConfigError(f"API setting {name} must be at least 1")
        for name in ("rate_per_second", "key_cache_seconds", "inline_batch"):
            if getattr(self, name) < 0:
                raise ConfigError(f"API setting {name} must not be negative")
        if self.audit_flush_seconds <= 0:
            raise ConfigError("API setting audit_flush_seconds must be positive")

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ApiSettings:
        try:
            data: Any = json.loads(text)
        except ValueError as exc:
            raise ConfigError(f"API settings are not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise ConfigError("API settings must be a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown API settings: {', '.join(unknown)}")
        return cls(**data)
