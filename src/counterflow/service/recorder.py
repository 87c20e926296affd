"""Writing what the hot path saw (audit entries, key use) in batches, off the request thread.

A request only appends to an in-memory queue; a background thread writes the queue every
``flush_seconds`` (or as soon as ``flush_rows`` entries wait) in one multi-row insert, and
:meth:`AuditRecorder.close` writes what is left on shutdown. So answering costs no database
round trip, and the database sees a few large transactions instead of one per address.

What can be lost: entries still queued when the process is killed without a shutdown (at most
about ``flush_seconds`` of them), and entries beyond ``max_pending`` while the database is
unreachable; those are counted in :attr:`AuditRecorder.dropped` and logged, never silently.
A failed write is retried on the next round with the same entries.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from counterflow.service.state import AuditEntry, ServiceState

log = logging.getLogger("counterflow.service.audit")

#: Largest insert written in one transaction.
_CHUNK = 20_000


@dataclass(frozen=True, slots=True)
class RecorderStatus:
    pending: int
    written: int
    dropped: int
    last_error: str | None

    @property
    def healthy(self) -> bool:
        return self.dropped == 0 and self.last_error is None


class AuditRecorder:
    """Queues audit entries and key-use times; a daemon thread writes them in batches."""

    def __init__(
        self,
        state: ServiceState,
        *,
        flush_seconds: float = 1.0,
        flush_rows: int = 10_000,
        max_pending: int = 1_000_000,
    ) -> None:
        self.state = state
        self.flush_seconds = flush_seconds
        self.flush_rows = flush_rows
        self.max_pending = max_pending
        self._pending: deque[AuditEntry] = deque()
        self._touched: dict[int, datetime] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._flushing = threading.Lock()
        self._thread: threading.Thread | None = None
        self.written = 0
        self.dropped = 0
        self.last_error: str | None = None

    # -- the hot path ---------------------------------------------------------------------
    def record(self, entries: Sequence[AuditEntry]) -> None:
        """Queue entries; never blocks on the database."""
        room = self.max_pending - len(self._pending)
        if len(entries) > room:
            kept = max(room, 0)
            self.dropped += len(entries) - kept
            log.error(
                "audit queue full (%d entries waiting): %d entries dropped",
                len(self._pending),
                len(entries) - kept,
            )
            entries = entries[:kept]
        self._pending.extend(entries)
        if len(self._pending) >= self.flush_rows:
            self._wake.set()

    def touch(self, key_id: int, when: datetime) -> None:
        """Note that a key was used (written with the next batch)."""
        self._touched[key_id] = when

    # -- the background thread ------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="counterflow-audit-writer", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.flush_seconds)
            self._wake.clear()
            self.flush()

    def flush(self) -> bool:
        """Write everything queued; ``False`` (and the entries kept) if the database failed."""
        with self._flushing:
            touched, self._touched = self._touched, {}
            try:
                self.state.touch_keys(touched)
            except Exception as exc:
                for key_id, when in touched.items():
                    self._touched.setdefault(key_id, when)
                return self._failed(exc)
            while self._pending:
                batch = [self._pending.popleft() for _ in range(min(_CHUNK, len(self._pending)))]
                try:
                    self.state.write_audit(batch)
                except Exception as exc:
                    self._pending.extendleft(reversed(batch))
                    return self._failed(exc)
                self.written += len(batch)
            self.last_error = None
            return True

    def _failed(self, exc: Exception) -> bool:
        # Any database failure (unreachable, locked, full disk) must leave the thread running.
        self.last_error = f"{type(exc).__name__}: {exc}"
        log.error("audit write to %s failed, will retry: %s", self.state.where, self.last_error)
        return False

    def close(self) -> None:
        """Stop the thread and write what is queued (called on server shutdown)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if not self.flush():
            log.error("%d audit entries could not be written at shutdown", len(self._pending))

    def status(self) -> RecorderStatus:
        return RecorderStatus(len(self._pending), self.written, self.dropped, self.last_error)
