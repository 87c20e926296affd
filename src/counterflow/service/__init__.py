"""Service state of a Counterflow installation: partners, API keys and the audit log.

Kept in SQLAlchemy (SQLite in the data directory by default, PostgreSQL for deployments), apart
from the chain store: it is small, transactional and written by the API server and the CLI.
"""

from counterflow.service.database import DATABASE_URL_ENV, database_url
from counterflow.service.keyring import Keyring, Principal, Verdict
from counterflow.service.recorder import AuditRecorder, RecorderStatus
from counterflow.service.state import (
    AuditEntry,
    CreatedKey,
    KeyInfo,
    KeyRecord,
    PartnerInfo,
    ServiceState,
)

__all__ = [
    "DATABASE_URL_ENV",
    "AuditEntry",
    "AuditRecorder",
    "CreatedKey",
    "KeyInfo",
    "KeyRecord",
    "Keyring",
    "PartnerInfo",
    "Principal",
    "RecorderStatus",
    "ServiceState",
    "Verdict",
    "database_url",
]
