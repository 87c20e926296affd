"""Chain families: address codecs and the parameters of each supported chain."""

from counterflow.chains.registry import CHAINS, ChainSpec, get_chain, normalize_address

__all__ = ["CHAINS", "ChainSpec", "get_chain", "normalize_address"]
