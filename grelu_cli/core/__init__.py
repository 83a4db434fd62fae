"""The vocabulary every layer shares: value types and naming rules, importing nothing else.

- :class:`~grelu_cli.core.geometry.Geometry`: how a model maps input bases to output bins
  (models report it; the genome side plans windows and places bins with it).
- :class:`~grelu_cli.core.window.Window`: one model input and where it sits on the genome.
- :class:`~grelu_cli.core.block.Block`: predictions for a batch of windows, what writers take.
- :data:`~grelu_cli.core.alphabet.DNA_CHARS`: the sequence letters readers accept.
- :mod:`~grelu_cli.core.alias`: chromosome-name aliases (``chr1``/``1``, ``chrM``/``MT``).
- :mod:`~grelu_cli.core.choices`: every fixed choice list (layouts, edges, ...).

Standard library and numpy only (no grelu_cli imports beyond ``core``), so ``model``,
``genome`` and ``io`` can all import it without importing each other.
"""
