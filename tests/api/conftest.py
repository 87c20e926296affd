"""A tag store with public, delisted and partner-private tags, and the API over it.

Every API test runs on SQLite and on PostgreSQL (the ``database_url`` fixture of
tests/service/service_databases.py).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from counterflow.api import ApiSettings, create_app
from counterflow.service import ServiceState
from counterflow.store.datadir import DataDirectory

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "service"))
from api_support import Api, ApiFactory, build_tag_store
from service_databases import database_url, postgres_database

__all__ = ["database_url", "postgres_database"]


@pytest.fixture(scope="session")
def tag_data(tmp_path_factory: pytest.TempPathFactory) -> DataDirectory:
    """A data directory whose tag store holds the lists of api_support (built once, read only)."""
    directory = DataDirectory(tmp_path_factory.mktemp("api-data") / "data")
    build_tag_store(directory)
    return directory


@pytest.fixture
def make_api(tag_data: DataDirectory, database_url: str) -> ApiFactory:
    """``with make_api(rate_per_second=…, …) as api:`` — the app with three keys: partner A's,
    partner B's and an operator key (``api.keys["a"|"b"|"ops"]``)."""

    @contextmanager
    def build(**overrides: object) -> Iterator[Api]:
        state = ServiceState(tag_data, database_url)
        keys: dict[str, str] = {}
        ids: dict[str, int] = {}
        for who, partner, operator in (
            ("a", "partner-a", False),
            ("b", "partner-b", False),
            ("ops", "operations", True),
        ):
            if partner not in {p.name for p in state.partners()}:
                state.add_partner(partner)
            created = state.create_key(partner, operator=operator)
            keys[who], ids[who] = created.key, created.info.id
        settings = ApiSettings(**{"rate_per_second": 0.0, **overrides})  # type: ignore[arg-type]
        app = create_app(tag_data, database_url, settings)
        with TestClient(app) as client:
            yield Api(client, state, tag_data, keys, ids)
        state.close()

    return build


@pytest.fixture
def api(make_api: ApiFactory) -> Iterator[Api]:
    with make_api() as built:
        yield built
