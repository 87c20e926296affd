"""Chain ingest: export files, Bitcoin Core block files (and, later, nodes) into the store."""

from counterflow.ingest.pipeline import IngestReport, ingest, ingest_source

__all__ = ["IngestReport", "ingest", "ingest_source"]
