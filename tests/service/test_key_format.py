"""The key format parses exactly what it generates and nothing it cannot take apart."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from counterflow.service.keys import (
    generate_key,
    hash_secret,
    secret_matches,
    split_key,
)


def test_generated_keys_split_into_their_prefix_and_hashed_secret() -> None:
    for _ in range(200):
        new = generate_key()
        parts = split_key(new.key)
        assert parts is not None
        prefix, secret = parts
        assert prefix == new.prefix and len(prefix) == 12
        assert new.key == f"cf_{prefix}_{secret}"
        assert hash_secret(secret) == new.secret_sha256 and secret_matches(
            secret, new.secret_sha256
        )
        assert secret not in new.secret_sha256


@given(st.text(max_size=200))
def test_any_text_either_splits_back_exactly_or_is_refused(text: str) -> None:
    parts = split_key(text)
    if parts is not None:
        assert text == f"cf_{parts[0]}_{parts[1]}"


@given(st.text(alphabet="0123456789abcdef", min_size=12, max_size=12), st.text(min_size=1))
def test_secrets_outside_the_url_safe_alphabet_are_refused(prefix: str, secret: str) -> None:
    parts = split_key(f"cf_{prefix}_{secret}")
    safe = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    if not set(secret) <= safe or not 16 <= len(secret) <= 128:
        assert parts is None
    else:
        assert parts == (prefix, secret)


def test_a_near_miss_secret_does_not_match() -> None:
    new = generate_key()
    parts = split_key(new.key)
    assert parts is not None
    secret = parts[1]
    flipped = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    assert not secret_matches(flipped, new.secret_sha256)
