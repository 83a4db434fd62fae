"""Moved to :mod:`grelu_cli.core.geometry` (re-exported here for existing imports)."""

from grelu_cli.core.geometry import Geometry, receptive_field

__all__ = ["Geometry", "receptive_field"]
