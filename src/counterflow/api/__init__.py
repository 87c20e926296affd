"""Counterflow's REST API (FastAPI): screening, tags and lists, per-partner keys and TLP.

``create_app`` builds the app; ``counterflow serve`` runs it under uvicorn. See docs/api.md.
"""

from counterflow.api.app import create_app
from counterflow.api.settings import ApiSettings

__all__ = ["ApiSettings", "create_app"]
