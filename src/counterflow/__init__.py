"""Counterflow: detect, trace, share and stop state-sponsored crypto theft and laundering."""

from counterflow.errors import (
    BlockFileError,
    ConfigError,
    CounterflowError,
    ExportFormatError,
    InputError,
    InvalidAddressError,
    StoreError,
)
from counterflow.ingest import IngestReport, ingest

__version__ = "0.1.0"

__all__ = [
    "BlockFileError",
    "ConfigError",
    "CounterflowError",
    "ExportFormatError",
    "IngestReport",
    "InputError",
    "InvalidAddressError",
    "StoreError",
    "__version__",
    "ingest",
]
