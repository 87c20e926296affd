"""The value-flow store: schema, data directory and engines."""

from counterflow.store.datadir import DataDirectory, default_data_dir
from counterflow.store.engine import ENGINES, Engine, open_engine

__all__ = ["ENGINES", "DataDirectory", "Engine", "default_data_dir", "open_engine"]
