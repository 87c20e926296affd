"""The service state's operations: partners, API keys, key lookups and the audit log.

Everything the CLI (``partners``, ``keys``) and the API server do to the database goes through
:class:`ServiceState`, so both see one set of rules: partner names are validated once, a key's
secret never reaches the database, and a database written by a newer version is refused.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.engine import URL
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from counterflow.errors import InputError, StoreError
from counterflow.service.database import database_url, open_engine, redacted
from counterflow.service.keys import display, generate_key
from counterflow.service.models import (
    SCHEMA_VERSION,
    ApiKey,
    AuditRecord,
    Base,
    Meta,
    Partner,
)
from counterflow.store.datadir import DataDirectory

_PARTNER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


@dataclass(frozen=True, slots=True)
class PartnerInfo:
    name: str
    created: datetime
    active: bool
    keys: int

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "created": self.created.isoformat()}


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """A key as listed: never its secret, only the prefix it is recognised by."""

    id: int
    partner: str
    prefix: str
    operator: bool
    created: datetime
    last_used: datetime | None
    revoked: datetime | None

    @property
    def display(self) -> str:
        return display(self.prefix)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "partner": self.partner,
            "prefix": self.prefix,
            "display": self.display,
            "operator": self.operator,
            "created": self.created.isoformat(),
            "last_used": None if self.last_used is None else self.last_used.isoformat(),
            "revoked": None if self.revoked is None else self.revoked.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class CreatedKey:
    """A key just created: ``key`` exists only here and in what is shown to the partner."""

    info: KeyInfo
    key: str


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """What verifying a presented key needs, loaded by prefix."""

    id: int
    prefix: str
    secret_sha256: str
    partner: str
    operator: bool
    revoked: bool
    partner_active: bool


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One screening decision as written to (and read back from) the audit log."""

    time: datetime
    partner: str
    key_id: int
    endpoint: str
    chain: str
    address: str
    risk: str
    reasons: str
    generation: str

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "time": self.time.isoformat()}


def _now() -> datetime:
    return datetime.now(UTC)


class ServiceState:
    """The service database of one installation (see :func:`database_url` for which one).

    Tables are created on first use and the schema version recorded; opening a database whose
    version is newer than this code's raises :class:`StoreError` instead of misreading it.
    """

    def __init__(
        self, directory: DataDirectory | str | os.PathLike[str] | None, url: str | None = None
    ) -> None:
        self.directory = (
            directory if isinstance(directory, DataDirectory) else DataDirectory(directory)
        )
        self.url: URL = database_url(self.directory, url)
        self.engine = open_engine(self.url)
        self._ready = False

    def __repr__(self) -> str:
        return f"ServiceState({redacted(self.url)!r})"

    @property
    def where(self) -> str:
        """The database, printable (no password)."""
        return redacted(self.url)

    # -- lifecycle ------------------------------------------------------------------------
    def ensure_schema(self) -> None:
        """Create missing tables and check (or record) the schema version."""
        if self._ready:
            return
        try:
            Base.metadata.create_all(self.engine)
            with Session(self.engine) as session, session.begin():
                meta = session.get(Meta, "schema_version")
                if meta is None:
                    session.add(Meta(key="schema_version", value=str(SCHEMA_VERSION)))
                elif int(meta.value) > SCHEMA_VERSION:
                    raise StoreError(
                        f"service database {self.where} has schema version {meta.value}, "
                        f"newer than this Counterflow's {SCHEMA_VERSION}; upgrade Counterflow"
                    )
        except OperationalError as exc:
            raise StoreError(f"cannot use service database {self.where}: {exc.orig}") from exc
        self._ready = True

    def close(self) -> None:
        self.engine.dispose()

    def _session(self) -> Session:
        self.ensure_schema()
        return Session(self.engine, expire_on_commit=False)

    # -- partners -------------------------------------------------------------------------
    def add_partner(self, name: str) -> PartnerInfo:
        if not _PARTNER_NAME.fullmatch(name):
            raise InputError(
                f"partner name {name!r}: use 1-100 letters, digits, '.', '_' or '-', "
                "starting with a letter or digit"
            )
        created = _now()
        try:
            with self._session() as session, session.begin():
                session.add(Partner(name=name, created=created, active=True))
        except IntegrityError as exc:
            raise InputError(f"partner {name!r} already exists") from exc
        return PartnerInfo(name, created, True, 0)

    def partners(self) -> list[PartnerInfo]:
        live = func.count(ApiKey.id).filter(ApiKey.revoked.is_(None))
        query = (
            select(Partner, live)
            .outerjoin(ApiKey, ApiKey.partner_id == Partner.id)
            .group_by(Partner.id)
            .order_by(Partner.name)
        )
        with self._session() as session:
            return [
                PartnerInfo(p.name, p.created, p.active, int(n)) for p, n in session.execute(query)
            ]

    def set_partner_active(self, name: str, active: bool) -> PartnerInfo:
        """Suspend (or restore) a partner: a suspended partner's keys are refused."""
        with self._session() as session, session.begin():
            partner = self._partner(session, name)
            partner.active = active
        return next(p for p in self.partners() if p.name == name)

    def _partner(self, session: Session, name: str) -> Partner:
        partner = session.scalar(select(Partner).where(Partner.name == name))
        if partner is None:
            known = ", ".join(session.scalars(select(Partner.name).order_by(Partner.name)))
            raise InputError(f"no partner {name!r}; partners: {known or 'none yet'}")
        return partner

    # -- keys -----------------------------------------------------------------------------
    def create_key(self, partner: str, *, operator: bool = False) -> CreatedKey:
        """A new key for ``partner``; the returned :attr:`CreatedKey.key` is never stored."""
        new = generate_key()
        with self._session() as session, session.begin():
            owner = self._partner(session, partner)
            row = ApiKey(
                partner_id=owner.id,
                prefix=new.prefix,
                secret_sha256=new.secret_sha256,
                operator=operator,
                created=_now(),
            )
            session.add(row)
            session.flush()
            info = self._info(row, owner.name)
        return CreatedKey(info, new.key)

    def keys(self, partner: str | None = None) -> list[KeyInfo]:
        query = select(ApiKey, Partner.name).join(Partner).order_by(ApiKey.id)
        if partner is not None:
            query = query.where(Partner.name == partner)
        with self._session() as session:
            return [self._info(key, name) for key, name in session.execute(query)]

    def revoke_key(self, key_id: int) -> KeyInfo:
        """Revoke a key for good (revoking it again changes nothing)."""
        with self._session() as session, session.begin():
            row = session.get(ApiKey, key_id)
            if row is None:
                raise InputError(f"no API key with id {key_id}; see `counterflow keys list`")
            if row.revoked is None:
                row.revoked = _now()
            info = self._info(row, row.partner.name)
        return info

    def key_record(self, prefix: str) -> KeyRecord | None:
        """The key with this prefix and its partner's standing, for verification."""
        query = (
            select(ApiKey, Partner.name, Partner.active)
            .join(Partner)
            .where(ApiKey.prefix == prefix)
        )
        with self._session() as session:
            found = session.execute(query).first()
        if found is None:
            return None
        key, name, active = found
        revoked = key.revoked is not None
        return KeyRecord(key.id, key.prefix, key.secret_sha256, name, key.operator, revoked, active)

    def touch_keys(self, last_used: Mapping[int, datetime]) -> None:
        """Record when keys were last used (batched by the server, not one write per call)."""
        if not last_used:
            return
        with self._session() as session, session.begin():
            for key_id, when in last_used.items():
                session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used=when))

    @staticmethod
    def _info(key: ApiKey, partner: str) -> KeyInfo:
        return KeyInfo(
            key.id, partner, key.prefix, key.operator, key.created, key.last_used, key.revoked
        )

    # -- audit log ------------------------------------------------------------------------
    def write_audit(self, entries: Sequence[AuditEntry]) -> None:
        """Append entries in one transaction (one multi-row insert per batch)."""
        if not entries:
            return
        rows = [
            {
                "time": e.time,
                "partner": e.partner,
                "key_id": e.key_id,
                "endpoint": e.endpoint,
                "chain": e.chain,
                "address": e.address,
                "risk": e.risk,
                "reasons": e.reasons,
                "generation": e.generation,
            }
            for e in entries
        ]
        self.ensure_schema()
        with self.engine.begin() as connection:
            connection.execute(insert(AuditRecord), rows)

    def audit(
        self,
        *,
        partner: str | None = None,
        since: datetime | None = None,
        limit: int = 1000,
    ) -> list[AuditEntry]:
        """Audit entries, newest first."""
        query = select(AuditRecord).order_by(AuditRecord.id.desc()).limit(limit)
        if partner is not None:
            query = query.where(AuditRecord.partner == partner)
        if since is not None:
            query = query.where(AuditRecord.time >= since)
        with self._session() as session:
            return [
                AuditEntry(
                    r.time,
                    r.partner,
                    r.key_id,
                    r.endpoint,
                    r.chain,
                    r.address,
                    r.risk,
                    r.reasons,
                    r.generation,
                )
                for r in session.scalars(query)
            ]
