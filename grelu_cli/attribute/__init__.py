"""Per-base attributions (``grelu attribute``): which bases of a window drive a model's target.

Job-kind library for ``grelu attribute`` (CLI.md, "ism and attribute"); the run engine hosts
it. Modules: :mod:`.options` (the methods and their options, no torch), :mod:`.target` (model
output -> one target per map, as a hookable module), :mod:`.support` (which models DeepLIFT
rules cover), :mod:`.methods` (captum and tangermeme over batches of windows), :mod:`.orient`
(model orientation -> genome orientation). torch, captum and tangermeme are imported lazily.
"""
