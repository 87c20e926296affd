"""Sources that hand the pipeline its raw relations computed, instead of export files to read.

The export path reads blockchain-etl files into ``raw_<kind>`` relations and everything after
that (legs, validation, idempotence, ids, the atomic commit) works on those relations. A node's
own data (Bitcoin Core's block files now, JSON-RPC later) is decoded in Python into Arrow tables
of exactly the export's shape, so it joins the same path at that point and stores exactly what
the export of the same blocks would: one transform, one set of guarantees.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import pyarrow as pa

from counterflow.chains.registry import ChainSpec
from counterflow.ingest.exports import ExportKind
from counterflow.store.engine import Engine


@dataclass(slots=True)
class Relations:
    """Raw relations by export kind, each with the export's columns plus ``_file``/``_row``."""

    tables: dict[ExportKind, pa.Table]
    warnings: list[str] = field(default_factory=list)


class RelationSource(ABC):
    """Where one ingest's raw relations come from when they are not export files.

    ``relations`` runs inside the ingest, under the data directory's write lock, with the
    store's tables registered in ``engine`` (``store_blocks`` and so on) so that a source can
    place its rows against what is stored already.
    """

    #: The progress stage shown while the source works.
    stage: str = "reading"
    #: True when every address the source emits is in its chain's canonical form already, so
    #: the pipeline need not run the address codec over them again.
    canonical_addresses: bool = False

    @property
    @abstractmethod
    def files(self) -> list[str]:
        """What was read, for the report and the commit record."""

    @property
    def ignored(self) -> list[str]:
        """Files found in the folders given and not read."""
        return []

    @abstractmethod
    def check(self, spec: ChainSpec) -> None:
        """Raise :class:`~counterflow.errors.ConfigError` if ``spec`` cannot be read so."""

    @abstractmethod
    def relations(self, spec: ChainSpec, engine: Engine) -> Relations:
        """Compute the raw relations of the chain family's export kinds."""
