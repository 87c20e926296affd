"""Graph analytics on the value-flow model: entity clustering, tracing, exposure."""
