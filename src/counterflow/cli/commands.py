"""The commands defined in their own modules, added to the ``counterflow`` group in one place."""

from __future__ import annotations

import click


def register(group: click.Group) -> None:
    """Add every module-defined command to ``group`` (imported here to keep start-up lazy)."""
