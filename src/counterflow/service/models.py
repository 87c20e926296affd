"""The service state's tables: partners, their API keys, the audit log and the schema version.

Only hashes of key secrets are stored: a copy of this database (a backup, a replica) must not
let anyone call the API. The audit log names the key that asked, never the key itself.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

#: Bumped whenever a table changes; a database written by a newer version is refused.
SCHEMA_VERSION = 1


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp that is UTC going in and aware UTC coming out, on SQLite as on PostgreSQL.

    SQLite keeps no time zone, so values are stored as naive UTC and made aware again on read.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given for a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# SQLite only numbers INTEGER PRIMARY KEY columns by itself; BIGINT ones stay NULL there.
_BigId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


class Meta(Base):
    """Facts about the database itself; ``schema_version`` is the one read on open."""

    __tablename__ = "service_meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(256))


class Partner(Base):
    """An organisation calling the API; its name is the owner recorded on the tags it shares."""

    __tablename__ = "partners"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created: Mapped[datetime] = mapped_column(UtcDateTime)
    active: Mapped[bool] = mapped_column(default=True)

    keys: Mapped[list[ApiKey]] = relationship(back_populates="partner")


class ApiKey(Base):
    """One API key: its public prefix, the SHA-256 of its secret, and what it may do."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    secret_sha256: Mapped[str] = mapped_column(String(64))
    operator: Mapped[bool] = mapped_column(default=False)
    created: Mapped[datetime] = mapped_column(UtcDateTime)
    last_used: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)
    revoked: Mapped[datetime | None] = mapped_column(UtcDateTime, default=None)

    partner: Mapped[Partner] = relationship(back_populates="keys")


class AuditRecord(Base):
    """One screening decision: who asked, about what, what was answered, on which tag data."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_time", "time"),
        Index("ix_audit_log_address", "chain", "address"),
        Index("ix_audit_log_partner_time", "partner", "time"),
    )

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    time: Mapped[datetime] = mapped_column(UtcDateTime)
    partner: Mapped[str] = mapped_column(String(100))
    key_id: Mapped[int] = mapped_column(Integer)
    endpoint: Mapped[str] = mapped_column(String(200))
    chain: Mapped[str] = mapped_column(String(40))
    address: Mapped[str] = mapped_column(String(200))
    risk: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[str] = mapped_column(Text)
    generation: Mapped[str] = mapped_column(String(128))
