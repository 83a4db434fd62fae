"""Moved to :mod:`grelu_cli.core.alias` (re-exported here for existing imports)."""

from grelu_cli.core.alias import ALIAS_MODES, ChromResolver, alias_candidates, find_alias

__all__ = ["ALIAS_MODES", "ChromResolver", "alias_candidates", "find_alias"]
