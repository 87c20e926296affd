"""Where the service state lives: one SQLAlchemy engine on SQLite or PostgreSQL.

A single analyst runs the API on the embedded SQLite file beside the chain store; a deployment
with several API processes or hosts points every process at one PostgreSQL database. Nothing
else differs between the two, so the same tests run on both.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from counterflow.errors import ConfigError
from counterflow.store.datadir import DataDirectory

#: Environment variable naming the database when ``--database-url`` is not given.
DATABASE_URL_ENV = "COUNTERFLOW_DATABASE_URL"
#: The SQLite file inside the data directory used when no URL is configured.
SQLITE_FILE = "service.sqlite"


def database_url(directory: DataDirectory, url: str | None = None) -> URL:
    """The database to use: ``url``, else ``$COUNTERFLOW_DATABASE_URL``, else the SQLite file.

    ``postgresql://`` is read as ``postgresql+psycopg://`` (psycopg 3 is the driver shipped with
    the ``web`` extra); any other backend is refused with the accepted forms.
    """
    text = url or os.environ.get(DATABASE_URL_ENV) or None
    if text is None:
        return make_url(f"sqlite:///{(directory.root / SQLITE_FILE).resolve()}")
    try:
        parsed = make_url(text)
    except ArgumentError as exc:
        raise ConfigError(
            f"cannot read database URL {_redacted_text(text)!r}: use "
            "sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST:PORT/DATABASE"
        ) from exc
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername not in ("sqlite", "sqlite+pysqlite", "postgresql+psycopg"):
        raise ConfigError(
            f"unsupported database {parsed.drivername!r} in {redacted(parsed)!r}: use "
            "sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST:PORT/DATABASE"
        )
    return parsed


def redacted(url: URL) -> str:
    """The URL as it may be printed or logged: the password replaced by ``***``."""
    return url.render_as_string(hide_password=True)


def _redacted_text(text: str) -> str:
    """A URL that did not parse, with anything between ``:`` and ``@`` of its netloc hidden."""
    scheme, sep, rest = text.partition("://")
    if not sep or "@" not in rest:
        return text
    userinfo, _, host = rest.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"


def open_engine(url: URL) -> Engine:
    """An engine for ``url``: SQLite in WAL mode with a busy timeout, PostgreSQL pre-pinged.

    WAL lets the CLI add keys while a server reads; the busy timeout makes a writer wait for
    another process's transaction instead of failing at once.
    """
    if url.drivername.startswith("sqlite"):
        database = url.database or ""
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(connection: Any, _record: Any) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    try:
        return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
    except ModuleNotFoundError as exc:
        raise ConfigError(
            f"PostgreSQL needs the psycopg driver ({exc.name} is missing): pip install -e '.[web]'"
        ) from exc
