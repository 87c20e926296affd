"""Read-side summaries of the store: ``stats``, ``address`` and ``tx``.

Amounts are returned as strings of integers in base units (JSON numbers lose precision above
2**53), beside the asset's symbol and decimals so that a reader can format them.
"""

from counterflow.query.address import address_summary
from counterflow.query.stats import store_stats
from counterflow.query.tx import transaction_summary

__all__ = ["address_summary", "store_stats", "transaction_summary"]
