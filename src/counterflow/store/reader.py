"""Read-only SQL access to a data directory, for queries and reports.

Each chain becomes a DuckDB schema of views over its committed Parquet parts, so a query names
``"ethereum".transfers`` and sees exactly what the manifest lists at the moment it was opened.
"""

from __future__ import annotations

from typing import Any

import duckdb

from counterflow.store.datadir import DataDirectory
from counterflow.store.duckdb_engine import sql_list
from counterflow.store.schema import ALL_TABLES


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class StoreReader:
    """A snapshot of the store: one DuckDB connection with a schema of views per chain."""

    def __init__(self, directory: DataDirectory) -> None:
        self.directory = directory
        self._chains = directory.chains()
        #: The manifest of each chain as read once: every view belongs to this snapshot.
        self.manifests = {chain: directory.manifest(chain) for chain in self._chains}
        self._con: duckdb.DuckDBPyConnection | None = None

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """The connection, with its views created on first use (work that answers from an
        index often needs no SQL at all, and the views cost tens of milliseconds)."""
        if self._con is None:
            con = duckdb.connect(":memory:")
            con.execute("SET TimeZone = 'UTC'")
            for chain in self._chains:
                schema = quote_ident(chain)
                con.execute(f"CREATE SCHEMA {schema}")
                for table in ALL_TABLES.values():
                    files = [
                        str(p)
                        for p in self.directory.table_files(
                            chain, table.name, self.manifests[chain]
                        )
                    ]
                    name = f"{schema}.{quote_ident(table.name)}"
                    if files:
                        body = f"SELECT * FROM read_parquet({sql_list(files)})"
                    else:
                        body = (
                            "SELECT "
                            + ", ".join(
                                f"CAST(NULL AS {c.sql_type}) AS {quote_ident(c.name)}"
                                for c in table.columns
                            )
                            + " WHERE false"
                        )
                    con.execute(f"CREATE VIEW {name} AS {body}")
            self._con = con
        return self._con

    @property
    def chains(self) -> list[str]:
        return list(self._chains)

    def table(self, chain: str, table: str) -> str:
        """The qualified name of a chain's table, for use in SQL text."""
        return f"{quote_ident(chain)}.{quote_ident(table)}"

    def rows(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        return self.con.execute(sql, params or []).fetchall()

    def records(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        cursor = self.con.execute(sql, params or [])
        names = [d[0] for d in cursor.description or []]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def __enter__(self) -> StoreReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
