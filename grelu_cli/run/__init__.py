"""The one run engine: any job kind from start to finish (what the CLI and the Python API call).

- :mod:`~grelu_cli.run.config`: the shared job parts as frozen dataclasses (model, input,
  prediction, output, run) and :class:`~grelu_cli.run.config.PredictJob`;
  :mod:`~grelu_cli.run.variant_job`: :class:`~grelu_cli.run.variant_job.VariantJob` (the
  shared parts + :class:`~grelu_cli.variants.config.VariantConfig`).
- :mod:`~grelu_cli.run.job`: :func:`~grelu_cli.run.job.run_job` and
  :func:`~grelu_cli.run.job.dry_run` for every job kind.
- :mod:`~grelu_cli.run.build`: load the model, prepare the input, build the predictor.
- :mod:`~grelu_cli.run.batches`: how windows are batched (one place to change it).
- :mod:`~grelu_cli.run.plain`: one uninterrupted run into the final writer.
- :mod:`~grelu_cli.run.chunked` + :mod:`~grelu_cli.run.parts`: the chunk engine (``resume``,
  ``devices``) for every job kind; :mod:`~grelu_cli.run.workers`: one process per device.
- :mod:`~grelu_cli.run.fingerprint`: what a run is; a finished output of another run.
- :mod:`~grelu_cli.run.predict_checks`, :mod:`~grelu_cli.run.predict_run`: ``grelu predict``;
  :mod:`~grelu_cli.run.variants`, :mod:`~grelu_cli.run.variant_work`,
  :mod:`~grelu_cli.run.variant_merge`: ``grelu variants``.
- :mod:`~grelu_cli.run.summary`: what a run reports; :mod:`~grelu_cli.run.observer`: how it
  reports progress (the CLI renders it); :mod:`~grelu_cli.run.signals`: SIGTERM handling.
- :mod:`~grelu_cli.run.merge`: shards of one run into one output (``grelu merge``).
- :mod:`~grelu_cli.run.devices`: ``devices`` parsing and the worker processes.

Nothing here prints or exits; errors are :mod:`grelu_cli.errors` exceptions.
"""
