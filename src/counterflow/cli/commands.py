"""The commands defined in their own modules, added to the ``counterflow`` group in one place."""

from __future__ import annotations

import click


def register(group: click.Group) -> None:
    """Add every module-defined command to ``group`` (imported here to keep start-up lazy)."""
    from counterflow.cli.lists import lists
    from counterflow.cli.screen import screen
    from counterflow.cli.serve import keys, partners, serve

    group.add_command(lists)
    group.add_command(partners)
    group.add_command(keys)
    group.add_command(serve)
    group.add_command(screen)
