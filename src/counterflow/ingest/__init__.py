"""Chain ingest: export files (and, later, nodes) into the value-flow store."""

from counterflow.ingest.pipeline import IngestReport, ingest

__all__ = ["IngestReport", "ingest"]
