"""Match chromosome names across naming conventions (``--chrom-alias auto``).

UCSC genomes say ``chr1`` and ``chrM``; Ensembl/NCBI say ``1`` and ``MT``. With ``auto`` a name
missing from the genome is looked up with ``chr`` added or removed and the mitochondrion's
spellings swapped; with ``none`` names must match exactly.
"""

from __future__ import annotations

from collections.abc import Collection

from grelu_cli.core.choices import CHROM_ALIASES as ALIAS_MODES

_MITO = ("chrM", "MT", "M", "chrMT")


def alias_candidates(name: str) -> list[str]:
    """Other spellings of ``name`` in the order they are tried."""
    if name in _MITO:
        return [m for m in _MITO if m != name]
    return [name[3:]] if name.startswith("chr") and len(name) > 3 else ["chr" + name]


def find_alias(name: str, known: Collection[str]) -> str | None:
    """The spelling of ``name`` that ``known`` uses, if one of its aliases is there."""
    for cand in alias_candidates(name):
        if cand in known:
            return cand
    return None


class ChromResolver:
    """Maps input chromosome names to the genome's names (exact, or by alias in ``auto``)."""

    def __init__(self, known: Collection[str], mode: str = "none") -> None:
        if mode not in ALIAS_MODES:
            raise ValueError(f"chrom alias mode {mode!r}; expected one of {ALIAS_MODES}")
        self.known = known
        self.mode = mode
        self._cache: dict[str, str | None] = {}

    def resolve(self, name: str) -> str | None:
        """The genome's name for ``name``, or None when it is not in the genome."""
        try:
            return self._cache[name]
        except KeyError:
            pass
        if name in self.known:
            out: str | None = name
        elif self.mode == "auto":
            out = find_alias(name, self.known)
        else:
            out = None
        self._cache[name] = out
        return out
