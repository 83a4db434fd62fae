"""Moved to :mod:`grelu_cli.core.window` (re-exported here for existing imports)."""

from grelu_cli.core.window import Window

__all__ = ["Window"]
