"""A prediction job from start to finish: what the CLI and the Python API call.

- :mod:`~grelu_cli.run.config`: the job as frozen dataclasses (model, input, prediction,
  output, run) and the cheap checks that need no model.
- :mod:`~grelu_cli.run.build`: load the model, prepare the input, build the predictor.
- :mod:`~grelu_cli.run.batches`: how windows are batched (one place to change it).
- :mod:`~grelu_cli.run.plain`: one uninterrupted run into the final writer.
- :mod:`~grelu_cli.run.chunked`: chunk-by-chunk runs (``resume``) into part files.
- :mod:`~grelu_cli.run.workers`: one worker process per device (``devices``).
- :mod:`~grelu_cli.run.observer`: how a run reports progress (the CLI renders it).
- :mod:`~grelu_cli.run.job`: the whole job: :func:`~grelu_cli.run.job.run_job`.
- :mod:`~grelu_cli.run.merge`: shards of one run into one output (``grelu merge``).
- :mod:`~grelu_cli.run.devices`: ``devices`` parsing and the worker processes.

Nothing here prints or exits; errors are :mod:`grelu_cli.errors` exceptions.
"""
