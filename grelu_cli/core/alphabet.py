"""The DNA alphabet readers accept and the encoder understands (IUPAC, either case)."""

from __future__ import annotations

#: Byte values accepted in FASTA input sequences: IUPAC nucleotide codes, either case ('-' is
#: not one of them: gaps are not sequence).
DNA_CHARS = frozenset(b"ACGTURYKMSWBDHVNacgturykmswbdhvn")
