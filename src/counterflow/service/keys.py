"""API key format: ``cf_<prefix>_<secret>``, shown once, stored only as a hash.

The prefix is public: it is how a key is found in the database and recognised in listings
without revealing the secret. The secret carries 256 random bits, so one SHA-256 is enough to
make the stored value useless to whoever reads the database; a slow password hash would only
cost time on every cache miss, since nothing here is guessable.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

KEY_PREFIX = "cf"
_PREFIX_BYTES = 6
_SECRET_BYTES = 32
_PREFIX_CHARS = frozenset("0123456789abcdef")
_SECRET_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@dataclass(frozen=True, slots=True)
class NewKey:
    """A key just made: ``key`` is what the partner is given, once; the rest is stored."""

    key: str
    prefix: str
    secret_sha256: str


def generate_key() -> NewKey:
    """A fresh key: a hex prefix (no ``_`` in it, so the format splits unambiguously) and a
    URL-safe secret."""
    prefix = secrets.token_hex(_PREFIX_BYTES)
    secret = secrets.token_urlsafe(_SECRET_BYTES)
    return NewKey(f"{KEY_PREFIX}_{prefix}_{secret}", prefix, hash_secret(secret))


def hash_secret(secret: str) -> str:
    """The hex SHA-256 of a key's secret part, as stored."""
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def split_key(key: str) -> tuple[str, str] | None:
    """``(prefix, secret)`` of a well-formed key, or ``None`` for anything else."""
    head, sep, rest = key.partition("_")
    if head != KEY_PREFIX or not sep:
        return None
    prefix, sep, secret = rest.partition("_")
    if (
        not sep
        or len(prefix) != 2 * _PREFIX_BYTES
        or not _PREFIX_CHARS.issuperset(prefix)
        or not 16 <= len(secret) <= 128
        or not _SECRET_CHARS.issuperset(secret)
    ):
        return None
    return prefix, secret


def secret_matches(secret: str, stored_sha256: str) -> bool:
    """Whether ``secret`` hashes to the stored value, compared in constant time."""
    return hmac.compare_digest(hash_secret(secret), stored_sha256)


def display(prefix: str) -> str:
    """How a key is shown once its secret is gone: ``cf_<prefix>_…``."""
    return f"{KEY_PREFIX}_{prefix}_…"
