"""Every service test runs on SQLite and on PostgreSQL (see service_databases)."""

from service_databases import database_url, postgres_database

__all__ = ["database_url", "postgres_database"]
