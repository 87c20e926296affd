"""Reading stored entities back: the entity of an address, and why it has its members."""

from __future__ import annotations

from typing import Any

from counterflow.store.datadir import DataDirectory
from counterflow.store.reader import StoreReader


def entity_of(directory: DataDirectory, chain: str, address: str) -> dict[str, Any] | None:
    """Entity id, size and links of ``address`` (canonical text), or None before clustering.

    ``links`` counts the rule firings that touch the address, per rule, so a reader sees at a
    glance whether its entity rests on multi-input spends or on weaker inferences.
    """
    if chain not in directory.chains() or not directory.manifest(chain).files("entities"):
        return None
    with StoreReader(directory) as reader:
        entities = reader.table(chain, "entities")
        addresses = reader.table(chain, "addresses")
        links = reader.table(chain, "cluster_links")
        row = reader.rows(
            f"SELECT e.entity_id, a.address_id FROM {addresses} a "
            f"JOIN {entities} e ON e.address_id = a.address_id WHERE a.address = ?",
            [address],
        )
        if not row:
            return None
        entity_id, address_id = int(row[0][0]), int(row[0][1])
        size = int(
            reader.rows(f"SELECT count(*) FROM {entities} WHERE entity_id = ?", [entity_id])[0][0]
        )
        by_rule = reader.rows(
            f"SELECT rule, count(*) FROM {links} WHERE address_id = ? OR linked_id = ? "
            "GROUP BY rule ORDER BY rule",
            [address_id, address_id],
        )
    return {
        "entity_id": entity_id,
        "size": size,
        "links": {str(rule): int(n) for rule, n in by_rule},
    }
