"""Entity clustering: which addresses one actor controls (docs/clustering.md).

``cluster(directory, chain)`` applies the rules (multi-input with CoinJoin detection, optional
change detection on UTXO chains; exchange deposit addresses on account chains), finds connected
components on the embedded engine or on Spark, and stores ``entities`` and ``cluster_links`` in
the data directory, incrementally when it can.
"""

from __future__ import annotations

from counterflow.graph.clustering.job import ClusterReport, cluster
from counterflow.graph.clustering.rules import RuleSet
from counterflow.graph.clustering.scoring import PairScore, pairwise_scores

__all__ = ["ClusterReport", "PairScore", "RuleSet", "cluster", "pairwise_scores"]
