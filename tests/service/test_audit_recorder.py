"""The audit log: queued on the hot path, written in batches by a thread, kept on failure."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from counterflow.service import AuditEntry, AuditRecorder, ServiceState
from counterflow.service.models import Base

T0 = datetime(2026, 2, 21, 14, 0, tzinfo=UTC)


@pytest.fixture
def state(database_url: str, tmp_path: Path) -> Iterator[ServiceState]:
    service = ServiceState(tmp_path / "data", database_url)
    service.ensure_schema()
    yield service
    service.close()


def entries(n: int, partner: str = "upbit") -> list[AuditEntry]:
    return [
        AuditEntry(
            T0 + timedelta(seconds=i),
            partner,
            7,
            "/v1/screen",
            "ethereum",
            f"0x{i:040x}",
            "severe" if i % 2 else "none",
            "list_hit/sanctioned ofac-sdn@2024-09-27" if i % 2 else "",
            "gen-000003-abcd",
        )
        for i in range(n)
    ]


def test_entries_are_written_at_close_in_order(state: ServiceState) -> None:
    recorder = AuditRecorder(state, flush_seconds=60.0)
    recorder.start()
    recorder.record(entries(2500))
    assert state.audit(limit=10) == []  # queued, not yet written
    recorder.close()
    written = state.audit(limit=10_000)
    assert len(written) == 2500 and recorder.status().written == 2500
    assert written[-1] == entries(1)[0]  # newest first; read back exactly
    assert written[0].address == f"0x{2499:040x}" and written[0].time.tzinfo is not None
    assert state.audit(partner="nobody") == []
    assert len(state.audit(since=T0 + timedelta(seconds=2000))) == 500


def test_the_thread_writes_without_waiting_for_close(state: ServiceState) -> None:
    recorder = AuditRecorder(state, flush_seconds=0.05)
    recorder.start()
    recorder.record(entries(10))
    deadline = time.monotonic() + 10
    while len(state.audit()) < 10 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(state.audit()) == 10
    recorder.close()
    assert len(state.audit()) == 10  # nothing written twice


def test_a_full_batch_wakes_the_writer(state: ServiceState) -> None:
    recorder = AuditRecorder(state, flush_seconds=3600.0, flush_rows=100)
    recorder.start()
    recorder.record(entries(150))
    deadline = time.monotonic() + 10
    while len(state.audit(limit=1000)) < 150 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(state.audit(limit=1000)) == 150
    recorder.close()


def test_a_failed_write_keeps_the_entries_and_retries(state: ServiceState) -> None:
    recorder = AuditRecorder(state, flush_seconds=3600.0)
    Base.metadata.tables["audit_log"].drop(state.engine)
    recorder.record(entries(5))
    assert recorder.flush() is False
    status = recorder.status()
    assert status.pending == 5 and not status.healthy and status.last_error
    Base.metadata.tables["audit_log"].create(state.engine)
    assert recorder.flush() is True
    assert recorder.status().healthy and recorder.status().written == 5
    assert len(state.audit()) == 5


def test_entries_beyond_the_queue_limit_are_counted_as_dropped(state: ServiceState) -> None:
    recorder = AuditRecorder(state, flush_seconds=3600.0, max_pending=100)
    recorder.record(entries(80))
    recorder.record(entries(50))
    status = recorder.status()
    assert status.pending == 100 and status.dropped == 30 and not status.healthy
    recorder.close()
    assert len(state.audit()) == 100


def test_key_use_is_written_with_the_batch(state: ServiceState) -> None:
    state.add_partner("upbit")
    created = state.create_key("upbit")
    recorder = AuditRecorder(state, flush_seconds=3600.0)
    recorder.touch(created.info.id, T0)
    recorder.touch(created.info.id, T0 + timedelta(minutes=5))
    assert state.keys()[0].last_used is None
    recorder.close()
    assert state.keys()[0].last_used == T0 + timedelta(minutes=5)


def test_no_secret_column_exists_in_the_audit_log(state: ServiceState) -> None:
    with state.engine.connect() as connection:
        row = connection.execute(text("SELECT * FROM audit_log WHERE 1 = 0"))
        columns = set(row.keys())
    assert columns == {
        "id",
        "time",
        "partner",
        "key_id",
        "endpoint",
        "chain",
        "address",
        "risk",
        "reasons",
        "generation",
    }
