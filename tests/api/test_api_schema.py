"""Generated requests from the app's own OpenAPI document never get a 5xx, and every answer
is one the document declares, in its declared shape (schemathesis)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import schemathesis
from api_support import build_tag_store
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from counterflow.api import ApiSettings, create_app
from counterflow.service import ServiceState
from counterflow.store.datadir import DataDirectory


@dataclass
class Served:
    app: FastAPI
    key: str


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    directory = DataDirectory(tmp_path_factory.mktemp("schema") / "data")
    build_tag_store(directory)
    state = ServiceState(directory)  # SQLite: the database plays no part in what is generated
    state.add_partner("fuzzer")
    key = state.create_key("fuzzer").key
    state.close()
    yield Served(create_app(directory, settings=ApiSettings(rate_per_second=0.0)), key)


@pytest.fixture(scope="module")
def api_schema(served: Served) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_asgi("/openapi.json", served.app)


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_generated_request_gets_a_server_error(case: schemathesis.Case, served: Served) -> None:
    case.call_and_validate(
        headers={"Authorization": f"Bearer {served.key}"},
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
