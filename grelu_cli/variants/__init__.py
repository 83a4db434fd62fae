"""Variant effect prediction: alleles -> ref/alt windows, reference check, scores.

Pipeline (each step streams): :func:`grelu_cli.io.readers.vcf.open_variants` (records) ->
:func:`~grelu_cli.variants.alleles.split_alleles` (one allele per ALT, skips) ->
:class:`~grelu_cli.variants.plan.AllelePlanner` (reference check, window, edge handling) ->
:class:`~grelu_cli.variants.scorer.VariantScorer` (deduplicated ref/alt windows in shared
batches through :class:`~grelu_cli.predict.loop.Predictor`, then scores) -> a writer.
"""
