"""A tiny format for the writer-registry test: every block's values stacked into one .npz.

Shows what a format module needs (``make_writer``, ``output_paths``); not shipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from grelu_cli.core.block import Block
from grelu_cli.io.atomic import AllOrNothing, AtomicOutputs
from grelu_cli.io.writers import WriterSpec


class NpzWriter(AllOrNothing):
    def __init__(self, spec: WriterSpec) -> None:
        self.paths = [Path(spec.output)]
        self.tasks = list(spec.tasks)
        self.values: list[np.ndarray] = []
        self.starts: list[int] = []
        self._outputs = AtomicOutputs(self.paths, overwrite=spec.overwrite)

    def open(self) -> None:
        self._outputs.open()

    def write(self, block: Block) -> None:
        self.values.append(block.values)
        self.starts += [w.window_start for w in block.windows]

    def finish(self) -> None:
        with open(self._outputs.temp(self.paths[0]), "wb") as handle:
            np.savez(handle, values=np.concatenate(self.values),
                     window_start=np.array(self.starts), tasks=np.array(self.tasks))  # fmt: skip
        self._outputs.finish()

    def abort(self) -> None:
        self.values.clear()
        self._outputs.abort()


def make_writer(spec: WriterSpec) -> NpzWriter:
    return NpzWriter(spec)


def output_paths(output: str, tasks: Sequence[str]) -> list[Path]:
    return [Path(output)]
