"""Graph analytics on the value-flow model: entity clustering, tracing, exposure."""

from counterflow.graph.exposure import ExposureReport, exposure
from counterflow.graph.index import GraphIndex, build_index, load_index
from counterflow.graph.policies import Policy, TraceParams
from counterflow.graph.trace import Destination, TraceResult, trace
from counterflow.graph.traced import TracedTransfer, TracedTransfers

__all__ = [
    "Destination",
    "ExposureReport",
    "GraphIndex",
    "Policy",
    "TraceParams",
    "TraceResult",
    "TracedTransfer",
    "TracedTransfers",
    "build_index",
    "exposure",
    "load_index",
    "trace",
]
