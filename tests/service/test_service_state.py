"""Service state on SQLite and PostgreSQL: partners, keys (hashed, verified, revoked), schema."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import text

from counterflow.attribution.tlp import OPERATOR, Viewer
from counterflow.errors import ConfigError, InputError, StoreError
from counterflow.service import DATABASE_URL_ENV, Keyring, ServiceState, database_url
from counterflow.service.keys import split_key
from counterflow.service.models import SCHEMA_VERSION
from counterflow.store.datadir import DataDirectory


@pytest.fixture
def state(database_url: str, tmp_path: Path) -> Iterator[ServiceState]:
    service = ServiceState(tmp_path / "data", database_url)
    service.ensure_schema()
    yield service
    service.close()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_partners_are_added_listed_and_unique(state: ServiceState) -> None:
    state.add_partner("upbit")
    state.add_partner("bithumb")
    assert [p.name for p in state.partners()] == ["bithumb", "upbit"]
    assert all(p.active and p.keys == 0 for p in state.partners())
    assert state.partners()[0].created.tzinfo is not None
    with pytest.raises(InputError, match="already exists"):
        state.add_partner("upbit")


@pytest.mark.parametrize("name", ["", "-lead", "has space", "x" * 101, "ünïcode", "a/b"])
def test_partner_names_are_validated(state: ServiceState, name: str) -> None:
    with pytest.raises(InputError, match="partner name"):
        state.add_partner(name)
    assert state.partners() == []


def test_a_key_is_shown_once_and_only_its_hash_is_stored(state: ServiceState) -> None:
    state.add_partner("upbit")
    created = state.create_key("upbit")
    parts = split_key(created.key)
    assert parts is not None
    prefix, secret = parts
    assert created.key == f"cf_{prefix}_{secret}" and created.info.prefix == prefix
    assert len(secret) >= 40
    with state.engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM api_keys")).all()
    stored = " ".join(str(value) for row in rows for value in row)
    assert secret not in stored and created.key not in stored
    assert prefix in stored
    listed = state.keys()
    assert [k.id for k in listed] == [created.info.id]
    assert secret not in str(listed[0].to_json())
    assert listed[0].display == f"cf_{prefix}_…"


def test_keys_are_distinct_and_belong_to_known_partners(state: ServiceState) -> None:
    state.add_partner("upbit")
    keys = {state.create_key("upbit").key for _ in range(20)}
    assert len(keys) == 20
    with pytest.raises(InputError, match="no partner 'nobody'; partners: upbit"):
        state.create_key("nobody")
    assert [p.keys for p in state.partners()] == [20]


def test_verification_accepts_the_key_and_refuses_everything_else(state: ServiceState) -> None:
    state.add_partner("upbit")
    key = state.create_key("upbit").key
    keyring = Keyring(state)
    verdict = keyring.check(key)
    assert verdict.principal is not None
    assert verdict.principal.partner == "upbit" and not verdict.principal.operator
    assert verdict.principal.viewer == Viewer("upbit")
    prefix, secret = split_key(key) or ("", "")
    wrong = f"cf_{prefix}_{secret[:-1]}{'A' if secret[-1] != 'A' else 'B'}"
    assert keyring.check(wrong).principal is None
    assert keyring.check(wrong).problem == "invalid API key"
    unknown = f"cf_{'0' * 12}_{secret}"
    assert keyring.check(unknown).problem == "invalid API key"
    for malformed in ("", "Bearer x", key[: -len(secret)], "cf__" + secret, key + " "):
        assert keyring.check(malformed).problem is not None, malformed


def test_operator_keys_read_as_the_operator(state: ServiceState) -> None:
    state.add_partner("ops")
    created = state.create_key("ops", operator=True)
    principal = Keyring(state).check(created.key).principal
    assert principal is not None and principal.operator
    assert principal.viewer == OPERATOR
    assert state.keys()[0].operator


def test_revocation_and_suspension_refuse_the_key(state: ServiceState) -> None:
    state.add_partner("upbit")
    created = state.create_key("upbit")
    keyring = Keyring(state)
    assert keyring.check(created.key).principal is not None
    revoked = state.revoke_key(created.info.id)
    assert revoked.revoked is not None
    again = state.revoke_key(created.info.id)
    assert again.revoked == revoked.revoked
    keyring.forget(created.info.prefix)
    assert keyring.check(created.key).problem == f"API key {created.info.prefix} has been revoked"
    with pytest.raises(InputError, match="no API key with id 999"):
        state.revoke_key(999)

    other = state.create_key("upbit")
    state.set_partner_active("upbit", False)
    assert keyring.check(other.key).problem == "partner 'upbit' is suspended"
    assert state.set_partner_active("upbit", True).active
    keyring.forget()
    assert keyring.check(other.key).principal is not None


def test_records_are_cached_for_the_ttl_only(state: ServiceState, tmp_path: Path) -> None:
    state.add_partner("upbit")
    created = state.create_key("upbit")
    clock = Clock()
    keyring = Keyring(state, ttl=30.0, clock=clock)
    assert keyring.check_cached(created.key) is None  # nothing loaded yet
    assert keyring.check(created.key).principal is not None
    # Revoked by another process (here: another ServiceState on the same database).
    elsewhere = ServiceState(tmp_path / "data", state.url.render_as_string(hide_password=False))
    elsewhere.revoke_key(created.info.id)
    elsewhere.close()
    cached = keyring.check_cached(created.key)
    assert cached is not None and cached.principal is not None
    clock.now += 30.0
    assert keyring.check_cached(created.key) is None
    assert keyring.check(created.key).principal is None


def test_misses_are_cached_too(state: ServiceState) -> None:
    state.add_partner("upbit")
    created = state.create_key("upbit")
    keyring = Keyring(state, ttl=60.0, clock=Clock())
    made_up = f"cf_{'a' * 12}_{'b' * 43}"
    assert keyring.check(made_up).principal is None
    cached = keyring.check_cached(made_up)
    assert cached is not None and cached.principal is None
    assert keyring.check(created.key).principal is not None


def test_last_used_is_recorded(state: ServiceState) -> None:
    state.add_partner("upbit")
    created = state.create_key("upbit")
    when = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    state.touch_keys({created.info.id: when})
    assert state.keys()[0].last_used == when


def test_times_come_back_as_utc(state: ServiceState) -> None:
    seoul = timezone(timedelta(hours=9))
    state.add_partner("upbit")
    created = state.create_key("upbit")
    state.touch_keys({created.info.id: datetime(2026, 3, 1, 21, 0, tzinfo=seoul)})
    last_used = state.keys()[0].last_used
    assert last_used == datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert last_used is not None and last_used.utcoffset() == timedelta(0)
    with pytest.raises(Exception, match="naive datetime"):
        state.touch_keys({created.info.id: datetime(2026, 3, 1, 12, 0)})


def test_a_newer_schema_is_refused(database_url: str, tmp_path: Path) -> None:
    first = ServiceState(tmp_path / "data", database_url)
    first.ensure_schema()
    with first.engine.begin() as connection:
        connection.execute(
            text("UPDATE service_meta SET value = :v WHERE key = 'schema_version'"),
            {"v": str(SCHEMA_VERSION + 1)},
        )
    first.close()
    second = ServiceState(tmp_path / "data", database_url)
    with pytest.raises(StoreError, match=f"schema version {SCHEMA_VERSION + 1}, newer"):
        second.ensure_schema()
    second.close()


def test_the_schema_is_created_once_and_reopened(database_url: str, tmp_path: Path) -> None:
    first = ServiceState(tmp_path / "data", database_url)
    first.add_partner("upbit")
    first.close()
    second = ServiceState(tmp_path / "data", database_url)
    assert [p.name for p in second.partners()] == ["upbit"]
    with second.engine.connect() as connection:
        versions = connection.execute(text("SELECT value FROM service_meta")).scalars().all()
    assert versions == [str(SCHEMA_VERSION)]
    second.close()


def test_database_url_defaults_to_sqlite_in_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(DATABASE_URL_ENV, raising=False)
    directory = DataDirectory(tmp_path / "data")
    url = database_url(directory)
    assert url.drivername == "sqlite"
    assert url.database == str((tmp_path / "data" / "service.sqlite").resolve())
    monkeypatch.setenv(DATABASE_URL_ENV, "postgresql://u:pw@db.internal:5432/cf")
    from_env = database_url(directory)
    assert from_env.drivername == "postgresql+psycopg" and from_env.host == "db.internal"
    given = database_url(directory, "sqlite:////tmp/elsewhere.sqlite")
    assert given.database == "/tmp/elsewhere.sqlite"


def test_unusable_database_urls_are_refused_without_their_password(tmp_path: Path) -> None:
    directory = DataDirectory(tmp_path / "data")
    with pytest.raises(ConfigError, match="unsupported database 'mysql'") as info:
        database_url(directory, "mysql://root:hunter2@localhost/cf")
    assert "hunter2" not in str(info.value)
    with pytest.raises(ConfigError, match="cannot read database URL") as info:
        database_url(directory, "not a url://user:hunter2@x")
    assert "hunter2" not in str(info.value)
    unreachable = ServiceState(directory, "postgresql://cf:hunter2@127.0.0.1:1/cf")
    with pytest.raises(StoreError, match="cannot use service database") as info:
        unreachable.ensure_schema()
    assert "hunter2" not in str(info.value) and "***" in str(info.value)
