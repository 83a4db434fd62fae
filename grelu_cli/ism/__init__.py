"""In-silico mutagenesis (ISM): mutants of a window, their targets and scores, and the loops
that predict them (plain batches for any model; receptive-field patching for conv-only models).

Job-kind library for ``grelu ism`` (CLI.md, "ism and attribute"); the run engine hosts it.
Modules: :mod:`.mutants` (numpy), :mod:`.scores`, :mod:`.plain`, :mod:`.fast` (torch, imported
lazily by whoever needs them).
"""
