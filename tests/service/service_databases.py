"""Service databases for tests: a SQLite file, and a real PostgreSQL database.

PostgreSQL at 127.0.0.1:5432 (or ``$COUNTERFLOW_TEST_POSTGRES``, an admin URL) gets one
uniquely named database per test session, dropped at the end; each test gets its own schema in
it, dropped after the test. When the server is unreachable the PostgreSQL cases are skipped,
except in CI (``$CI`` set), where they fail: CI must exercise PostgreSQL.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

ADMIN_URL = os.environ.get(
    "COUNTERFLOW_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _conninfo(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """URL of a database created for this session (dropped afterwards)."""
    try:
        admin = psycopg.connect(_conninfo(ADMIN_URL), autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        where = make_url(ADMIN_URL).render_as_string(hide_password=True)
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is unreachable at {where} in CI: {exc}")
        pytest.skip(f"PostgreSQL is unreachable at {where}: {exc}")
    name = f"counterflow_test_{os.getpid()}_{secrets.token_hex(4)}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty service database: a SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'service.sqlite'}"
        return
    base: str = request.getfixturevalue("postgres_database")
    schema = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(_conninfo(base), autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
        try:
            yield (
                make_url(base)
                .update_query_dict({"options": f"-csearch_path={schema}"})
                .render_as_string(hide_password=False)
            )
        finally:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')
