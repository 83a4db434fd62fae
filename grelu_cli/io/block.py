"""Moved to :mod:`grelu_cli.core.block` (re-exported here for existing imports)."""

from grelu_cli.core.block import Block

__all__ = ["Block"]
